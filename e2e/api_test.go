package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// apiApp starts the notes API (testdata/api/server.py, a real HTTP server)
// and an isogate wrapping a static app that loads axios from npm, with
// --api /api pointing at it. It returns the isogate, the browser context
// with the app open, and a function reading what reached the API.
func apiApp(t *testing.T, extra ...string) (*proc, context.Context, func() []apiRequest) {
	t.Helper()
	p, seen := startAPIApp(t, false, extra...)
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	return p, ctx, seen
}

// startAPIApp starts the notes API and an isogate wrapping the app (in a
// window, running selftest.js, when window is set), with extra arguments
// to isogate run.
func startAPIApp(t *testing.T, window bool, extra ...string) (*proc, func() []apiRequest) {
	t.Helper()
	dir := t.TempDir()
	port, logPath := notesServer(t, dir)
	app := filepath.Join(dir, "app")
	os.Mkdir(app, 0o755)
	for src, dst := range map[string]string{
		"testdata/api/app/index.html":                        "index.html",
		"testdata/api/app/selftest.js":                       "selftest.js",
		"testdata/api/app/sw.js":                             "sw.js",
		"../sandbox-js/node_modules/axios/dist/axios.min.js": "axios.min.js", // the real npm package (make js-deps)
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("%v (make js-deps installs axios)", err)
		}
		if dst == "index.html" && window {
			b = []byte(strings.Replace(string(b), "</head>", `<script src="/selftest.js"></script></head>`, 1))
		}
		os.WriteFile(filepath.Join(app, dst), b, 0o644)
	}
	args := append([]string{"run", "--app", app, "--policy", "testdata/api/policy", "--api", "/api=http://127.0.0.1:" + string(port)}, extra...)
	var p *proc
	if window {
		logPath := filepath.Join(dir, "decisions.jsonl")
		p = startWindow(t, append(args, "--width", "640", "--height", "480", "--decision-log", logPath)...)
		p.decisionLog = logPath
	} else {
		p = startLogged(t, append([]string{"run", "--browser"}, args[1:]...)...)
	}
	seen := func() []apiRequest {
		b, _ := os.ReadFile(logPath)
		var out []apiRequest
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var r apiRequest
			if json.Unmarshal([]byte(line), &r) == nil {
				out = append(out, r)
			}
		}
		return out
	}
	return p, seen
}

// notesServer starts testdata/api/server.py, a real HTTP server, and
// returns its port and the file it logs each request to.
func notesServer(t *testing.T, dir string) (port []byte, logPath string) {
	t.Helper()
	logPath, portFile := filepath.Join(dir, "api.log"), filepath.Join(dir, "port")
	srv := exec.Command(python(t), "testdata/api/server.py", portFile, logPath)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	eventually(t, "the API server to listen", func() bool { port, _ = os.ReadFile(portFile); return len(port) > 0 })
	return port, logPath
}

type apiRequest struct {
	Method, Target, Body string
	Headers              map[string]string
}

type fetched struct {
	Status  int
	Headers map[string]string
	Body    string
	Cookie  string
}

