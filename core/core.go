package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/isogate/isogate/codes"

	"github.com/isogate/isogate/httpapi"
	"github.com/isogate/isogate/isolation"
	"github.com/isogate/isogate/policy"
)

// Limits protect the core from a hostile page. Each is documented with the
// risk it guards against; zero values take the defaults (DefaultLimits),
// negative ones are refused by New.
type Limits struct {
	// MaxMessageBytes bounds the JSON of one frame: decoding, schema and
	// policy costs grow with it. The iframe answers too_large above it; of
	// a frame over it that reaches the core only the call ids are read, and
	// each call is answered too_large.
	MaxMessageBytes int64
	// MaxBinaryBytes bounds the raw bytes (Uint8Array, ArrayBuffer) of one
	// message, in the same way. A frame larger than both limits
	// together closes the connection before it is buffered whole: memory
	// exhaustion.
	MaxBinaryBytes int64
	// MaxDepth bounds JSON nesting: stack and CPU exhaustion in decoding,
	// schema validation and policy evaluation.
	MaxDepth int
	// MaxInFlight bounds calls being handled per session; more are rejected
	// rate_limited: goroutine and memory exhaustion by a flood of calls.
	MaxInFlight int
	// CallTimeout bounds one handler; it then rejects timeout and its context
	// is cancelled: a slow or stuck handler holding a slot forever.
	CallTimeout time.Duration
	// MaxSessions bounds live sessions (one per page load): pages requested
	// in a loop. When it is reached the oldest session that never connected
	// makes room; only with every session connected is a page refused.
	MaxSessions int
	// RatePerSecond and RateBurst bound messages per session (token bucket);
	// more are rejected rate_limited: a page flooding the core with cheap
	// calls to starve other pages or the machine.
	RatePerSecond int
	RateBurst     int
	// MaxBufferedBytes bounds the replies and events the core holds for one
	// session that is not reading them; above it the connection is closed:
	// memory exhaustion by a page that never reads. One message larger than
	// it is still sent when nothing else is held.
	MaxBufferedBytes int64
}

// DefaultLimits returns the limits used for zero fields of Config.Limits.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes:  1 << 20,
		MaxBinaryBytes:   64 << 20,
		MaxDepth:         64,
		MaxInFlight:      256,
		CallTimeout:      30 * time.Second,
		MaxSessions:      isolation.MaxFramesIssued,
		RatePerSecond:    1000,
		RateBurst:        2000,
		MaxBufferedBytes: 128 << 20,
	}
}

// Upper bounds of what the core can honour. MaxDepth stays far below the
// JSON decoder's own nesting limit and the iframe's stack.
const (
	maxDepthBound        = 1000
	maxMessageBytesBound = 1 << 30
	maxBinaryBytesBound  = 1 << 31
)

// Validate reports the first field of l that is negative or beyond what the
// core can honour, by name. Zero fields take the defaults; New calls it.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name   string
		v, max int64
	}{
		{"MaxMessageBytes", l.MaxMessageBytes, maxMessageBytesBound},
		{"MaxBinaryBytes", l.MaxBinaryBytes, maxBinaryBytesBound},
		{"MaxDepth", int64(l.MaxDepth), maxDepthBound},
		{"MaxInFlight", int64(l.MaxInFlight), 1 << 20},
		{"CallTimeout", int64(l.CallTimeout), int64(24 * time.Hour)},
		{"MaxSessions", int64(l.MaxSessions), 1 << 20},
		{"RatePerSecond", int64(l.RatePerSecond), 1 << 30},
		{"RateBurst", int64(l.RateBurst), 1 << 30},
		{"MaxBufferedBytes", l.MaxBufferedBytes, 1 << 40},
	} {
		if f.v < 0 || f.v > f.max {
			return &LimitError{Field: f.name, Value: f.v, Max: f.max}
		}
	}
	return nil
}

// LimitError is a Limits field out of range.
type LimitError struct {
	Field      string // the Limits field, such as "MaxDepth"
	Value, Max int64
}

