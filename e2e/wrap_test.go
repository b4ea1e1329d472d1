package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 not found (make test installs it)")
	}
	return p
}

// backendLog returns what reached the backend, one request per line.
func backendLog(t *testing.T, path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// eventually retries fn until it returns true or the wait is over.
func eventually(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// collectEvents makes the page keep every payload of event in window.got[event].
func collectEvents(t *testing.T, ctx context.Context, event string) {
	t.Helper()
	eval[bool](t, ctx, `(async () => {
	  window.got = window.got || {};
	  window.got[`+"`"+event+"`"+`] = [];
	  await isogate.listen(`+"`"+event+"`"+`, (e) => window.got[e.event].push(e.payload));
	  return true;
	})()`)
}

// wrapChecks runs what both backends must do.
func wrapChecks(t *testing.T, ctx context.Context, logPath string) {
	o := invoke(t, ctx, `'app.echo'`, `{x: 1, text: 'héllo'}`)
	echo, _ := o.get("echo").(map[string]any)
	if !o.OK || echo["x"] != float64(1) || echo["text"] != "héllo" {
		t.Fatalf("app.echo through the backend: %+v", o)
	}
	if o := invoke(t, ctx, `'app.secret'`, `{}`); o.Code != "denied" {
		t.Fatalf("app.secret: %+v", o)
	}
	if o := invoke(t, ctx, `'app.fail'`, `{}`); o.Code != "handler_error" || o.Message != "disk on fire" {
		t.Fatalf("app.fail: %+v", o)
	}
	collectEvents(t, ctx, "app.news")
	if o := invoke(t, ctx, `'app.emit'`, `{headline: 'isogate ships'}`); !o.OK {
		t.Fatalf("app.emit: %+v", o)
	}
	eventually(t, "the backend's isogate.emit to reach the listener", func() bool {
		return eval[int](t, ctx, `window.got['app.news'].filter(p => p.headline === 'isogate ships').length`) == 1
	})
	log := backendLog(t, logPath)
	if !strings.Contains(log, `"method": "app.echo"`) || !strings.Contains(log, `"method": "app.fail"`) {
		t.Fatalf("backend log lacks the allowed calls:\n%s", log)
	}
	if strings.Contains(log, "app.secret") {
		t.Fatalf("a denied call reached the backend:\n%s", log)
	}
}

func TestWrap_StaticAppWithStdioBackend(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "backend.log")
	p := startIsogate(t, "run", "--browser", "--app", "testdata/wrap/app", "--policy", "testdata/wrap/policy",
		"--upstream-cmd", python(t)+" testdata/backend.py "+logPath, "--call-timeout", "1500ms")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	if !eval[bool](t, ctx, `window.appLoaded === true && getComputedStyle(document.querySelector('h1')).color === 'rgb(51, 51, 51)'`) {
		t.Fatal("the wrapped app's own script and stylesheet did not load")
	}
	eventually(t, "the backend to start", func() bool { return strings.Contains(p.stderr.String(), "stdio backend started") })
	wrapChecks(t, ctx, logPath)

	if o := invoke(t, ctx, `'app.sleep'`, `{ms: 5000}`); o.Code != "timeout" {
		t.Fatalf("app.sleep past --call-timeout: %+v", o)
	}
	pid := invoke(t, ctx, `'app.echo'`, `{}`).get("pid")
	if o := invoke(t, ctx, `'app.crash'`, `{}`); o.Code != "unavailable" {
		t.Fatalf("backend killed mid-call: %+v", o)
	}
	eventually(t, "a restarted backend to answer", func() bool {
		o := invoke(t, ctx, `'app.echo'`, `{}`)
		return o.OK && o.get("pid") != pid
	})

	// Client-side routes get index.html, with the bridge.
	openApp(t, ctx, p.Origin+"some/client/route")
	if !eval[bool](t, ctx, `window.appLoaded === true`) {
		t.Fatal("index.html fallback for a client-side route")
	}

	// SIGTERM stops the backend too, before isogate exits 0.
	pid = invoke(t, ctx, `'app.echo'`, `{}`).get("pid")
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d", code)
	}
	if err := syscall.Kill(int(pid.(float64)), 0); err == nil {
		t.Fatalf("backend %v still running after isogate exited", pid)
	}
}

func TestWrap_StaticAppWithHTTPBackend(t *testing.T) {
	dir := t.TempDir()
	logPath, portFile := filepath.Join(dir, "backend.log"), filepath.Join(dir, "port")
	be := exec.Command(python(t), "testdata/backend.py", logPath, "--http", portFile)
	be.Stderr = os.Stderr
	if err := be.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Process.Kill(); be.Wait() })
	var port []byte
	eventually(t, "the HTTP backend to listen", func() bool { port, _ = os.ReadFile(portFile); return len(port) > 0 })

	p := startIsogate(t, "run", "--browser", "--app", "testdata/wrap/app", "--policy", "testdata/wrap/policy",
		"--upstream", "http://127.0.0.1:"+string(port)+"/")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	wrapChecks(t, ctx, logPath)
	_, token, _ := strings.Cut(p.URL, "?token=")
	if log := backendLog(t, logPath); !strings.Contains(log, `"headers"`) || strings.Contains(log, "isogate-launch") || strings.Contains(log, token) {
		t.Fatalf("the backend's requests carry isogate's launch secret, or no headers were logged:\n%s", log)
	}

	be.Process.Kill()
	be.Wait()
	if o := invoke(t, ctx, `'app.echo'`, `{}`); o.Code != "unavailable" {
		t.Fatalf("dead HTTP backend: %+v", o)
	}
}

func TestWrap_DevServerProxiedWithHMR(t *testing.T) {
	page := []byte(`<!doctype html><html><head><meta charset="utf-8"><title>dev</title></head><body><p id="dev">served by the dev server</p></body></html>`)
	dev := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hmr":
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
			if err != nil {
				return
			}
			defer c.CloseNow()
			typ, msg, err := c.Read(r.Context())
			if err == nil {
				c.Write(r.Context(), typ, append([]byte("hmr:"), msg...))
			}
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "default-src 'self'") // would block the isolation iframe
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				w.Header().Set("Content-Encoding", "gzip")
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write(page)
				zw.Close()
				w.Write(buf.Bytes())
				return
			}
			w.Write(page)
		}
	}))
	defer dev.Close()
	p := startIsogate(t, "run", "--browser", "--app", dev.URL, "--policy", "testdata/wrap/policy")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	if got := eval[string](t, ctx, `document.getElementById('dev').textContent`); got != "served by the dev server" {
		t.Fatalf("proxied page: %q", got)
	}
	if o := invoke(t, ctx, `'app.secret'`, `{}`); o.Code != "denied" {
		t.Fatalf("the gate behind a dev server: %+v", o)
	}
	got := eval[string](t, ctx, `new Promise((resolve) => {
	  const ws = new WebSocket('ws://' + location.host + '/hmr');
	  ws.onopen = () => ws.send('ping');
	  ws.onmessage = (e) => resolve(e.data);
	  ws.onerror = () => resolve('error');
	})`)
	if got != "hmr:ping" {
		t.Fatalf("HMR WebSocket through the proxy: %q", got)
	}
}