// The app's own HTTP API, reached with plain fetch and with axios (XHR) in
// real Chromium: allowed requests round trip with status, headers and
// body; a denied DELETE answers 403 with the policy's reason and never
// reaches the server; the server's session cookie authenticates later
// calls but is never visible to the page.
func TestAPI_FetchAndAxiosThroughTheGate(t *testing.T) {
	p, ctx, seen := apiApp(t)
	got := eval[fetched](t, ctx, `(async () => {
	  const r = await fetch('/api/notes?sort=new', {headers: {'Accept': 'application/json'}});
	  const h = {}; r.headers.forEach((v, k) => { h[k] = v; });
	  return {Status: r.status, Headers: h, Body: await r.text(), Cookie: document.cookie};
	})()`)
	if got.Status != 200 || got.Headers["x-api"] != "notes" || !strings.Contains(got.Body, `"first"`) {
		t.Fatalf("fetch GET: %+v", got)
	}
	if _, ok := got.Headers["set-cookie"]; ok || strings.Contains(got.Cookie, "s3cret") {
		t.Fatalf("the API's session cookie reached the page: headers %v, document.cookie %q", got.Headers, got.Cookie)
	}
	// axios uses XMLHttpRequest; its JSON body and response go through the gate.
	ax := eval[fetched](t, ctx, `axios.post('/api/notes', {text: 'from axios'}).then((r) => ({
	  Status: r.status, Headers: r.headers.toJSON ? r.headers.toJSON() : r.headers, Body: JSON.stringify(r.data), Cookie: document.cookie}))`)
	if ax.Status != 201 || !strings.Contains(ax.Body, `"from axios"`) || ax.Headers["location"] != "/api/notes/2" {
		t.Fatalf("axios POST: %+v", ax)
	}
	again := eval[fetched](t, ctx, `axios.get('/api/notes').then((r) => ({Status: r.status, Body: JSON.stringify(r.data)}))`)
	if again.Status != 200 || !strings.Contains(again.Body, `"cookie": "sid=s3cret-session"`) && !strings.Contains(again.Body, `"cookie":"sid=s3cret-session"`) {
		t.Fatalf("the server's cookie was not sent back on the next gated call: %+v", again)
	}
	denied := eval[fetched](t, ctx, `(async () => {
	  const r = await fetch('/api/notes/1', {method: 'DELETE'});
	  const h = {}; r.headers.forEach((v, k) => { h[k] = v; });
	  return {Status: r.status, Headers: h, Body: await r.text()};
	})()`)
	if denied.Status != 403 || denied.Headers["x-isogate-code"] != "denied" || !strings.Contains(denied.Body, "notes cannot be deleted") ||
		!strings.HasPrefix(denied.Headers["content-type"], "application/problem+json") {
		t.Fatalf("denied DELETE: %+v", denied)
	}
	var problem struct {
		Code    string   `json:"code"`
		Status  int      `json:"status"`
		Reasons []string `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(denied.Body), &problem); err != nil || problem.Code != "denied" || problem.Status != 403 ||
		!slices.Contains(problem.Reasons, "notes cannot be deleted") {
		t.Fatalf("denied DELETE's problem body %q: %+v (%v), want the policy's reasons as a list", denied.Body, problem, err)
	}
	axDenied := eval[int](t, ctx, `axios.delete('/api/notes/1').then(() => 0, (e) => e.response ? e.response.status : -1)`)
	if axDenied != 403 {
		t.Fatalf("axios DELETE settled with %d, want 403", axDenied)
	}
	bad := eval[int](t, ctx, `axios.post('/api/notes', {title: 'no text'}).then(() => 0, (e) => e.response ? e.response.status : -1)`)
	if bad != 403 {
		t.Fatalf("a POST without text: %d, want 403 (denied by the policy)", bad)
	}
	// A body that breaks the OpenAPI document is refused before the policy.
	schema := eval[fetched](t, ctx, `(async () => {
	  const r = await fetch('/api/notes', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({text: 7})});
	  return {Status: r.status, Body: await r.text()};
	})()`)
	if schema.Status != 400 || !strings.Contains(schema.Body, `"invalid_args"`) || !strings.Contains(schema.Body, "request body") {
		t.Fatalf("a body breaking the OpenAPI schema: %+v, want 400 invalid_args", schema)
	}
	unknown := eval[int](t, ctx, `fetch('/api/notes/1', {method: 'PUT', body: 'x'}).then((r) => r.status)`)
	if unknown != 404 {
		t.Fatalf("an operation the OpenAPI document does not have: %d, want 404", unknown)
	}
	for _, r := range seen() {
		if r.Method == "DELETE" || r.Method == "PUT" || strings.Contains(r.Body, "no text") || strings.Contains(r.Body, `"text": 7`) {
			t.Fatalf("a denied request reached the API server: %+v", r)
		}
		if _, ok := r.Headers["X-Forwarded-For"]; ok || strings.Contains(r.Headers["Cookie"], "isogate-launch") {
			t.Fatalf("the API server got forwarding headers or isogate's launch cookie: %v", r.Headers)
		}
	}
	if n := p.decisions(t, "deleteNote"); n != 2 {
		t.Fatalf("%d decisions on record for the denied DELETE, want 2", n)
	}
}

// Requests to the API that do not come through the gate are refused: a
// local process (curl), and in the page an <img>, a <form> post, and a
// fetch from a fresh iframe realm the bridge never patched.
func TestAPI_UnsealedRequestsRefused(t *testing.T) {
	p, ctx, seen := apiApp(t)
	for _, method := range []string{"GET", "DELETE", "POST"} {
		req, _ := http.NewRequest(method, p.Origin+"api/notes/1", strings.NewReader(`{"text":"x"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Isogate-Code") != "denied" {
			t.Fatalf("curl -X %s: %d %s", method, resp.StatusCode, b)
		}
	}
	out := eval[map[string]int](t, ctx, `(async () => {
	  const img = await new Promise((resolve) => {
	    const i = new Image(); i.onload = () => resolve(1); i.onerror = () => resolve(0); i.src = '/api/notes/1.png';
	  });
	  const realm = document.createElement('iframe');
	  document.body.appendChild(realm);
	  const raw = await realm.contentWindow.fetch('/api/notes', {method: 'POST', body: '{"text":"around"}'}).then((r) => r.status, () => -1);
	  const rawGet = await realm.contentWindow.fetch('/api/notes').then((r) => r.status, () => -1);
	  return {img, raw, rawGet};
	})()`)
	if out["img"] != 0 || out["raw"] != 403 || out["rawGet"] != 403 {
		t.Fatalf("unsealed requests from the page: %v, want the image to fail and both fetches 403", out)
	}
	// A <form> post navigates: it lands on the refusal.
	code := eval[string](t, ctx, `new Promise((resolve) => {
	  const f = document.createElement('iframe'); f.name = 'sink'; document.body.appendChild(f);
	  f.onload = () => resolve(f.contentDocument ? f.contentDocument.body.innerText : 'opaque');
	  const form = document.createElement('form'); form.method = 'POST'; form.action = '/api/notes'; form.target = 'sink';
	  const i = document.createElement('input'); i.name = 'text'; i.value = 'form'; form.appendChild(i);
	  document.body.appendChild(form); form.submit();
	})`)
	if !strings.Contains(code, `"denied"`) {
		t.Fatalf("a <form> post to the API: %q, want the problem body", code)
	}
	// A service worker's own fetches never pass the bridge.
	sw := eval[[]int](t, ctx, `(async () => {
	  const reg = await navigator.serviceWorker.register('/sw.js');
	  const worker = reg.active || await new Promise((resolve) => {
	    const w = reg.installing || reg.waiting;
	    w.addEventListener('statechange', () => { if (w.state === 'activated') resolve(w); });
	  });
	  const ask = (method) => new Promise((resolve) => {
	    navigator.serviceWorker.addEventListener('message', (e) => resolve(e.data), {once: true});
	    worker.postMessage(method);
	  });
	  return [await ask('GET'), await ask('POST')];
	})()`)
	if len(sw) != 2 || sw[0] != 403 || sw[1] != 403 {
		t.Fatalf("a service worker's fetches to the API: %v, want 403 and 403", sw)
	}
	for _, r := range seen() {
		if r.Method != "GET" || !strings.HasPrefix(r.Target, "/api/notes") {
			t.Fatalf("an unsealed request reached the API server: %+v", r)
		}
	}
	if len(seen()) != 0 {
		t.Fatalf("unsealed requests reached the API server: %+v", seen())
	}
}

