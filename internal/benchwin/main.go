// Command benchwin is make bench's P2 in the WebKitGTK window: a core with
// the demo's policy and handlers serves a page that times gated calls
// against the plain WebSocket JSON-RPC baseline and the empty-iframe floor
// in the same webview (benchkit.JS), reports the figures over the plain
// socket, and closes. It prints the report, a JSON object, on stdout.
// e2e's TestP2WebKitReport builds and runs it under Xvfb.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing/fstest"

	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/demo"
	"github.com/isogate/isogate/desktop"
	"github.com/isogate/isogate/internal/benchkit"
	"github.com/isogate/isogate/policy"
)

// page runs the measurement on load: three rounds of isogate and plain
// alternated (a noisy 2-core machine: the report keeps each round), then
// the floor and the pattern doing no work; any failure is reported too.
const page = `<!doctype html><meta charset="utf-8"><title>isogate bench</title><body><script>
BENCHKIT
(async () => {
  let call = null;
  try {
    await isogate.ready;
    call = await isogateBench.plain(PLAIN);
    const iso = [], plain = [];
    for (let r = 0; r < 3; r++) {
      iso.push(await isogateBench.calls(() => isogate.invoke('demo.greet', {name: 'bench'}), 500, 1000));
      plain.push(await isogateBench.calls(() => call('greet', {name: 'bench'}), 500, 1000));
    }
    const hop = await isogateBench.hop();
    const relay = await isogateBench.relay(PLAIN);
    const aes = await isogateBench.crypto();
    await call('report', {iso, plain, hop, relay, crypto: aes, engine: navigator.userAgent});
  } catch (e) {
    const c = call || await isogateBench.plain(PLAIN);
    await c('report', {error: String(e && e.stack || e)});
  }
})();
</script>`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchwin:", err)
		os.Exit(1)
	}
}

func run() error {
	if !desktop.Available() {
		return desktop.ErrNoDisplay
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan json.RawMessage, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ln, benchkit.PlainRPC(func(r json.RawMessage) {
		select {
		case reports <- r:
		default:
		}
		cancel() // closes the window
	}))
	html := strings.NewReplacer("BENCHKIT", benchkit.JS, "PLAIN", fmt.Sprintf("%q", "ws://"+ln.Addr().String()+"/")).Replace(page)
	p, err := policy.Load(ctx, demo.Policy())
	if err != nil {
		return err
	}
	limits := core.DefaultLimits()
	limits.MaxInFlight, limits.RatePerSecond, limits.RateBurst = 2048, 1000000, 1000000 // as the Chromium P2's isogate demo
	c, err := core.New(core.Config{App: fstest.MapFS{"index.html": {Data: []byte(html)}}, Policy: p, Limits: limits,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	notes, err := os.MkdirTemp("", "benchwin")
	if err != nil {
		return err
	}
	defer os.RemoveAll(notes)
	if err := demo.Register(ctx, c, notes); err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx) }()
	err = desktop.Run(ctx, desktop.Window{Label: core.DefaultWindow, URL: c.URL(), Title: "isogate bench", Width: 800, Height: 600})
	cancel()
	if serr := <-served; err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	select {
	case report := <-reports:
		_, err = fmt.Printf("%s\n", report)
		return err
	default:
		return fmt.Errorf("the window closed before the page reported")
	}
}
