package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// tauriApp builds the Tauri frontend of testdata/tauri (written against the
// real @tauri-apps/api from npm, bundled with esbuild as a Vite build would)
// into a fresh app directory beside its tauri.conf.json, and returns the
// config's path and the backend's log.
func tauriApp(t *testing.T) (conf, backendLog string) {
	return tauriAppOf(t, "main.js", "tauri.conf.json")
}

// tauriAppOf is tauriApp with another entry script and config; the app's
// isolation dir goes beside them.
func tauriAppOf(t *testing.T, entry, config string) (conf, backendLog string) {
	t.Helper()
	dir := t.TempDir()
	dist := filepath.Join(dir, "dist")
	os.MkdirAll(dist, 0o755)
	os.MkdirAll(filepath.Join(dir, "src-tauri"), 0o755)
	os.MkdirAll(filepath.Join(dir, "isolation"), 0o755)
	for src, dst := range map[string]string{
		"testdata/tauri/src/index.html":       filepath.Join(dist, "index.html"),
		"testdata/tauri/src-tauri/" + config:  filepath.Join(dir, "src-tauri", "tauri.conf.json"),
		"testdata/tauri/isolation/index.html": filepath.Join(dir, "isolation", "index.html"),
		"testdata/tauri/isolation/index.js":   filepath.Join(dir, "isolation", "index.js"),
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(dst, b, 0o644)
	}
	modules, _ := filepath.Abs("../sandbox-js/node_modules")
	build := exec.Command(filepath.Join(modules, ".bin", "esbuild"), "testdata/tauri/src/"+entry, "--bundle", "--format=esm", "--outfile="+filepath.Join(dist, "main.js"))
	build.Env = append(os.Environ(), "NODE_PATH="+modules)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("esbuild (make js-deps installs @tauri-apps/api): %v\n%s", err, out)
	}
	return filepath.Join(dir, "src-tauri", "tauri.conf.json"), filepath.Join(dir, "backend.log")
}

func tauriArgs(t *testing.T, conf, backendLog string) []string {
	return []string{"--tauri", conf, "--policy", "testdata/tauri/policy", "--upstream-cmd", python(t) + " testdata/tauri/backend.py " + backendLog}
}

// tauriReport is what the frontend found (main.js).
type tauriReport struct {
	IsTauri, InlineRan             bool
	Label                          string
	Greet, Upload, Bytes           tauriOutcome
	Fail, Denied, Unknown          tauriOutcome
	App, Path, Home, Count, Global tauriOutcome
	EmptyRaw, EmptyRawGreet        tauriOutcome
	Window, OtherWindow            tauriOutcome
	DeniedListen                   tauriOutcome
	Events                         []string
	Channel                        struct {
		N       int
		Ordered bool
	}
	Internals []string
	Crashed   string
}

type tauriOutcome struct {
	OK  json.RawMessage
	Err json.RawMessage
}

func (o tauriOutcome) String() string { return "ok " + string(o.OK) + " err " + string(o.Err) }