// The same gated calls in the desktop window, real WebKitGTK under Xvfb:
// the page reports what it got as a note through the gate itself.
func TestDesktop_APIThroughTheGateInWebKitGTK(t *testing.T) {
	requireDisplay(t)
	p, seen := startAPIApp(t, true)
	var report struct {
		Get, GetNotes, Post, Del, AxiosDel int
		GetHeader, PostText, DelCode       string
		DelBody, Cookie, Error             string
		Schema                             int
		SchemaBody                         string
		Big                                int
		BigInOrder                         bool
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(p.decisionLog)
			t.Logf("API server saw: %+v\ndecisions:\n%s\nstderr:\n%s", seen(), b, p.stderr.String())
		}
	})
	eventually(t, "the window's report", func() bool {
		for _, r := range seen() {
			var note struct {
				Text   string
				Report json.RawMessage
			}
			if r.Method == "POST" && json.Unmarshal([]byte(r.Body), &note) == nil && note.Text == "report" {
				return json.Unmarshal(note.Report, &report) == nil
			}
		}
		return false
	})
	if report.Error != "" {
		t.Fatalf("the page failed: %s", report.Error)
	}
	if report.Get != 200 || report.GetHeader != "notes" || report.GetNotes < 1 || report.Post != 201 || report.PostText != "from webkit" {
		t.Fatalf("allowed calls in WebKitGTK: %+v", report)
	}
	if report.Del != 403 || report.DelCode != "denied" || !strings.Contains(report.DelBody, "notes cannot be deleted") || report.AxiosDel != 403 {
		t.Fatalf("denied DELETE in WebKitGTK: %+v", report)
	}
	if report.Schema != 400 || !strings.Contains(report.SchemaBody, `"invalid_args"`) || !strings.Contains(report.SchemaBody, "request body") {
		t.Fatalf("a body breaking the OpenAPI schema in WebKitGTK: %d %s, want 400 invalid_args", report.Schema, report.SchemaBody)
	}
	if strings.Contains(report.Cookie, "s3cret") {
		t.Fatalf("the API's cookie is visible to the page: %q", report.Cookie)
	}
	if report.Big != 3<<20+5 || !report.BigInOrder {
		t.Fatalf("a streamed 3 MiB body in WebKitGTK: %d bytes, in order %v", report.Big, report.BigInOrder)
	}
	for _, r := range seen() {
		if r.Method == "DELETE" || strings.Contains(r.Body, `"text": 7`) {
			t.Fatalf("a denied DELETE or a body breaking the schema reached the API server: %+v", r)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("isogate exited %d on SIGTERM", code)
	}
}

