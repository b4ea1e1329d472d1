package desktop_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/isogate/isogate/codes"

	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/desktop"
	"github.com/isogate/isogate/policy"
)

// The window must run on the main thread; tests run on other goroutines and
// hand window work to the main one.
var mainq = make(chan func())

func TestMain(m *testing.M) {
	done := make(chan int)
	go func() { done <- m.Run() }()
	for {
		select {
		case f := <-mainq:
			f()
		case code := <-done:
			os.Exit(code)
		}
	}
}

func onMain(f func()) {
	ran := make(chan struct{})
	mainq <- func() { f(); close(ran) }
	<-ran
}

func requireDisplay(t *testing.T) {
	if desktop.Available() {
		return
	}
	if os.Getenv("ISOGATE_REQUIRE_DISPLAY") != "" {
		t.Fatal("no display and ISOGATE_REQUIRE_DISPLAY is set (make test runs under xvfb-run)")
	}
	t.Skip("no display")
}

const crashPage = `<!doctype html><title>crash</title><script>
isogate.ready.then(async () => {
  let code = 'resolved';
  try { await isogate.invoke('t.crash', {}); } catch (e) { code = e.code; }
  await isogate.invoke('t.after', {code});
});
</script>`

// A Go panic in a handler after the page loaded -- a nil dereference, so a
// real SIGSEGV that JavaScriptCore's handler sees first -- must stay a
// recovered panic: the window process lives and the next call works.
func TestWindow_PanicInHandlerAfterLoadLeavesProcessAlive(t *testing.T) {
	requireDisplay(t)
	p, err := policy.Load(context.Background(), fstest.MapFS{
		"p.rego":               {Data: []byte("package isogate\n\nallow if input.name in {\"t.crash\", \"t.after\"}\n")},
		"schemas/t.crash.json": {Data: []byte(`{}`)},
		"schemas/t.after.json": {Data: []byte(`{}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.New(core.Config{App: fstest.MapFS{"index.html": {Data: []byte(crashPage)}}, Policy: p,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c.Handle("t.crash", func(context.Context, any) (any, error) {
		var p *struct{ X int }
		return p.X, nil // SIGSEGV
	})
	after := make(chan string, 1)
	core.Command(c, "t.after", func(_ context.Context, a struct {
		Code string `json:"code"`
	}) (struct{}, error) {
		after <- a.Code
		return struct{}{}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Serve(ctx)
	go func() {
		select {
		case code := <-after:
			if codes.Code(code) != codes.HandlerError {
				t.Errorf("the crashing call settled with %q, want handler_error", code)
			}
			// JavaScriptCore has run by now; every handler it installed must
			// have SA_ONSTACK again (which ones depends on the WebKitGTK build).
			time.Sleep(200 * time.Millisecond)
			if s := desktop.Unstacked(); len(s) != 0 {
				t.Errorf("signals %v have handlers without SA_ONSTACK while the window is open", s)
			}
		case <-time.After(60 * time.Second):
			t.Error("the page never made its call after the crash")
		}
		cancel()
	}()
	onMain(func() {
		if err := desktop.Run(ctx, desktop.Window{URL: c.URL(), Title: "crash test", Width: 400, Height: 300}); err != nil {
			t.Error(err)
		}
	})
}