// Error names the field and its bound.
func (e *LimitError) Error() string {
	if e.Value < 0 {
		return fmt.Sprintf("Limits.%s is %d: must not be negative (0 takes the default)", e.Field, e.Value)
	}
	return fmt.Sprintf("Limits.%s is %d: at most %d", e.Field, e.Value, e.Max)
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	orDefault(&d.MaxMessageBytes, l.MaxMessageBytes)
	orDefault(&d.MaxBinaryBytes, l.MaxBinaryBytes)
	orDefault(&d.MaxDepth, l.MaxDepth)
	orDefault(&d.MaxInFlight, l.MaxInFlight)
	orDefault(&d.CallTimeout, l.CallTimeout)
	orDefault(&d.MaxSessions, l.MaxSessions)
	orDefault(&d.RatePerSecond, l.RatePerSecond)
	orDefault(&d.RateBurst, l.RateBurst)
	orDefault(&d.MaxBufferedBytes, l.MaxBufferedBytes)
	return d
}

// orDefault keeps the default in *d unless v is set (positive).
func orDefault[T int | int64 | time.Duration](d *T, v T) {
	if v > 0 {
		*d = v
	}
}

// Config configures a Core.
type Config struct {
	App    fs.FS          // the built app to serve, or
	AppURL *url.URL       // the dev server to reverse-proxy
	Policy *policy.Policy // the loaded policy; required
	Addr   string         // app listen address; default 127.0.0.1:0
	Logger *slog.Logger   // default slog.Default()
	Limits Limits

	// API names the app's own HTTP API prefixes. A request under one is
	// answered only through the gate (kind "http"); any request for one that
	// did not come sealed is refused, and so is every unsealed request with
	// a method other than GET, HEAD or OPTIONS, on any path.
	API httpapi.Routes

	// Tauri, if set, serves a Tauri v2 frontend: every page gets the globals
	// @tauri-apps/api reads (__TAURI_INTERNALS__ and the rest) from the
	// bridge, before its first script, and each of its calls is a message
	// with a tauri member (docs/tauri.md).
	Tauri *Tauri

	// MainWindow is the first window's label; default DefaultWindow
	// ("main"). A Tauri app's is its app.windows[0].label.
	MainWindow string

	// Upstream, if set, gets the allowed commands that have no Go handler;
	// Serve starts and stops it (see Upstream).
	Upstream Upstream

	// DecisionLog, if set, gets a line per decision before the reply is sent;
	// a decision that cannot be logged rejects its message.
	DecisionLog *policy.DecisionLog
	// DryRun decides and logs every message but lets denied ones through to
	// their handlers. For trying a new policy; never for production.
	DryRun bool
	// groupWait replaces the reply group's hold (groupWait) for tests that
	// need a wider one than the machine's scheduling noise.
	groupWait time.Duration

	// Observe, if set, is told of session milestones: "page" (an HTML page
	// was served with a new session) and "connected" (its isolation iframe
	// authenticated the transport). isogate doctor uses it.
	Observe func(event, session string)
}

// Tauri is how a Tauri frontend is served.
type Tauri struct {
	// Global adds window.__TAURI__ (app.withGlobalTauri): the real
	// @tauri-apps/api, bundled.
	Global bool
	// CSP, if set, is the app's own Content-Security-Policy
	// (app.security.csp), sent on its pages with what isogate needs let in.
	CSP string
	// Hook, if set, is the isolation iframe's hook in place of the
	// policy's hook.js (which must then have none): a Tauri isolation
	// app, made by tauri.IsolationHook.
	Hook []byte
}

// Handler answers one allowed command. args has passed the command's schema
// and the policy; numbers are json.Number.
type Handler func(ctx context.Context, args any) (any, error)