// What apps rely on besides a plain call: redirects followed as new gated
// requests, AbortSignal, XHR responseType, sendBeacon; and what cannot go
// through the gate says so (synchronous XHR, a WebSocket to the API).
func TestAPI_RedirectsAbortResponseTypesBeacon(t *testing.T) {
	_, ctx, seen := apiApp(t)
	out := eval[map[string]any](t, ctx, `(async () => {
	  const o = {};
	  const r = await fetch('/api/notes/old');
	  o.redirect = r.status + ' ' + (await r.json()).notes.length + ' ' + r.redirected + ' ' + new URL(r.url).search;
	  o.redirectError = await fetch('/api/notes/old', {redirect: 'error'}).then((r) => 'resolved ' + r.status, (e) => e.name);
	  o.redirectManual = await fetch('/api/notes/old', {redirect: 'manual'}).then(
	    (r) => [r.type, r.status, r.ok, r.headers.get('location'), r.body, new URL(r.url).pathname, r.clone().type].join(' '), (e) => e.name);
	  o.xhrRedirect = await new Promise((resolve) => {
	    const x = new XMLHttpRequest();
	    x.open('GET', '/api/notes/old');
	    x.onload = () => resolve(x.status + ' ' + new URL(x.responseURL).search + ' ' + JSON.parse(x.responseText).notes.length);
	    x.onerror = () => resolve('error');
	    x.send();
	  });
	  o.axiosRedirect = await axios.get('/api/notes/old').then((r) => r.status + ' ' + r.data.notes.length, (e) => 'rejected ' + e.message);
	  const c = new AbortController();
	  const slow = fetch('/api/notes/slow', {signal: c.signal});
	  c.abort();
	  o.abort = await slow.then(() => 'resolved', (e) => e.name);
	  o.preAborted = await fetch('/api/notes', {signal: AbortSignal.abort()}).then(() => 'resolved', (e) => e.name);
	  const xhr = (type) => new Promise((resolve) => {
	    const x = new XMLHttpRequest();
	    x.open('GET', '/api/notes/bytes');
	    x.responseType = type;
	    x.onload = () => resolve(x.response);
	    x.onerror = () => resolve('error');
	    x.send();
	  });
	  const xhrAt = (path, type) => new Promise((resolve) => {
	    const x = new XMLHttpRequest();
	    x.open('GET', path);
	    x.responseType = type;
	    x.onload = () => resolve(x);
	    x.onerror = () => resolve(null);
	    x.send();
	  });
	  const page = await xhrAt('/api/notes/page', 'document');
	  o.document = page.response.getElementById('n').textContent + ' ' + (page.responseXML === page.response);
	  const feed = await xhrAt('/api/notes/feed', '');
	  o.responseXML = feed.responseXML.documentElement.tagName + ' ' + feed.responseXML.getElementsByTagName('note')[0].textContent;
	  o.htmlNotXML = String((await xhrAt('/api/notes/page', '')).responseXML);
	  // XHR decodes text by its charset; fetch's text() is always UTF-8.
	  o.charset = (await xhrAt('/api/notes/latin', '')).responseText + ' ' + (await (await fetch('/api/notes/latin')).text()).length;
	  o.bom = (await xhrAt('/api/notes/bom', '')).responseText;
	  const overridden = (path, mime) => new Promise((resolve) => {
	    const x = new XMLHttpRequest();
	    x.overrideMimeType(mime);
	    x.open('GET', path);
	    x.onload = () => resolve(x.responseText);
	    x.send();
	  });
	  const ud = await overridden('/api/notes/bytes', 'text/plain; charset=x-user-defined'); // the old way to read bytes as text
	  o.overrideMimeType = (await overridden('/api/notes/latin', 'text/plain; charset=utf-8')).charCodeAt(3) + ' ' + ud.length + ' ' + (ud.charCodeAt(255) & 0xff);
	  o.fragment = (await fetch('/api/notes#top')).url.includes('#') + ' ' + (await xhrAt('/api/notes#top', '')).responseURL.includes('#');
	  const ab = await xhr('arraybuffer');
	  o.arraybuffer = ab instanceof ArrayBuffer ? new Uint8Array(ab)[255] : String(ab);
	  const blob = await xhr('blob');
	  o.blob = blob instanceof Blob ? blob.size + ' ' + blob.type : String(blob);
	  const js = await new Promise((resolve) => {
	    const x = new XMLHttpRequest(); x.open('GET', '/api/notes'); x.responseType = 'json';
	    x.onreadystatechange = () => { if (x.readyState === 4) resolve(x.status + ' ' + x.response.notes.length + ' ' + x.getResponseHeader('X-Api')); };
	    x.send();
	  });
	  o.json = js;
	  try { const x = new XMLHttpRequest(); x.open('GET', '/api/notes', false); x.send(); o.sync = 'sent ' + x.status; } catch (e) { o.sync = e.name; }
	  try { new WebSocket('ws://' + location.host + '/api/notes'); o.ws = 'opened'; } catch (e) { o.ws = e.name; }
	  try { new EventSource('/api/notes'); o.es = 'opened'; } catch (e) { o.es = e.name; }
	  const fd = new FormData(); fd.append('text', 'from a form');
	  o.bodies = (await Promise.all([
	    fetch('/api/notes', {method: 'POST', body: fd}),
	    fetch('/api/notes', {method: 'POST', body: new URLSearchParams({text: 'from params'})}),
	    fetch('/api/notes', {method: 'POST', headers: {'content-type': 'application/json'}, body: new TextEncoder().encode(JSON.stringify({text: 'from bytes'}))}),
	  ])).map((r) => r.status).join(' ');
	  const other = new Request('/not-api.txt', {method: 'POST', body: 'x'});
	  o.passthrough = await fetch(other).then((r) => r.status, (e) => e.name);
	  const ups = [];
	  await axios.post('/api/notes', {text: 'with progress'}, {onUploadProgress: (e) => ups.push(e.loaded + '/' + e.total)});
	  o.upload = ups.join(' ');
	  // The notes server echoes the Cookie it got; its sid is in the core's jar by now.
	  o.omit = (await (await fetch('/api/notes', {credentials: 'omit'})).json()).cookie;
	  o.cookie = (await (await fetch('/api/notes')).json()).cookie;
	  o.beacon = navigator.sendBeacon('/api/notes', new Blob([JSON.stringify({text: 'beacon'})], {type: 'application/json'}));
	  return o;
	})()`)
	want := map[string]any{
		"redirect":         "200 1 true ?from=old",
		"redirectError":    "TypeError",
		"redirectManual":   "opaqueredirect 0 false   /api/notes/old opaqueredirect", // no Location, null body
		"charset":          "café 4",
		"bom":              "café",
		"overrideMimeType": "65533 256 255",
		"fragment":         "false false",
		"xhrRedirect":      "200 ?from=old 1",
		"axiosRedirect":    "200 1",
		"upload":           "24/24", // {"text":"with progress"}
		"abort":            "AbortError",
		"preAborted":       "AbortError",
		"omit":             "",
		"cookie":           "sid=s3cret-session",
		"document":         "1 note true",
		"responseXML":      "notes first",
		"htmlNotXML":       "null",
		"arraybuffer":      float64(255),
		"blob":             "256 application/octet-stream",
		"json":             "200 1 notes",
		"sync":             "InvalidAccessError",
		"ws":               "SecurityError",
		"es":               "SecurityError",
		// A form and URL parameters: not a media type the OpenAPI document
		// has; bytes of JSON: carried as they are.
		"bodies": "400 400 201",
		"beacon": true,
		// A POST outside the API goes to the browser's own fetch, body
		// intact, and is refused unsealed.
		"passthrough": float64(403),
	}
	if len(want) != len(out) {
		t.Errorf("%d results, %d expected: %v", len(out), len(want), out)
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %v, want %v", k, out[k], v)
		}
	}
	for _, r := range seen() {
		if strings.Contains(r.Body, "from a form") || strings.Contains(r.Body, "from params") {
			t.Errorf("a body the OpenAPI document has no media type for reached the server: %+v", r)
		}
	}
	eventually(t, "the bytes body to reach the server", func() bool {
		for _, r := range seen() {
			if r.Method == "POST" && strings.Contains(r.Body, `"from bytes"`) {
				return true
			}
		}
		return false
	})
	eventually(t, "the beacon to reach the server", func() bool {
		for _, r := range seen() {
			if r.Method == "POST" && strings.Contains(r.Body, "beacon") {
				return true
			}
		}
		return false
	})
	// A fetch aborted once its request has reached the server: the core
	// cancels the request upstream, long before the call timeout (30 s), and
	// the server sees the connection go.
	eval[bool](t, ctx, `(() => { window.slowAC = new AbortController(); window.slow = fetch('/api/notes/slow?late', {signal: slowAC.signal}).then(() => 'resolved', (e) => e.name); return true; })()`)
	eventually(t, "the slow request to reach the server", func() bool {
		for _, r := range seen() {
			if r.Target == "/api/notes/slow?late" {
				return true
			}
		}
		return false
	})
	if got := eval[string](t, ctx, `(slowAC.abort(), slow)`); got != "AbortError" {
		t.Fatalf("a fetch aborted in flight settled %q, want AbortError", got)
	}
	eventually(t, "the aborted request to be cancelled upstream", func() bool {
		for _, r := range seen() {
			if r.Method == "GONE" {
				return true
			}
		}
		return false
	})
	redirected := false
	for _, r := range seen() {
		if r.Target == "/api/notes?from=old" {
			redirected = true
		}
	}
	if !redirected {
		t.Fatalf("the redirect was not followed as a gated request: %+v", seen())
	}
}

