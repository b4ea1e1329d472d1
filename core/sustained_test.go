package core

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/isogate/isogate/internal/frameclient"
)

// TestP4Report keeps a core under load for ISOGATE_BENCH_SECONDS (60 by
// default) over real loopback WebSockets with the reference policy, and
// prints p50/p99 per 10 s window and the heap at start and end.
func TestP4Report(t *testing.T) {
	if os.Getenv("ISOGATE_BENCH") == "" {
		t.Skip("make bench runs this")
	}
	total := 60 * time.Second
	if s, err := strconv.Atoi(os.Getenv("ISOGATE_BENCH_SECONDS")); err == nil && s > 0 {
		total = time.Duration(s) * time.Second
	}
	const window = 10 * time.Second
	c, err := New(Config{App: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}, Policy: refPolicy(t),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"docs.read", "docs.write", "user.me", "docs.search"} {
		c.Handle(name, func(_ context.Context, a any) (any, error) { return a, nil })
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Serve(ctx)

	calls := []struct{ name, args string }{
		{"docs.read", `{"user":"cy","path":"workspace/plan.md"}`},
		{"docs.write", `{"user":"bo","path":"workspace/plan.md","text":"hello"}`},
		{"user.me", `{"user":"bo"}`},
		{"docs.search", `{"user":"cy","q":"report"}`},
		{"docs.write", `{"user":"cy","path":"workspace/plan.md","text":"denied"}`},
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	windows := int(total / window)
	// Latencies go into fixed histograms (10 µs buckets up to 100 ms),
	// allocated before the heap is first read: the measurement must not be
	// what grows.
	const bucket, buckets = 10 * time.Microsecond, 10000
	hist := make([][]int, windows)
	for i := range hist {
		hist[i] = make([]int, buckets+1)
	}
	var mu sync.Mutex
	start := time.Now()
	heapStart := uint64(0)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		f, err := frameclient.Load(c.URL())
		if err != nil {
			t.Fatal(err)
		}
		conn, err := f.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer conn.CloseNow()
			for i := 1; ; i++ {
				el := time.Since(start)
				if el >= total {
					return
				}
				call := calls[i%len(calls)]
				t0 := time.Now()
				if _, err := f.Send(ctx, conn, frameclient.Invoke(i, call.name, call.args)); err != nil {
					t.Error(err)
					return
				}
				if _, err := f.Recv(ctx, conn); err != nil {
					t.Error(err)
					return
				}
				b := min(int(time.Since(t0)/bucket), buckets)
				mu.Lock()
				hist[min(int(el/window), windows-1)][b]++
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second) // past start-up
	heapStart = heap()
	wg.Wait()
	heapEnd := heap()
	var p99s []float64
	line := ""
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
	for i, h := range hist {
		p50, p99 := quantile(h, 0.5), quantile(h, 0.99)
		p99s = append(p99s, float64(p99.Microseconds()))
		line += fmt.Sprintf(" w%d %d/%d", i+1, p50.Microseconds(), p99.Microseconds())
	}
	lo, hi := slices.Min(p99s), slices.Max(p99s)
	fmt.Printf("P4 sustained %s, 4 connections: p50/p99 µs per 10 s window:%s; p99 spread %.0f%%; heap %.1f MiB at start, %.1f MiB at end\n",
		total, line, 100*(hi-lo)/lo, float64(heapStart)/(1<<20), float64(heapEnd)/(1<<20))
}
