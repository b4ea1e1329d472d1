package audit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/isogate/isogate/codes"
	"github.com/isogate/isogate/policy"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A page picks the names it sends: unknown ones and ones past MaxNames
// share a label value each, so a hostile page cannot grow the metrics.
func TestMetrics_NameLabelIsBounded(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	for i := range MaxNames + 50 {
		s.Record(context.Background(), &policy.Decision{Name: fmt.Sprintf("n%d", i), Kind: "command", Result: policy.Verdict{Allow: true}})
		s.Record(context.Background(), &policy.Decision{Name: fmt.Sprintf("x%d", i), Kind: "command", Result: policy.Verdict{Code: codes.UnknownCommand}})
	}
	if n := testutil.CollectAndCount(s.decisions); n != MaxNames+2 {
		t.Fatalf("%d series, want %d", n, MaxNames+2)
	}
	if v := testutil.ToFloat64(s.decisions.WithLabelValues("(other)", "command", "allow", "")); v != 50 {
		t.Fatalf("(other) = %v", v)
	}
}

// Not loopback is refused; another Host, no token or another token is 403.
func TestAccess(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if _, _, err := s.Listen("0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("0.0.0.0: %v", err)
	}
	h := s.Handler("127.0.0.1:1")
	for _, c := range []struct {
		host, target, auth string
		want               int
	}{
		{"127.0.0.1:1", "/?token=" + s.Token(), "", 200},
		{"evil.example:1", "/?token=" + s.Token(), "", 403},
		{"127.0.0.1:1", "/", "", 403},
		{"127.0.0.1:1", "/?token=" + strings.Repeat("a", 64), "", 403},
		{"127.0.0.1:1", "/metrics", "Bearer " + s.Token(), 200},
		{"127.0.0.1:1", "/metrics?token=" + s.Token(), "", 403},
		{"127.0.0.1:1", "/assets/audit.js", "", 200},
		{"127.0.0.1:1", "/assets/index.html", "", 404},
	} {
		r := httptest.NewRequest("GET", c.target, nil)
		r.Host = c.host
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s %s %q: %d, want %d", c.host, c.target, c.auth, w.Code, c.want)
		}
		if w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: no X-Frame-Options", c.target)
		}
	}
}

// Reloads are counted by result from the start, and the revision metric
// names only the revision deciding now.
func TestMetrics_ReloadsAndRevision(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if n := testutil.CollectAndCount(s.reloads); n != 2 {
		t.Fatalf("%d reload series at the start, want ok and refused at 0", n)
	}
	s.SetRevision("r1")
	s.PolicyRefused()
	s.PolicyRefused()
	s.PolicyActivated("r2")
	if ok, refused := testutil.ToFloat64(s.reloads.WithLabelValues("ok")), testutil.ToFloat64(s.reloads.WithLabelValues("refused")); ok != 1 || refused != 2 {
		t.Fatalf("reloads ok %v refused %v, want 1 and 2", ok, refused)
	}
	if n := testutil.CollectAndCount(s.revision); n != 1 || testutil.ToFloat64(s.revision.WithLabelValues("r2")) != 1 {
		t.Fatalf("%d revision series; r2 = %v", n, testutil.ToFloat64(s.revision.WithLabelValues("r2")))
	}
}

// With a fleet, the decisions its queue dropped are a counter, read at
// each scrape.
func TestMetrics_DroppedDecisions(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	var dropped uint64 = 3
	s.CountDropped(func() uint64 { return dropped })
	h := s.Handler("127.0.0.1:1")
	scrape := func() string {
		req := httptest.NewRequest("GET", "http://127.0.0.1:1/metrics", nil)
		req.RemoteAddr = "127.0.0.1:5"
		req.Header.Set("Authorization", "Bearer "+s.Token())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Body.String()
	}
	if body := scrape(); !strings.Contains(body, "\nisogate_decisions_dropped_total 3\n") {
		t.Fatalf("metrics without the 3 dropped:\n%s", body)
	}
	dropped = 5
	if body := scrape(); !strings.Contains(body, "\nisogate_decisions_dropped_total 5\n") {
		t.Fatalf("the counter is not read at the scrape:\n%s", body)
	}
}