// checkTauriReport holds a run of the frontend to what Tauri would have
// done, with isogate's gate in the way.
func checkTauriReport(t *testing.T, r tauriReport, windowed bool) {
	t.Helper()
	if r.Crashed != "" {
		t.Fatalf("the frontend crashed: %s", r.Crashed)
	}
	check := func(what string, got tauriOutcome, ok, errPrefix string) {
		t.Helper()
		if ok != "" && !sameJSON(got.OK, ok) {
			t.Errorf("%s: %s, want ok %s", what, got, ok)
		}
		if errPrefix != "" && !strings.HasPrefix(string(got.Err), errPrefix) {
			t.Errorf("%s: %s, want an error starting %s", what, got, errPrefix)
		}
	}
	if !r.IsTauri || r.Label != "main" {
		t.Errorf("isTauri %v, label %q", r.IsTauri, r.Label)
	}
	if r.InlineRan {
		t.Error("an inline script ran: the app's own CSP (app.security.csp) is not in force")
	}
	check("invoke with JSON", r.Greet, `"Hello, Ada!"`, "")
	check("invoke with a raw body and headers", r.Upload, `{"file":"a.bin","last":250,"len":4}`, "")
	check("a raw result", r.Bytes, `[0,1,2,3,4]`, "")
	check("the backend's error value", r.Fail, "", `"No such file or directory (os error 2)"`)
	check("a command the policy does not allow", r.Denied, "", `"denied: denied by policy`)
	check("a built-in isogate does not have", r.Unknown, "", `"unknown_command: `)
	check("plugin:app", r.App, `["tauri-e2e","1.2.3","2.12.5","dev.isogate.e2e"]`, "")
	check("plugin:path", r.Path, `["a/b/c.txt","y.txt","/","/x","txt","/a/c",true,false,"/a/c"]`, "")
	home, _ := os.UserHomeDir()
	check("plugin:path|resolve_directory (homeDir)", r.Home, strconv.Quote(home), "")
	check("window.__TAURI__", r.Global, `"Hello, Global!"`, "")
	check("a denied listen", r.DeniedListen, "", `"denied: `)
	// An emitTo another window's label reaches no page of this window: not
	// even the listener of Any, which Tauri would hand it to.
	want := "listen:1 once:1 window:1 listen:2 window:2 window:4 window:done"
	if got := strings.Join(r.Events, " "); got != want {
		t.Errorf("events: %s\nwant    %s", got, want)
	}
	check("a command with a Channel", r.Count, `1000`, "")
	if r.Channel.N != 1000 || !r.Channel.Ordered {
		t.Errorf("channel: %+v", r.Channel)
	}
	if windowed {
		check("the window calls", r.Window, `["Renamed by Tauri",500,400,1]`, "")
	} else {
		check("the window calls, with no window", r.Window, "", `"there is no window`)
	}
	check("another window's title", r.OtherWindow, "", `"denied: denied by policy: a page acts on its own window only`)
	check("an empty raw body claiming JSON", r.EmptyRaw, "", `"denied: denied by policy: uploads name their file`)
	check("an empty raw body for a JSON command", r.EmptyRawGreet, "", `"invalid_args: `)
	if strings.Join(r.Internals, ",") != "undefined,undefined" {
		t.Errorf("Tauri's own transport is defined: %v", r.Internals)
	}
}

// An unmodified Tauri v2 frontend on the real @tauri-apps/api, with a
// backend in another language, in real headless Chromium: invoke with JSON
// and raw bodies, errors, events with targets, a Channel of 1000 ordered
// messages, the built-ins and window.__TAURI__, each call on record.
func TestTauri_FrontendInChromium(t *testing.T) {
	conf, backendLog := tauriApp(t)
	p := startLogged(t, append([]string{"run", "--browser"}, tauriArgs(t, conf, backendLog)...)...)
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	r := eval[tauriReport](t, ctx, `new Promise((resolve) => { const poll = () => window.__result ? resolve(window.__result) : setTimeout(poll, 20); poll(); })`)
	checkTauriReport(t, r, false)
	// convertFileSrc's URL answers 403: no asset protocol, and never the
	// app's files or index.html in its place.
	asset := eval[string](t, ctx, `fetch(window.__TAURI_INTERNALS__.convertFileSrc('/etc/passwd')).then(async (r) => r.status + ' ' + r.headers.get('x-isogate-code') + ' ' + (await r.text()).includes('root:'))`)
	if asset != "403 denied false" {
		t.Errorf("a convertFileSrc URL answered %q, want 403 denied", asset)
	}
	checkTauriDecisions(t, p.decisionLog)
}

