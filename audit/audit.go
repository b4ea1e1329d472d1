// Package audit is the security team's live view of a running isogate: a
// page of its decisions as they happen (server-sent events), with filters
// and plots, and Prometheus metrics, on a loopback port of its own behind a
// token of its own (docs/audit.md). It reads the decisions the decision
// log writes, masks applied: it is a policy.Sink.
package audit

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/isogate/isogate/codes"
	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/policy"
)

// MaxNames bounds the name label's values: past it, new names count as
// "(other)". A name the policy does not know counts as "(unknown)". Pages
// choose names (and, for the app's API, paths), so neither may grow the
// metrics without end.
const MaxNames = 1000

// Recent is how many decisions a page that opens gets before the live ones.
const Recent = 1000

// subscriberBuffer is how many decisions a page may fall behind before it
// is disconnected (its EventSource reconnects and starts from Recent).
const subscriberBuffer = 4096

// Server is the audit page and the metrics of one isogate.
type Server struct {
	token string
	log   *slog.Logger

	reg       *prometheus.Registry
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	revision  *prometheus.GaugeVec
	reloads   *prometheus.CounterVec

	mu     sync.Mutex
	names  map[string]bool // the name labels in use, at most MaxNames
	recent [][]byte        // the last Recent decisions as JSON, oldest first
	subs   map[chan []byte]struct{}
	rev    string
}

// New makes an audit server with a fresh token. stats, if set, is read at
// each scrape for the core's sessions, calls in flight and upstream errors
// (a server over a log file has none).
func New(log *slog.Logger, stats func() core.Stats) *Server {
	b := make([]byte, 32)
	rand.Read(b)
	s := &Server{token: hex.EncodeToString(b), log: log, reg: prometheus.NewRegistry(), subs: map[chan []byte]struct{}{}, names: map[string]bool{}}
	s.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isogate_decisions_total", Help: "Decisions, by message name and kind, verdict (allow or deny) and code.",
	}, []string{"name", "kind", "verdict", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "isogate_decision_latency_seconds", Help: "Time from a message's arrival to its decision, by kind.",
		Buckets: prometheus.ExponentialBuckets(10e-6, 2, 16), // 10 µs to about 330 ms
	}, []string{"kind"})
	s.revision = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "isogate_policy_revision", Help: "1 for the policy revision deciding now.",
	}, []string{"revision"})
	s.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isogate_policy_reloads_total", Help: "Policy reloads and bundle activations, by result (ok or refused).",
	}, []string{"result"})
	s.reg.MustRegister(s.decisions, s.latency, s.revision, s.reloads, collectors.NewGoCollector())
	for _, result := range []string{"ok", "refused"} {
		s.reloads.WithLabelValues(result) // at 0 from the start: an alert on increase() needs the series before the first refusal
	}
	if stats != nil {
		gauge := func(name, help string, f func(core.Stats) float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(stats()) })
		}
		s.reg.MustRegister(
			gauge("isogate_sessions", "Pages with a session now.", func(st core.Stats) float64 { return float64(st.Sessions) }),
			gauge("isogate_sessions_connected", "Sessions with a connection now.", func(st core.Stats) float64 { return float64(st.Connected) }),
			gauge("isogate_calls_in_flight", "Calls being handled now.", func(st core.Stats) float64 { return float64(st.InFlight) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "isogate_upstream_errors_total", Help: "Calls a backend or the app's API failed."},
				func() float64 { return float64(stats().UpstreamErrors) }),
		)
	}
	return s
}

// CountDropped adds isogate_decisions_dropped_total, read from dropped at
// each scrape: the decisions a fleet's queue dropped before OPA's
// decision-log plugin took them (fleet.Fleet.Dropped). Called once, when
// a fleet runs.
func (s *Server) CountDropped(dropped func() uint64) {
	s.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "isogate_decisions_dropped_total",
		Help: "Decisions dropped before OPA's decision-log plugin took them: its queue was full, or the fleet had stopped.",
	}, func() float64 { return float64(dropped()) }))
}

// Token is the server's token: in the page's URL, and as a bearer token
// for /metrics.
func (s *Server) Token() string { return s.token }

// Record takes a decision as the decision log wrote it (a policy.Sink): it
// counts it and sends it to every open page. It never blocks: a page that
// has fallen subscriberBuffer decisions behind is disconnected.
func (s *Server) Record(_ context.Context, d *policy.Decision) {
	verdict := "deny"
	if d.Result.Allow {
		verdict = "allow"
	}
	s.decisions.WithLabelValues(s.nameLabel(d), d.Kind, verdict, string(d.Result.Code)).Inc()
	s.latency.WithLabelValues(d.Kind).Observe(float64(d.LatencyNS) / 1e9)
	line, err := json.Marshal(d)
	if err != nil {
		return
	}
	s.add(line)
}