// A redirect changes the method as fetch's own rule says: a 303 keeps a
// HEAD a HEAD and turns a PUT into a GET, which goes without the body and
// without the headers that describe it (Content-Type, Content-Language),
// and with the others.
func TestAPI_RedirectsChangeTheMethodAsFetchDoes(t *testing.T) {
	_, ctx, seen := apiApp(t)
	out := eval[map[string]string](t, ctx, `(async () => {
	  const head = await fetch('/api/moved', {method: 'HEAD'});
	  const put = await fetch('/api/moved', {method: 'PUT', body: '{"text":"moved"}',
	    headers: {'content-type': 'application/json', 'content-language': 'fr', 'x-keep': 'yes'}});
	  return {head: head.status + ' ' + head.redirected + ' ' + head.headers.get('x-api'),
	    put: put.status + ' ' + put.redirected + ' ' + (await put.json()).notes.length};
	})()`)
	if out["head"] != "200 true notes" || out["put"] != "200 true 1" {
		t.Fatalf("redirected HEAD and PUT: %v, want 200 and redirected for both", out)
	}
	var got []string
	for _, r := range seen() {
		if strings.Contains(r.Target, "moved") {
			got = append(got, r.Method+" "+r.Target)
		}
		if r.Method == "GET" && r.Target == "/api/notes?from=moved" {
			if r.Body != "" || r.Headers["Content-Type"] != "" || r.Headers["Content-Language"] != "" || r.Headers["X-Keep"] != "yes" {
				t.Errorf("the GET after the PUT's 303 has body %q and headers %v: want no body, no Content-Type or Content-Language, X-Keep kept", r.Body, r.Headers)
			}
		}
	}
	want := []string{"HEAD /api/moved", "HEAD /api/notes?from=moved", "PUT /api/moved", "GET /api/notes?from=moved"}
	if !slices.Equal(got, want) {
		t.Fatalf("requests the API server got: %q, want %q", got, want)
	}
}