// Core is one running isogate core.
type Core struct {
	upstreamErrors atomic.Uint64 // calls a backend or the app's API failed (Stats)
	unsealed       unsealedRecord

	log       *slog.Logger
	app       fs.FS
	appURL    *url.URL
	limits    Limits
	policy    atomic.Pointer[policy.Policy]
	handlers  map[string]Handler
	events    map[string][]EventHandler
	observe   func(event, session string)
	decisions *policy.DecisionLog
	dryRun    bool
	upstream  Upstream
	api       httpapi.Routes
	forwarder *httpapi.Forwarder
	spec      atomic.Pointer[policySpec] // the OpenAPI routes of the latest policy asked for
	groupWait time.Duration
	bridgeAPI string // the bridge's HTTP configuration, "" without API routes
	tauri     *Tauri

	wmu      sync.Mutex // guards windows and serving
	main     *window    // windows[0], labelled Config.MainWindow; fixed at New
	windows  []*window  // windows[0] is main
	serving  func(*window)
	isoLn    net.Listener
	iso      *isolation.Server
	sessions *sessions
}

// New listens on the app and isolation addresses (both loopback) and returns
// a core ready for handlers to be registered and Serve to be called.
func New(cfg Config) (*Core, error) {
	if cfg.Policy == nil {
		return nil, errors.New("core: no policy")
	}
	if (cfg.App == nil) == (cfg.AppURL == nil) {
		return nil, errors.New("core: want exactly one of App and AppURL")
	}
	if err := cfg.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if cfg.Tauri != nil && cfg.Tauri.Hook != nil && cfg.Policy.Hook() != nil {
		return nil, errors.New("the policy has a hook.js and the Tauri app an isolation hook: give one")
	}
	if err := cfg.API.Validate(); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	mainLabel := cfg.MainWindow
	if mainLabel == "" {
		mainLabel = DefaultWindow
	}
	if err := CheckLabel(mainLabel); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	c := &Core{log: cfg.Logger, app: cfg.App, appURL: cfg.AppURL, limits: cfg.Limits.withDefaults(), handlers: map[string]Handler{},
		events: map[string][]EventHandler{}, observe: cfg.Observe, decisions: cfg.DecisionLog, dryRun: cfg.DryRun, upstream: cfg.Upstream,
		api: cfg.API, unsealed: newUnsealedRecord()}
	c.forwarder = httpapi.NewForwarder(c.limits.MaxBinaryBytes)
	c.bridgeAPI = c.api.BridgeConfig()
	c.tauri = cfg.Tauri
	c.groupWait = groupWait
	if cfg.groupWait > 0 {
		c.groupWait = cfg.groupWait
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	appLn, err := listenLoopback(addr)
	if err != nil {
		return nil, err
	}
	if c.isoLn, err = listenLoopback("127.0.0.1:0"); err != nil {
		appLn.Close()
		return nil, err
	}
	c.main = newWindow(mainLabel, appLn)
	c.windows = []*window{c.main}
	c.iso = isolation.NewServer("http://" + c.isoLn.Addr().String())
	c.sessions = newSessions(c.limits.MaxSessions, c.log)
	c.SetPolicy(cfg.Policy)
	return c, nil
}

func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("listen address %q: isogate listens on loopback IP addresses only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// URL is the main window's launch URL, with its launch token: what to open
// in the browser or window. The token is spent by the first navigation,
// which gets the launch cookie instead; see SECURITY.md.
func (c *Core) URL() string { return c.main.launchURL() }

// Origin is the main window's origin, "http://127.0.0.1:PORT", without the
// token.
func (c *Core) Origin() string { return c.main.origin }

// MainWindow is the first window's label.
func (c *Core) MainWindow() string { return c.main.label }

// Handle registers h for the command name. Call it before Serve.
func (c *Core) Handle(name string, h Handler) {
	if !policy.ValidName(name) {
		panic(fmt.Sprintf("core: invalid command name %q", name)) // programmer error
	}
	c.handlers[name] = h
}

// Command registers a typed handler: the args, once they passed schema and
// policy, are decoded into A; the result R is encoded as JSON.
func Command[A, R any](c *Core, name string, fn func(context.Context, A) (R, error)) {
	c.Handle(name, func(ctx context.Context, args any) (any, error) {
		var a A
		if err := redecode(args, &a); err != nil {
			return nil, err
		}
		return fn(ctx, a)
	})
}

// redecode turns a decoded JSON value into a typed one.
func redecode(v any, into any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return &Error{Code: codes.InvalidArgs, Message: "args cannot be re-encoded"}
	}
	if err := json.Unmarshal(b, into); err != nil {
		return &Error{Code: codes.InvalidArgs, Message: "args do not fit the handler's type"}
	}
	return nil
}

// EventHandler receives a frontend event that passed schema and policy.
type EventHandler func(ctx context.Context, payload any) error

// On subscribes h to the frontend event name. Call it before Serve.
func (c *Core) On(name string, h EventHandler) {
	if !policy.ValidName(name) {
		panic(fmt.Sprintf("core: invalid event name %q", name)) // programmer error
	}
	c.events[name] = append(c.events[name], h)
}

// Subscribe is On with the payload decoded into P.
func Subscribe[P any](c *Core, name string, fn func(context.Context, P) error) {
	c.On(name, func(ctx context.Context, payload any) error {
		var p P
		if err := redecode(payload, &p); err != nil {
			return err
		}
		return fn(ctx, p)
	})
}

// Target addresses an event: to one session, to the pages of one window, or
// (both empty) to every page whose listen for it the policy allowed. A
// target with both set reaches the session only if it is of that window.
type Target struct {
	Session string
	Window  string
	// Tauri, when set, goes with the event as its Tauri target (emit_to):
	// it narrows nothing here; a Tauri page's listeners match on it.
	Tauri *policy.TauriTarget
}

// Emit sends an event to every page whose listen for it the policy allowed,
// and returns how many pages it was sent to.
func (c *Core) Emit(name string, payload any) int { return c.EmitTarget(Target{}, name, payload) }

// EmitTo is Emit limited to the pages of one window label ("" for all).
func (c *Core) EmitTo(window, name string, payload any) int {
	return c.EmitTarget(Target{Window: window}, name, payload)
}

// EmitToSession is Emit limited to one session (see Caller).
func (c *Core) EmitToSession(session, name string, payload any) int {
	if session == "" {
		return 0 // not "everyone"
	}
	return c.EmitTarget(Target{Session: session}, name, payload)
}

// EmitTarget sends an event to the pages t names whose listen for it the
// policy allowed, and returns how many pages it was sent to.
func (c *Core) EmitTarget(t Target, name string, payload any) int {
	// []byte values go raw, in the binary form, as in replies; the one
	// plaintext is shared by every session it goes to and never changed.
	value, table, blobs := splitBlobs(payload)
	v, err := json.Marshal(value)
	if err != nil {
		c.log.Error("event not encodable", "name", name, "err", err)
		return 0
	}
	// The payload's own depth, as a reply's result is measured: the event
	// object, its blob table and its target are isogate's, not the app's.
	if d := jsonDepth(v); d > c.limits.MaxDepth {
		c.log.Error("event payload nested too deeply; not sent", "name", name, "depth", d, "limit", c.limits.MaxDepth)
		return 0
	}
	b, err := json.Marshal(struct {
		Type    string              `json:"type"`
		Name    string              `json:"name"`
		Payload json.RawMessage     `json:"payload"`
		Target  *policy.TauriTarget `json:"target,omitempty"`
		Bin     []binEntry          `json:"bin,omitempty"`
	}{"event", name, v, t.Tauri, table})
	if err != nil {
		c.log.Error("event not encodable", "name", name, "err", err)
		return 0
	}
	pt := joinPlaintext(b, blobs)
	n := 0
	for _, s := range c.sessions.all() {
		if (t.Window != "" && t.Window != s.window) || (t.Session != "" && t.Session != s.id) || !s.listens(name) {
			continue
		}
		// Queued here, in order, so one emitter's events arrive in the order
		// emitted; written on another goroutine, so a page that reads slowly
		// never blocks the emitter.
		if c.write(s, nil, true, pt) {
			n++
		}
	}
	return n
}

// SetPolicy swaps in a new policy for all messages decided from now on.
// Pages already loaded keep the schemas and hook they were served with.
func (c *Core) SetPolicy(p *policy.Policy) {
	c.policy.Store(p)
	if _, err := c.specFor(p); err != nil { // compiled now, so that a bad document shows at once
		c.log.Error("the policy's OpenAPI document has no usable routes: http requests are refused", "err", err)
	}
	c.iso.SetHook(c.hookOf(p))
}

// hookOf is the isolation hook pages get with p: a Tauri isolation app's,
// or p's hook.js.
func (c *Core) hookOf(p *policy.Policy) []byte {
	if c.tauri != nil && c.tauri.Hook != nil {
		return c.tauri.Hook
	}
	return p.Hook()
}

// Serve serves the app and isolation origins until ctx is done, then shuts
// down: connections closed, session contexts cancelled.
//
// Both origins' servers bound how long a connection may take to send a
// request and to take a response, and how long an idle keep-alive
// connection is kept; the transport's WebSocket and a dev server's upgraded
// or streamed responses lift the read and write bounds for themselves.
func (c *Core) Serve(ctx context.Context) error {
	if c.upstream != nil {
		// Its lifetime is Stop's, after every connection is closed, not
		// ctx's: calls still being answered at shutdown get their replies.
		if err := c.upstream.Start(context.WithoutCancel(ctx), c.EmitTarget); err != nil {
			return fmt.Errorf("upstream: %w", err)
		}
		defer c.upstream.Stop() // after every connection is closed
	}
	errc := make(chan error, 1)
	var mu sync.Mutex
	var servers []*http.Server
	start := func(h http.Handler, ln net.Listener) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: ServerReadTimeout,
			WriteTimeout: ServerWriteTimeout, IdleTimeout: ServerIdleTimeout}
		mu.Lock()
		servers = append(servers, srv)
		mu.Unlock()
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				select {
				case errc <- err:
				default:
				}
			}
		}()
	}
	start(c.iso.Handler(http.HandlerFunc(c.serveTransport)), c.isoLn)
	c.wmu.Lock()
	for _, w := range c.windows {
		start(c.appHandler(w), w.ln)
	}
	c.serving = func(w *window) { start(c.appHandler(w), w.ln) } // windows opened from now on
	c.wmu.Unlock()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	c.wmu.Lock()
	c.serving = func(w *window) { w.ln.Close() }
	c.wmu.Unlock()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.sessions.closeAll()
	mu.Lock()
	defer mu.Unlock()
	for _, srv := range servers {
		srv.Shutdown(shutdown)
	}
	if n := c.unsealed.suppressed.Load(); n > 0 {
		c.log.Warn("unsealed requests refused and not recorded since the last recorded one", "suppressed", n)
	}
	return err
}

// Server timeouts on both origins.
const (
	ServerReadTimeout  = time.Minute     // a whole request, body included
	ServerWriteTimeout = time.Minute     // a whole response
	ServerIdleTimeout  = 2 * time.Minute // a keep-alive connection between requests
)

// Stats is a moment's view of a core, for metrics.
type Stats struct {
	Sessions       int    // pages with a session (issued, connected or not yet)
	Connected      int    // of them, the ones with a connection now
	InFlight       int    // calls being handled, all sessions
	UpstreamErrors uint64 // calls a backend or the app's API failed, since start
}

// Stats counts the core's sessions and calls now.
func (c *Core) Stats() Stats {
	st := Stats{UpstreamErrors: c.upstreamErrors.Load()}
	for _, s := range c.sessions.all() {
		st.Sessions++
		st.InFlight += len(s.slots)
		s.mu.Lock()
		if s.conn != nil {
			st.Connected++
		}
		s.mu.Unlock()
	}
	return st
}