// nameLabel is the name label of d: its name, within MaxNames.
func (s *Server) nameLabel(d *policy.Decision) string {
	if d.Result.Code == codes.UnknownCommand {
		return "(unknown)"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.names[d.Name] {
		if len(s.names) >= MaxNames {
			return "(other)"
		}
		s.names[d.Name] = true
	}
	return d.Name
}

func (s *Server) add(line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) == Recent {
		copy(s.recent, s.recent[1:])
		s.recent = s.recent[:Recent-1]
	}
	s.recent = append(s.recent, line)
	for ch := range s.subs {
		select {
		case ch <- line:
		default:
			delete(s.subs, ch)
			close(ch)
		}
	}
}

// PolicyActivated records a reload or bundle activation, and the revision
// deciding from now on.
func (s *Server) PolicyActivated(revision string) {
	s.SetRevision(revision)
	s.reloads.WithLabelValues("ok").Inc()
}

// SetRevision records the revision deciding now (at start).
func (s *Server) SetRevision(revision string) {
	s.mu.Lock()
	old := s.rev
	s.rev = revision
	s.mu.Unlock()
	if old != "" {
		s.revision.DeleteLabelValues(old)
	}
	s.revision.WithLabelValues(revision).Set(1)
}

// PolicyRefused records a reload or bundle that was refused.
func (s *Server) PolicyRefused() { s.reloads.WithLabelValues("refused").Inc() }

// Listen binds addr, which must be a loopback address ("127.0.0.1:0"
// picks a port), and returns the page's URL with its token.
func (s *Server) Listen(addr string) (net.Listener, string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("--audit %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, "", fmt.Errorf("--audit %q: the audit page listens on a loopback address only (127.0.0.1:PORT)", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("--audit: %v", err)
	}
	return l, fmt.Sprintf("http://%s/?token=%s", l.Addr(), s.token), nil
}

// Serve serves the page and the metrics on l until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s.Handler(l.Addr().String()), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler is the audit server's routes for the server at host (a request
// naming another Host is refused, against DNS rebinding). The page and its
// decisions need the token in the URL (an EventSource cannot send a
// header), /metrics as "Authorization: Bearer", what Prometheus's
// authorization setting sends. The page's script and styles are public:
// they are this package's and uPlot's, and hold nothing of the run.
func (s *Server) Handler(host string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.guard(host, false, s.page))
	mux.HandleFunc("GET /decisions", s.guard(host, false, s.stream))
	mux.Handle("GET /metrics", s.guard(host, true, promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP))
	mux.HandleFunc("GET /assets/{name}", s.guard(host, false, s.asset))
	return mux
}

func (s *Server) guard(host string, bearer bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer") // the token is in the URL
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.Host != host {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			next(w, r)
			return
		}
		given := r.URL.Query().Get("token")
		if bearer {
			given, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if subtle.ConstantTimeCompare([]byte(given), []byte(s.token)) != 1 {
			http.Error(w, "forbidden: the audit token is missing or wrong", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

// subscribe returns the recent decisions and a channel of the ones after
// them; add closes it if the subscriber falls subscriberBuffer behind.
func (s *Server) subscribe() (backlog [][]byte, ch chan []byte, cancel func()) {
	ch = make(chan []byte, subscriberBuffer)
	s.mu.Lock()
	backlog = append([][]byte(nil), s.recent...)
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return backlog, ch, func() {
		s.mu.Lock()
		delete(s.subs, ch) // if add has not already, closing it
		s.mu.Unlock()
	}
}

// stream sends the recent decisions, then each new one, as server-sent
// events (one "decision" event per decision, its data the log's line).
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "no streaming", http.StatusInternalServerError)
		return
	}
	backlog, ch, cancel := s.subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, line := range backlog {
		fmt.Fprintf(w, "event: decision\ndata: %s\n\n", line)
	}
	fmt.Fprint(w, "event: ready\ndata: {}\n\n")
	fl.Flush()
	for {
		select {
		case line, ok := <-ch:
			if !ok {
				return // fell behind; the page reconnects
			}
			fmt.Fprintf(w, "event: decision\ndata: %s\n\n", line)
			fl.Flush()
		case <-r.Context().Done():
			return
		}
	}
}