// A redirect to another origin leaves the gate for the browser's own fetch
// as the page's request: with its mode (no-cors gives an opaque response;
// before, the hop went as cors and failed), and a same-origin request
// fails there, as fetch says, instead of following. An XHR response with
// no Content-Type is read as XML, as XHR's own is.
func TestAPI_CrossOriginRedirectKeepsTheRequestsMode(t *testing.T) {
	_, ctx, seen := apiApp(t)
	out := eval[map[string]string](t, ctx, `(async () => {
	  const o = {};
	  o.noCors = await fetch('/api/notes/away', {mode: 'no-cors'}).then((r) => r.type + ' ' + r.status, (e) => 'rejected ' + e.message);
	  o.sameOrigin = await fetch('/api/notes/away', {mode: 'same-origin'}).then((r) => 'resolved ' + r.status, (e) => e.name + ' ' + e.message);
	  o.bare = await new Promise((resolve) => {
	    const x = new XMLHttpRequest();
	    x.open('GET', '/api/notes/bare');
	    x.onload = () => resolve(x.responseXML ? x.responseXML.documentElement.textContent : 'no document');
	    x.onerror = () => resolve('error');
	    x.send();
	  });
	  return o;
	})()`)
	if out["noCors"] != "opaque 0" {
		t.Errorf("a no-cors fetch redirected to another origin: %q, want an opaque response", out["noCors"])
	}
	if !strings.HasPrefix(out["sameOrigin"], "TypeError ") || !strings.Contains(out["sameOrigin"], `mode is "same-origin"`) {
		t.Errorf("a same-origin fetch redirected to another origin: %q, want the TypeError naming its mode", out["sameOrigin"])
	}
	if out["bare"] != "bare" {
		t.Errorf("XHR responseXML of XML with no Content-Type: %q, want the document", out["bare"])
	}
	// The no-cors hop reached the other origin; the same-origin one did not.
	away := 0
	for _, r := range seen() {
		if r.Target == "/api/notes?from=away" {
			away++
		}
	}
	if away != 1 {
		t.Fatalf("the other origin got %d requests for ?from=away, want 1 (the no-cors fetch's)", away)
	}
}

