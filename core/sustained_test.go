package core

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/internal/frameclient"
)

// TestP4Report keeps a core under steady load for ISOGATE_BENCH_SECONDS (60
// by default) over real loopback WebSockets with the reference policy, and
// prints p50/p99 per 10 s window and the heap at start and end.
//
// The core runs in a child process of its own, as the isogate binary would
// (this test binary again, serving), so the load generator's goroutines and
// garbage do not show up in the core's latency. A plain WebSocket echo runs
// in another child as the baseline, on the same schedule: the machine's own
// noise shows in both.
//
// The load is open-loop: requests leave on a fixed schedule, at half the
// throughput the same core and clients reach when saturated (measured first,
// in the same run), whether or not earlier replies are back; latency counts
// from when a request was sent. A closed loop at saturation measures
// queueing behind the benchmark's own clients, and a client that waits for
// each reply before the next request hides the stalls it should be
// measuring (coordinated omission).
func TestP4Report(t *testing.T) {
	switch os.Getenv("ISOGATE_P4_SERVE") {
	case "core":
		serveP4Core(t)
		return
	case "echo":
		serveP4Echo(t)
		return
	}
	if os.Getenv("ISOGATE_BENCH") == "" {
		t.Skip("make bench runs this")
	}
	total := 60 * time.Second
	if s, err := strconv.Atoi(os.Getenv("ISOGATE_BENCH_SECONDS")); err == nil && s > 0 {
		total = time.Duration(s) * time.Second
	}
	const window, conns = 10 * time.Second, 4
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	coreURL, heapURL := p4Child(t, "core")
	echoURL, _ := p4Child(t, "echo")

	calls := []struct{ name, args string }{
		{"docs.read", `{"user":"cy","path":"workspace/plan.md"}`},
		{"docs.write", `{"user":"bo","path":"workspace/plan.md","text":"hello"}`},
		{"user.me", `{"user":"bo"}`},
		{"docs.search", `{"user":"cy","q":"report"}`},
		{"docs.write", `{"user":"cy","path":"workspace/plan.md","text":"denied"}`},
	}
	type client struct {
		f    *frameclient.Frame
		conn *websocket.Conn
	}
	var clients []client
	for range conns {
		f, err := frameclient.Load(coreURL)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := f.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		clients = append(clients, client{f, conn})
	}

	// Capacity, closed loop, which also warms everything up.
	var done atomic.Int64
	var wg sync.WaitGroup
	const calibrate = 3 * time.Second
	until := time.Now().Add(calibrate)
	for _, cl := range clients {
		wg.Go(func() {
			for i := 1; time.Now().Before(until); i++ {
				call := calls[i%len(calls)]
				if _, err := cl.f.Send(ctx, cl.conn, frameclient.Invoke(i, call.name, call.args)); err != nil {
					t.Error(err)
					return
				}
				if _, err := cl.f.Recv(ctx, cl.conn); err != nil {
					t.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	capacity := float64(done.Load()) / calibrate.Seconds()
	interval := time.Duration(float64(time.Second) * conns / (capacity / 2)) // per connection
	echoCapacity := echoSaturated(t, ctx, echoURL, conns, calibrate)

	heap := func() uint64 {
		_, body, err := frameclient.Get(heapURL)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseUint(body, 10, 64)
		return n
	}
	plainConn, _, err := websocket.Dial(ctx, echoURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plainConn.CloseNow()

	// A lane is one connection under open-loop load: send(i) sends request
	// i, recv returns the index of the next reply.
	type lane struct {
		send func(i int) error
		recv func() (int, error)
		hist [][]int
	}
	windows := int(total / window)
	// Latencies go into fixed histograms (10 µs buckets up to 100 ms), and
	// send times into fixed rings, all allocated before the heap is first
	// read: the measurement must not be what grows.
	const bucket, buckets = 10 * time.Microsecond, 10000
	newHist := func() [][]int {
		h := make([][]int, windows)
		for i := range h {
			h[i] = make([]int, buckets+1)
		}
		return h
	}
	coreHist, plainHist := newHist(), newHist()
	const idBase = 1 << 20 // past the calibration's ids
	var lanes []lane
	for _, cl := range clients {
		lanes = append(lanes, lane{
			send: func(i int) error {
				call := calls[i%len(calls)]
				_, err := cl.f.Send(ctx, cl.conn, frameclient.Invoke(idBase+i, call.name, call.args))
				return err
			},
			recv: func() (int, error) {
				r, err := cl.f.Recv(ctx, cl.conn)
				if err != nil {
					return 0, err
				}
				if r.Code() != "" && r.Code() != "denied" {
					return 0, fmt.Errorf("reply %d: %s", r.ID, r.Code()) // only the policy's own denials are expected
				}
				return r.ID - idBase, nil
			},
			hist: coreHist,
		})
	}
	lanes = append(lanes, lane{
		send: func(i int) error {
			return plainConn.Write(ctx, websocket.MessageBinary, binary.BigEndian.AppendUint64(nil, uint64(i)))
		},
		recv: func() (int, error) {
			_, b, err := plainConn.Read(ctx)
			if err != nil || len(b) != 8 {
				return 0, fmt.Errorf("echo: %v", err)
			}
			return int(binary.BigEndian.Uint64(b)), nil
		},
		hist: plainHist,
	})
	const ring = 1 << 16 // send times kept per lane; far more than are ever in flight
	rings := make([][]atomic.Int64, len(lanes))
	for k := range rings {
		rings[k] = make([]atomic.Int64, ring)
	}
	var mu sync.Mutex
	var senders, receivers sync.WaitGroup
	got := make([]atomic.Int64, len(lanes)) // replies each lane received
	n := int(total / interval)
	heapStart := heap()
	start := time.Now()
	for k, ln := range lanes {
		sent := rings[k] // ns since start, by request index
		// Each lane's schedule is offset so that they do not fire together.
		due := func(i int) time.Time {
			return start.Add(time.Duration(i)*interval + time.Duration(k)*interval/time.Duration(len(lanes)))
		}
		senders.Go(func() { // sender: on schedule, never waiting for replies
			for i := range n {
				time.Sleep(time.Until(due(i)))
				sent[i%ring].Store(int64(time.Since(start)))
				if err := ln.send(i); err != nil {
					t.Error(err)
					return
				}
			}
		})
		receivers.Go(func() { // receiver: latency from when each request was sent
			for range n {
				i, err := ln.recv()
				if err != nil {
					if got[k].Load() < int64(n) && ctx.Err() == nil {
						t.Error(err)
					}
					return
				}
				got[k].Add(1)
				at := time.Duration(sent[i%ring].Load())
				b := min(int((time.Since(start)-at)/bucket), buckets)
				mu.Lock()
				ln.hist[min(int(at/window), windows-1)][b]++
				mu.Unlock()
			}
		})
	}
	senders.Wait()
	// Every request gets its reply: wait for all of them, with a bound so
	// that a lost one fails the run instead of hanging it; then count.
	received := make(chan struct{})
	go func() { receivers.Wait(); close(received) }()
	select {
	case <-received:
	case <-time.After(30 * time.Second):
		cancel() // unblocks the receivers' reads
		<-received
	}
	lost := 0
	for k := range lanes {
		lost += n - int(got[k].Load())
	}
	if lost > 0 {
		t.Errorf("%d requests of %d were never answered", lost, n*len(lanes))
	}
	heapEnd := heap()
	quantile := func(h []int, q float64) time.Duration {
		n := 0
		for _, c := range h {
			n += c
		}
		seen := 0
		for i, c := range h {
			if seen += c; float64(seen) >= q*float64(n) {
				return time.Duration(i+1) * bucket
			}
		}
		return buckets * bucket
	}
	spread := func(v []float64) float64 { return 100 * (slices.Max(v) - slices.Min(v)) / slices.Min(v) }
	var p99s, plainP99s, rel []float64
	line, plainLine := "", ""
	for i := range windows {
		p50, p99 := quantile(coreHist[i], 0.5), quantile(coreHist[i], 0.99)
		pp99 := quantile(plainHist[i], 0.99)
		p99s = append(p99s, float64(p99))
		plainP99s = append(plainP99s, float64(pp99))
		rel = append(rel, float64(p99)/float64(pp99))
		line += fmt.Sprintf(" w%d %d/%d", i+1, p50.Microseconds(), p99.Microseconds())
		plainLine += fmt.Sprintf(" %d", pp99.Microseconds())
	}
	fmt.Printf("P4 sustained %s at %.0f msg/s (half the %.0f msg/s measured saturated), %d connections: p50/p99 µs per 10 s window:%s; p99 spread %.0f%%; heap %.1f MiB at start, %.1f MiB at end\n",
		total, float64(time.Second)*conns/float64(interval), capacity, conns, line, spread(p99s), float64(heapStart)/(1<<20), float64(heapEnd)/(1<<20))
	fmt.Printf("P4 baseline, plain WebSocket echo on the same schedule: p99 µs per window:%s; spread %.0f%%; core p99 / echo p99 spread %.0f%%\n",
		plainLine, spread(plainP99s), spread(rel))
	fmt.Printf("P4 saturated throughput ratio core/echo = %.2f (core %.0f msg/s, plain WebSocket echo %.0f msg/s, %d connections each, closed loop); lost responses %d of %d (must be 0)\n",
		capacity/echoCapacity, capacity, echoCapacity, conns, lost, n*len(lanes))
}

// echoSaturated is the echo's throughput in msg/s with conns connections in
// a closed loop for d, as the core's is measured.
func echoSaturated(t *testing.T, ctx context.Context, url string, conns int, d time.Duration) float64 {
	var done atomic.Int64
	var wg sync.WaitGroup
	until := time.Now().Add(d)
	for range conns {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		wg.Go(func() {
			msg := make([]byte, 8)
			for time.Now().Before(until) {
				if c.Write(ctx, websocket.MessageBinary, msg) != nil {
					t.Error("echo write failed")
					return
				}
				if _, _, err := c.Read(ctx); err != nil {
					t.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / d.Seconds()
}

// p4Child runs this test binary again as a P4 server (what: "core" or
// "echo") and returns the URLs it prints: the one to load, and one that
// answers the server's heap in use after a collection.
func p4Child(t *testing.T, what string) (string, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestP4Report$")
	cmd.Env = append(os.Environ(), "ISOGATE_P4_SERVE="+what)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the child serves until its stdin closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "P4SERVE" {
			go io.Copy(io.Discard, stdout)
			return f[1], f[2]
		}
	}
	t.Fatalf("the %s child printed no URLs", what)
	return "", ""
}

// p4Serve prints the URLs of a P4 child and serves until stdin closes.
func p4Serve(t *testing.T, url string) {
	heap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprint(w, m.HeapInuse)
	}))
	defer heap.Close()
	fmt.Printf("P4SERVE %s %s\n", url, heap.URL)
	io.Copy(io.Discard, os.Stdin)
}

// serveP4Core is the core under test: the reference policy, handlers that
// echo their args, the GC settings of the isogate binary.
func serveP4Core(t *testing.T) {
	TuneGC()
	// The per-session rate limit (1000/s by default) would answer most of
	// the load rate_limited at once; P4 measures the whole path.
	c, err := New(Config{App: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}, Policy: refPolicy(t),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Limits: Limits{RatePerSecond: 1 << 30, RateBurst: 1 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"docs.read", "docs.write", "user.me", "docs.search"} {
		c.Handle(name, func(_ context.Context, a any) (any, error) { return a, nil })
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Serve(ctx)
	p4Serve(t, c.URL())
}

// serveP4Echo is the baseline: a plain WebSocket echo on loopback.
func serveP4Echo(t *testing.T) {
	TuneGC()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil || c.Write(r.Context(), typ, b) != nil {
				return
			}
		}
	}))
	defer echo.Close()
	p4Serve(t, "ws"+strings.TrimPrefix(echo.URL, "http"))
}