// checkTauriDecisions: the frontend's calls are each on record, by the
// permission a Tauri capability would have needed.
func checkTauriDecisions(t *testing.T, logPath string) {
	t.Helper()
	decided := map[string]bool{}
	for _, d := range readDecisions(t, logPath) {
		in, _ := d["input"].(map[string]any)
		tauri, _ := in["tauri"].(map[string]any)
		if tauri != nil {
			decided[fmt.Sprint(tauri["permission"])] = true
		}
	}
	for _, perm := range []string{"allow-greet", "allow-upload", "allow-count", "core:event:allow-listen", "core:event:allow-emit-to", "core:path:allow-join"} {
		if !decided[perm] {
			t.Errorf("no decision on record for a call needing %s: %v", perm, decided)
		}
	}
}

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// The same frontend in the WebKitGTK window under Xvfb, where no driver
// reaches the page: it reports what it got through the gate itself (the
// report command), and the backend's log holds it.
func TestDesktop_TauriFrontendInWebKitGTK(t *testing.T) {
	requireDisplay(t)
	conf, backendLog := tauriApp(t)
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	p := startWindow(t, append(append([]string{"run"}, tauriArgs(t, conf, backendLog)...), "--decision-log", logPath)...)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(backendLog)
			t.Logf("backend log:\n%s\nisogate stderr:\n%s", b, p.stderr.String())
		}
	})
	var r tauriReport
	eventually(t, "the window's report", func() bool {
		b, _ := os.ReadFile(backendLog)
		for _, line := range strings.Split(string(b), "\n") {
			var req struct {
				Method string
				Params struct{ Out json.RawMessage }
			}
			if json.Unmarshal([]byte(line), &req) == nil && req.Method == "report" {
				return json.Unmarshal(req.Params.Out, &r) == nil
			}
		}
		return false
	})
	checkTauriReport(t, r, true)
	checkTauriDecisions(t, logPath)
	// The window's title is the one the frontend set, as X sees it.
	if out, err := exec.Command("xwininfo", "-root", "-tree").CombinedOutput(); err != nil || !strings.Contains(string(out), `"Renamed by Tauri"`) {
		t.Errorf("no window titled \"Renamed by Tauri\" (%v):\n%s", err, out)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("isogate exited %d on SIGTERM", code)
	}
}

// getCurrentWindow().close() in the WebKitGTK window: the policy allows
// plugin:window|close, the window closes, and isogate ends by itself, as
// a Tauri app does when its last window closes.
func TestDesktop_TauriCloseEndsTheApp(t *testing.T) {
	requireDisplay(t)
	conf, backendLog := tauriAppOf(t, "close.js", "tauri.conf.json")
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	p := startWindow(t, append(append([]string{"run"}, tauriArgs(t, conf, backendLog)...), "--decision-log", logPath)...)
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("isogate ended with %v after the window closed", err)
		}
	case <-time.After(60 * time.Second): // a bound on a hang, not a measurement
		p.cmd.Process.Kill()
		<-exited
		b, _ := os.ReadFile(logPath)
		t.Fatalf("isogate still ran after the frontend closed its window; decisions:\n%s", b)
	}
	closes := 0
	for _, d := range readDecisions(t, logPath) {
		if d["name"] == "plugin:window|close" {
			if res, _ := d["result"].(map[string]any); res["allow"] != true {
				t.Fatalf("the close was not allowed: %v", d)
			}
			closes++
		}
	}
	if closes != 1 {
		t.Fatalf("%d decisions on plugin:window|close, want 1", closes)
	}
}