// The demo's HTTP panel: its own API mounted in process under /api; the
// allowed GET answers, the DELETE the policy denies comes back as 403 with
// the reason.
func TestDemo_HTTPPanel(t *testing.T) {
	p := startLogged(t, "demo", "--browser")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	out := eval[[]string](t, ctx, `(async () => {
	  const got = [];
	  for (const id of ['api-get', 'api-delete']) {
	    document.getElementById(id).click();
	    await new Promise((resolve) => {
	      const o = document.getElementById('api-out');
	      const seen = o.textContent;
	      const poll = () => (o.textContent !== seen && o.textContent !== '' ? resolve() : setTimeout(poll, 20));
	      poll();
	    });
	    got.push(document.getElementById('api-out').textContent);
	  }
	  return got;
	})()`)
	if len(out) != 2 || !strings.HasPrefix(out[0], "GET /api/status → 200") || !strings.Contains(out[0], "uptime_s") ||
		!strings.Contains(out[1], "→ 403 (denied)") || !strings.Contains(out[1], "the demo's API is read-only") {
		t.Fatalf("HTTP panel: %q", out)
	}
	if n := p.decisions(t, "DELETE /api/notes/todo.txt"); n != 1 {
		t.Fatalf("%d decisions for the panel's DELETE, want 1", n)
	}
}

// The reproduction: a dev server that serves the page and its own
// /api. Wrapped with --api /api (the dev server itself), the page's fetch
// goes through the gate to it, and a local process's curl -X DELETE, which
// answered 204 before, gets 403 and never reaches it.
func TestAPI_DevServerServesItsOwnAPI(t *testing.T) {
	port, logPath := notesServer(t, t.TempDir())
	p := startLogged(t, "run", "--browser", "--app", "http://127.0.0.1:"+string(port), "--policy", "testdata/api/policy", "--api", "/api")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	got := eval[fetched](t, ctx, `fetch('/api/notes').then(async (r) => ({Status: r.status, Body: await r.text()}))`)
	if got.Status != 200 || !strings.Contains(got.Body, `"first"`) {
		t.Fatalf("gated GET to the dev server's own API: %+v", got)
	}
	req, _ := http.NewRequest("DELETE", p.Origin+"api/notes/1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("curl -X DELETE: %d, want 403", resp.StatusCode)
	}
	b, _ := os.ReadFile(logPath)
	if strings.Contains(string(b), `"DELETE"`) {
		t.Fatalf("the DELETE reached the dev server:\n%s", b)
	}
	if n := p.decisions(t, "DELETE /api/notes/1"); n != 1 {
		t.Fatalf("%d decisions for the unsealed DELETE, want 1", n)
	}
}

