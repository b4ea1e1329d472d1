package fleet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/internal/fleettest"
	"github.com/isogate/isogate/internal/frameclient"
	"github.com/isogate/isogate/policy"
)

// swapRevision is revision n of the swap test's policy. Its Rego and its
// data both name the revision, and t.go is allowed in even revisions and
// denied in odd ones with a reason naming both: a call decided by a policy
// that was half one revision and half another shows it.
func swapRevision(t *testing.T, n int) []byte {
	t.Helper()
	rev := fmt.Sprintf("r%d", n)
	rego := fmt.Sprintf(`package isogate

rego_revision := %q

allow if input.name == "t.go"

deny contains sprintf("rego %%s data %%s", [rego_revision, data.revision]) if {
	input.name == "t.go"
	%v
}
`, rev, n%2 == 1)
	b, err := policy.BuildBundle(context.Background(), fstest.MapFS{
		"p.rego":            {Data: []byte(rego)},
		"data.json":         {Data: fmt.Appendf(nil, `{"revision": %q}`, rev)},
		"schemas/t.go.json": {Data: []byte(`{"type": "object", "required": ["i"]}`)},
	}, rev)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := policy.WriteBundle(&buf, b, nil, ""); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lockedBuffer is the decision log's file: written by the core, read at
// the end.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// A new bundle every second for 30 s (ISOGATE_SWAP_SECONDS) while a core
// is under load, open loop at half the throughput it reached saturated in
// the same run (P4's method): every call gets exactly one reply, every
// decision is made by one whole revision that was published (its line's
// revision, its verdict and the revision its Rego and data name agree),
// and the swaps really happened under the load.
func TestFleet_BundleSwapsUnderLoad(t *testing.T) {
	total := 30 * time.Second
	if s, err := strconv.Atoi(os.Getenv("ISOGATE_SWAP_SECONDS")); err == nil && s > 0 {
		total = time.Duration(s) * time.Second
	}
	bundles := &fleettest.Bundles{}
	bundles.Publish(swapRevision(t, 0), `"r0"`)
	hs := httptest.NewServer(bundles)
	defer hs.Close()
	log := &lockedBuffer{}
	dl := policy.NewDecisionLog(log)
	// The per-session limits would answer part of the load rate_limited
	// while a swap's compile has the CPU (as in P4, the whole path is
	// measured, not the limits).
	c, err := core.New(core.Config{App: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}},
		Policy: policy.Pending("no bundle yet"), DecisionLog: dl,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Limits: core.Limits{RatePerSecond: 1 << 30, RateBurst: 1 << 30, MaxInFlight: 1 << 16}})
	if err != nil {
		t.Fatal(err)
	}
	c.Handle("t.go", func(_ context.Context, a any) (any, error) { return a, nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Serve(ctx)
	var activated atomic.Int64
	first := make(chan struct{})
	config := fmt.Sprintf(`{"services": {"fleet": {"url": %q}},
	  "bundles": {"isogate": {"service": "fleet", "resource": "/b.tar.gz", "polling": {"min_delay_seconds": 1, "max_delay_seconds": 1}}}}`, hs.URL)
	f, err := Start(ctx, []byte(config), "swap", slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(p *policy.Policy) {
			c.SetPolicy(p)
			if activated.Add(1) == 1 {
				close(first)
			}
		}, func(err error) { t.Errorf("refused: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		t.Fatal("the first bundle was never activated")
	}

	const conns = 4
	type client struct {
		f *frameclient.Frame
		c interface {
			CloseNow() error
		}
		send func(i int) error
		recv func() (*frameclient.Reply, error)
	}
	var clients []client
	for range conns {
		fr, err := frameclient.Load(c.URL())
		if err != nil {
			t.Fatal(err)
		}
		conn, err := fr.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		clients = append(clients, client{f: fr, c: conn,
			send: func(i int) error {
				_, err := fr.Send(ctx, conn, frameclient.Invoke(i, "t.go", fmt.Sprintf(`{"i":%d}`, i)))
				return err
			},
			recv: func() (*frameclient.Reply, error) { return fr.Recv(ctx, conn) },
		})
	}
	// Capacity, closed loop, also the warm-up.
	var done atomic.Int64
	var wg sync.WaitGroup
	until := time.Now().Add(2 * time.Second)
	for _, cl := range clients {
		wg.Go(func() {
			for i := 1; time.Now().Before(until); i++ {
				if err := cl.send(i); err != nil {
					t.Error(err)
					return
				}
				if _, err := cl.recv(); err != nil {
					t.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	capacity := float64(done.Load()) / 2
	interval := time.Duration(float64(time.Second) * conns / (capacity / 2)) // per connection
	n := int(total / interval)
	before := activated.Load()

	// The publisher: a new revision every second.
	stop := make(chan struct{})
	published := map[string]bool{"r0": true}
	var pubMu sync.Mutex
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for k := 1; ; k++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			pubMu.Lock()
			published[fmt.Sprintf("r%d", k)] = true
			pubMu.Unlock()
			bundles.Publish(swapRevision(t, k), fmt.Sprintf(`"r%d"`, k))
		}
	})
	const idBase = 1 << 20
	var replies, lost atomic.Int64
	var bad sync.Map // a few replies that were neither a result nor the policy's denial
	start := time.Now()
	var load sync.WaitGroup
	for k, cl := range clients {
		load.Go(func() { // on schedule, never waiting for replies
			for i := range n {
				time.Sleep(time.Until(start.Add(time.Duration(i)*interval + time.Duration(k)*interval/conns)))
				if err := cl.send(idBase + i); err != nil {
					t.Error(err)
					return
				}
			}
		})
		load.Go(func() {
			seen := make([]bool, n)
			for range n {
				r, err := cl.recv()
				if err != nil {
					t.Error(err)
					lost.Add(1)
					return
				}
				i := r.ID - idBase
				if i < 0 || i >= n || seen[i] {
					bad.Store(fmt.Sprintf("conn %d: reply to %d, twice or not asked", k, r.ID), true)
					continue
				}
				seen[i] = true
				replies.Add(1)
				if r.Code() != "" && (r.Code() != "denied" || !strings.Contains(r.Error.Message, "rego r")) {
					bad.Store(fmt.Sprintf("conn %d id %d: %s %s", k, r.ID, r.Code(), r.Error.Message), true)
				}
			}
		})
	}
	load.Wait()
	close(stop)
	wg.Wait() // the publisher has stopped: published is read below without its lock
	swaps := activated.Load() - before
	bad.Range(func(k, _ any) bool { t.Error(k); return true })
	if got, want := replies.Load(), int64(n*conns); got != want || lost.Load() != 0 {
		t.Errorf("%d replies to %d calls", got, want)
	}
	if swaps < int64(total/time.Second)/2 {
		t.Errorf("only %d bundles were activated during %s of load", swaps, total)
	}
	// Every decision: a published revision, whole.
	log.mu.Lock()
	defer log.mu.Unlock()
	lines, perRevision := 0, map[string]int{}
	sc := bufio.NewScanner(&log.b)
	for sc.Scan() {
		var d policy.Decision
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		lines++
		perRevision[d.Revision]++
		n, err := strconv.Atoi(strings.TrimPrefix(d.Revision, "r"))
		switch {
		case err != nil || !published[d.Revision]:
			t.Errorf("decision %s by revision %q, never published", d.DecisionID, d.Revision)
		case n%2 == 0 && !d.Result.Allow:
			t.Errorf("revision %s denied: %v", d.Revision, d.Result.Reasons)
		case n%2 == 1 && (d.Result.Allow || strings.Join(d.Result.Reasons, ";") != fmt.Sprintf("rego %s data %s", d.Revision, d.Revision)):
			t.Errorf("revision %s decided %+v", d.Revision, d.Result)
		}
	}
	t.Logf("%d calls at %.0f/s (half of %.0f/s) over %s, %d bundle swaps, %d decisions by %d revisions",
		n*conns, float64(time.Second)*conns/float64(interval), capacity, total, swaps, lines, len(perRevision))
}