// A Tauri isolation app (app.security.pattern isolation) runs as the
// iframe's hook on every message: it may let a message through, rewrite
// it (checked again: a rewrite into a call the policy denies is denied),
// and a throw, no message or no answer rejects promptly with hook_rejected
// instead of leaving the promise pending as Tauri does.
func TestTauri_IsolationAppHookRunsOnEveryMessage(t *testing.T) {
	conf, backendLog := tauriAppOf(t, "hooked.js", "tauri-isolation.conf.json")
	p := startLogged(t, append([]string{"run", "--browser"}, tauriArgs(t, conf, backendLog)...)...)
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	out := eval[map[string]tauriOutcome](t, ctx, `new Promise((resolve) => { const poll = () => window.__result ? resolve(window.__result) : setTimeout(poll, 20); poll(); })`)
	for name, want := range map[string]string{
		"Ada": `ok "Hello, Ada!"`, "Rewrite": `ok "Hello, Rewritten!"`, "listen": `ok "listening"`,
		"Mallory": `err "hook_rejected: the isolation hook threw: no Mallory"`,
		"Nothing": `err "hook_rejected: the isolation hook answered no message"`,
		"Sneaky":  `err "denied: `,
		"Slow":    `err "hook_rejected: the isolation hook did not answer in time"`,
	} {
		got := out[name]
		s := "ok " + string(got.OK)
		if got.OK == nil {
			s = "err " + string(got.Err)
		}
		if !strings.HasPrefix(s, want) {
			t.Errorf("%s: %s, want %s", name, s, want)
		}
	}
	if !sameJSON(out["upload"].OK, `{"len":3,"last":7,"file":"b.bin"}`) {
		t.Errorf("upload through the hook: %s", out["upload"])
	}
	// Every command that reached the backend went through the hook, which
	// added its header (with the window label Tauri's hook cannot see: this
	// app's tauri.conf.json names its first window "editor").
	b, _ := os.ReadFile(backendLog)
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var req struct {
			Method string
			Meta   struct {
				Tauri struct{ Headers map[string]string }
			}
		}
		json.Unmarshal([]byte(line), &req)
		if req.Meta.Tauri.Headers["x-hooked"] != "editor" {
			t.Errorf("%s reached the backend without the hook's header: %s", req.Method, line)
		}
		n++
	}
	if n != 3 { // Ada, Rewritten, upload
		t.Errorf("%d calls reached the backend, want 3:\n%s", n, b)
	}
	for _, d := range readDecisions(t, p.decisionLog) {
		if in, _ := d["input"].(map[string]any); in["window"] != "editor" {
			t.Errorf("a decision's window is %v, want the config's first window label editor: %v", in["window"], d)
		}
	}
}

// One page cannot take another page's listener away: an unlisten is the
// page's own (Tauri's unlisten_js removes an event id from every webview,
// and event ids are one global counter). Page A unlistens every id it can
// name, through both of Tauri's entry points; page B still gets A's emit.
func TestTauri_OnePageCannotRemoveAnothersListener(t *testing.T) {
	conf, backendLog := tauriAppOf(t, "pages.js", "tauri.conf.json")
	p := startLogged(t, append([]string{"run", "--browser"}, tauriArgs(t, conf, backendLog)...)...)
	a := browser(t)
	openApp(t, a, p.URL)
	b, cancel := chromedp.NewContext(a) // a second tab of the same browser: the launch cookie lets it in
	defer cancel()
	openApp(t, b, p.Origin)
	for _, ctx := range []context.Context{a, b} {
		if !eval[bool](t, ctx, `t.listen()`) {
			t.Fatal("listen")
		}
	}
	eval[bool](t, a, `(async () => {
	  for (let id = 0; id < 64; id++) {
	    window.__TAURI_EVENT_PLUGIN_INTERNALS__.unregisterListener('ping', id);
	    await window.__TAURI_INTERNALS__.invoke('plugin:event|unlisten', {event: 'ping', eventId: id});
	  }
	  await t.emit('from a');
	  return true;
	})()`)
	got := eval[[]string](t, b, `new Promise((resolve) => { const poll = () => window.got.length ? resolve(window.got) : setTimeout(poll, 20); poll(); })`)
	if len(got) != 1 || got[0] != "from a" {
		t.Fatalf("page B got %v", got)
	}
	if n := eval[int](t, a, `window.got.length`); n != 0 {
		t.Fatalf("page A unlistened its own listener but got %d events", n)
	}
}