// A body longer than one chunk (1 MiB) is streamed: fetch's body is a
// ReadableStream that gets the bytes in order, in more than one piece;
// axios (XHR) gets progress events as they come and the whole body at
// load; aborting a fetch while its body streams fails the body's read,
// and the next request goes through.
func TestAPI_LongBodiesStream(t *testing.T) {
	_, ctx, _ := apiApp(t)
	out := eval[map[string]any](t, ctx, `(async () => {
	  const o = {};
	  const inOrder = (b, from) => b.every((x, i) => x === (from + i) % 251);
	  const r = await fetch('/api/notes/big');
	  const reader = r.body.getReader();
	  let n = 0, pieces = 0, ordered = true;
	  for (;;) {
	    const {done, value} = await reader.read();
	    if (done) break;
	    ordered = ordered && inOrder(value, n);
	    n += value.byteLength;
	    pieces++;
	  }
	  o.fetch = n + ' ' + (pieces > 1) + ' ' + ordered;
	  let progress = 0;
	  const a = await axios.get('/api/notes/big', {responseType: 'arraybuffer', onDownloadProgress: () => progress++});
	  o.axios = a.data.byteLength + ' ' + (progress > 1) + ' ' + inOrder(new Uint8Array(a.data), 0);
	  const c = new AbortController();
	  const r2 = await fetch('/api/notes/big', {signal: c.signal});
	  const rd = r2.body.getReader();
	  await rd.read();
	  c.abort();
	  o.aborted = await rd.read().then(() => 'read', (e) => e.name);
	  o.after = (await fetch('/api/notes')).status;
	  return o;
	})()`)
	want := map[string]any{"fetch": "3145733 true true", "axios": "3145733 true true", "aborted": "AbortError", "after": float64(200)}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %v, want %v", k, out[k], v)
		}
	}
}

// TestAPI_RefusalsLookLikeHTTP: every way the gate refuses a request
// answers the page with the HTTP status for its code, the code in
// X-Isogate-Code and a problem+json body, for fetch and for axios (XHR):
// a body over the size limit (413), a call over its timeout (504), an
// upstream that is not there (502) and a flood over the rate limit (429).
func TestAPI_RefusalsLookLikeHTTP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now: connections are refused
	_, ctx, _ := apiApp(t, "--max-binary-bytes", "4096", "--call-timeout", "2s", "--rate", "40", "--burst", "40",
		"--api", "/api/notes/dead=http://"+dead)
	out := eval[map[string]string](t, ctx, `(async () => {
	  const o = {};
	  const shape = async (r) => {
	    const p = await r.json();
	    return r.status + ' ' + r.headers.get('x-isogate-code') + ' ' + r.headers.get('content-type') + ' ' + p.code + ' ' + p.status;
	  };
	  o.tooLarge = await shape(await fetch('/api/notes', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({text: 'x'.repeat(8192)})}));
	  o.timeout = await shape(await fetch('/api/notes/slow'));
	  o.unavailable = await shape(await fetch('/api/notes/dead'));
	  o.axiosUnavailable = await axios.get('/api/notes/dead').then((r) => 'resolved ' + r.status, (e) => e.response.status + ' ' + e.response.headers['x-isogate-code']);
	  const all = await Promise.all(Array.from({length: 200}, () => fetch('/api/notes')));
	  const limited = all.filter((r) => r.status === 429);
	  o.rateLimited = limited.length ? await shape(limited[0]) : 'none of ' + all.length;
	  return o;
	})()`)
	const problem = "application/problem+json"
	want := map[string]string{
		"tooLarge":         "413 too_large " + problem + " too_large 413",
		"timeout":          "504 timeout " + problem + " timeout 504",
		"unavailable":      "502 unavailable " + problem + " unavailable 502",
		"axiosUnavailable": "502 unavailable",
		"rateLimited":      "429 rate_limited " + problem + " rate_limited 429",
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %q, want %q", k, out[k], v)
		}
	}
}
