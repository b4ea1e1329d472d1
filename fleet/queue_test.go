package fleet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/isogate/isogate/internal/fleettest"
	"github.com/isogate/isogate/policy"
)

// started is a running fleet with what it handed on.
type started struct {
	*Fleet
	policies chan *policy.Policy
	refused  chan error
}

// start starts a fleet on config; onPolicy, if given, runs before each
// policy is handed on.
func start(t *testing.T, config string, onPolicy func(*policy.Policy)) *started {
	t.Helper()
	s := &started{policies: make(chan *policy.Policy, 8), refused: make(chan error, 8)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f, err := Start(ctx, []byte(config), "test", slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(p *policy.Policy) {
			if onPolicy != nil {
				onPolicy(p)
			}
			s.policies <- p
		}, func(err error) { s.refused <- err })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Stop(context.Background()) })
	s.Fleet = f
	return s
}

// next is the next policy handed on; a refusal or a hang fails the test.
func (s *started) next(t *testing.T) *policy.Policy {
	t.Helper()
	select {
	case p := <-s.policies:
		return p
	case err := <-s.refused:
		t.Fatalf("refused: %v", err)
	case <-time.After(30 * time.Second): // a hang fails instead of blocking CI
		t.Fatal("no bundle activated")
	}
	return nil
}

// services serves r1 (allowGo) as /bundle.tar.gz beside a decision-log and
// status receiver at the rest, and returns both and the server's URL.
func services(t *testing.T) (*fleettest.Bundles, *fleettest.Receiver, string) {
	rcv := fleettest.NewReceiver()
	srv := &fleettest.Bundles{}
	publish(t, srv, "r1", allowGo)
	mux := http.NewServeMux()
	mux.Handle("/bundle.tar.gz", srv)
	mux.Handle("/", rcv)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return srv, rcv, hs.URL
}

func bundleConfig(url string, extra string) string {
	return fmt.Sprintf(`{
	  "services": {"fleet": {"url": %q}},
	  "bundles": {"isogate": {"service": "fleet", "resource": "/bundle.tar.gz", "polling": {"min_delay_seconds": 1, "max_delay_seconds": 1}}}%s
	}`, url, extra)
}

// Log is on the message path: it never waits. With the queue full (here
// nobody takes from it), a decision is dropped and counted.
func TestFleet_LogNeverWaitsAndCountsWhatItDrops(t *testing.T) {
	f := &Fleet{queue: make(chan *policy.Decision, 2), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for i := range 5 {
		f.Log(context.Background(), &policy.Decision{DecisionID: fmt.Sprint(i)})
	}
	if f.Dropped() != 3 || len(f.queue) != 2 {
		t.Fatalf("dropped %d, queued %d; want 3 and 2", f.Dropped(), len(f.queue))
	}
}

// A bundle is built outside OPA's commit: while one is being built (here
// the build never finishes), decisions still reach the decision-log
// service, and Log returns at once. Built inside the commit, the plugin's
// read of the store waited for it, and so did every message.
func TestFleet_DecisionsFlowWhileABundleIsBuilt(t *testing.T) {
	srv, rcv, url := services(t)
	entered, release := make(chan struct{}), make(chan struct{})
	builds := 0
	buildStarts = func() {
		if builds++; builds == 2 { // r2's
			close(entered)
			<-release
		}
	}
	t.Cleanup(func() { buildStarts = nil })
	defer close(release)
	s := start(t, bundleConfig(url, `,
	  "decision_logs": {"service": "fleet", "reporting": {"min_delay_seconds": 1, "max_delay_seconds": 1}}`), nil)
	s.next(t)
	publish(t, srv, "r2", denyGo)
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("r2 was not built")
	}
	logged := make(chan struct{})
	go func() {
		s.Log(context.Background(), &policy.Decision{DecisionID: "while-r2", Revision: "r1", Time: time.Now()})
		close(logged)
	}()
	select {
	case <-logged:
	case <-time.After(30 * time.Second):
		t.Fatal("Log waited for the build")
	}
	rcv.Wait(t, "the decision logged while r2 was built", func(events, _ []map[string]any) bool {
		for _, e := range events {
			if e["decision_id"] == "while-r2" {
				return true
			}
		}
		return false
	})
}

// Stop hands what is queued to OPA's plugin, which uploads it before the
// plugins stop (the plugin's own upload would come a minute later); a
// decision after Stop is counted as dropped.
func TestFleet_StopUploadsWhatIsQueued(t *testing.T) {
	_, rcv, url := services(t)
	s := start(t, bundleConfig(url, `,
	  "decision_logs": {"service": "fleet", "reporting": {"min_delay_seconds": 60, "max_delay_seconds": 60}}`), nil)
	s.next(t)
	const n = 50
	for i := range n {
		s.Log(context.Background(), &policy.Decision{DecisionID: fmt.Sprint("queued-", i), Revision: "r1", Time: time.Now()})
	}
	s.Stop(context.Background())
	events, _ := rcv.Events()
	got := map[any]bool{}
	for _, e := range events {
		got[e["decision_id"]] = true
	}
	for i := range n {
		if !got[fmt.Sprint("queued-", i)] {
			t.Fatalf("decision queued-%d was queued before Stop and never uploaded (%d events)", i, len(events))
		}
	}
	s.Log(context.Background(), &policy.Decision{DecisionID: "late"})
	if s.Dropped() != 1 {
		t.Fatalf("a decision after Stop: %d dropped, want 1", s.Dropped())
	}
}

// A revision republished with other content is a new policy; the same
// content under the same revision again (a new ETag, nothing else) is not
// built twice.
func TestFleet_SameRevisionOtherContentIsANewPolicy(t *testing.T) {
	srv := &fleettest.Bundles{}
	publish(t, srv, "r1", allowGo)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	s := start(t, bundleConfig(hs.URL, ""), nil)
	ctx := context.Background()
	in := policy.Input{Kind: policy.KindCommand, Name: "t.go", Args: map[string]any{}}
	if p := s.next(t); !p.Check(ctx, in).Allow {
		t.Fatal("r1 as first published denies")
	}
	srv.Publish(bundleBytes(t, "r1", denyGo), `"r1-again"`)
	p := s.next(t)
	if v := p.Check(ctx, in); p.Revision() != "r1" || v.Allow || !strings.Contains(strings.Join(v.Reasons, ";"), "stopped by the fleet") {
		t.Fatalf("r1 republished: revision %s, %+v", p.Revision(), v)
	}
	srv.Watch()
	srv.Publish(bundleBytes(t, "r1", denyGo), `"r1-third"`)
	srv.WaitServed(t, `"r1-third"`)
	publish(t, srv, "r2", allowGo)
	if p := s.next(t); p.Revision() != "r2" {
		t.Fatalf("after the same content again, revision %s was handed on, want r2", p.Revision())
	}
}