// TestP6Report: a 16 MiB raw invoke through the Tauri compat bridge (the
// bridge, the iframe's checks and seal, the socket, the core's decoding
// and decision) against Tauri's own isolation encoding of the same bytes,
// re-run in the same browser: AES-GCM in the iframe, then the ciphertext as
// a JSON array of numbers, the fetch body Tauri's ipc sends. Only the
// encoding is timed for Tauri, the whole round trip for isogate.
func TestP6Report(t *testing.T) {
	if os.Getenv("ISOGATE_BENCH") == "" {
		t.Skip("make bench runs this")
	}
	conf, backendLog := tauriAppOf(t, "pages.js", "tauri.conf.json")
	pol := t.TempDir()
	os.MkdirAll(filepath.Join(pol, "schemas"), 0o755)
	os.WriteFile(filepath.Join(pol, "schemas", "sink.json"), []byte(`{"type":"object","properties":{"$binary":{"type":"integer"}}}`), 0o644)
	os.WriteFile(filepath.Join(pol, "p.rego"), []byte("package isogate\n\n# Decided on the whole message, and refused: the round trip, without a backend.\ndeny contains \"measured\" if input.name == \"sink\"\n"), 0o644)
	p := startIsogate(t, "run", "--browser", "--tauri", conf, "--policy", pol, "--upstream-cmd", python(t)+" testdata/tauri/backend.py "+backendLog)
	ctx, cap := capturingBrowser(t) // counts wire bytes
	openApp(t, ctx, p.URL)
	_, before := cap.get()
	type result struct{ Isogate, Tauri, TauriBytes float64 }
	r := eval[result](t, ctx, `(async () => {
	  const n = 16 << 20;
	  const bytes = new Uint8Array(n);
	  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
	  const median = (xs) => xs.sort((a, b) => a - b)[1];
	  const gated = [];
	  for (let i = 0; i < 3; i++) {
	    const t0 = performance.now();
	    const got = await window.__TAURI_INTERNALS__.invoke('sink', bytes).then(() => 'allowed', (e) => String(e));
	    if (!got.startsWith('denied: denied by policy: measured')) throw new Error(got);
	    gated.push(performance.now() - t0);
	  }
	  const key = await crypto.subtle.generateKey({name: 'AES-GCM', length: 256}, false, ['encrypt']);
	  const tauri = [];
	  let size = 0;
	  for (let i = 0; i < 3; i++) {
	    const t0 = performance.now();
	    const iv = crypto.getRandomValues(new Uint8Array(12));
	    const ct = await crypto.subtle.encrypt({name: 'AES-GCM', iv}, key, bytes);
	    const body = JSON.stringify({nonce: Array.from(iv), payload: Array.from(new Uint8Array(ct))});
	    size = body.length;
	    tauri.push(performance.now() - t0);
	  }
	  return {Isogate: median(gated), Tauri: median(tauri), TauriBytes: size};
	})()`)
	// isogate's frames as the browser sent them on the WebSocket (the
	// largest of the three invokes').
	_, after := cap.get()
	wire := 0
	for _, f := range after[len(before):] {
		wire = max(wire, len(f))
	}
	if wire < 16<<20 {
		t.Fatalf("no frame of the 16 MiB was captured (largest %d bytes)", wire)
	}
	fmt.Printf("P6 16 MiB raw invoke ratio isogate/Tauri isolation = %.2f (isogate %.0f ms round trip, %d bytes on the wire = %.3fx; Tauri's isolation encoding alone %.0f ms, %.0f bytes = %.2fx)\n",
		r.Isogate/r.Tauri, r.Isogate, wire, float64(wire)/(16<<20), r.Tauri, r.TauriBytes, r.TauriBytes/(16<<20))
}
