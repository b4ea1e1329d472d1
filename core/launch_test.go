package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/isogate/isogate/codes"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/internal/frameclient"
	"github.com/isogate/isogate/policy"
)

// These tests attack the app origin as a local process and as another site
// would: nothing that isogate did not launch gets a session.

// noRedirect is a client with its own cookie jar that shows redirects
// instead of following them.
func noRedirect() *http.Client {
	c := frameclient.NewBrowser()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func do(t *testing.T, client *http.Client, method, u string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// listen sends a listen for event and fails the test unless it is allowed.
func (f *fakeFrame) listen(c *websocket.Conn, id int, event string) {
	f.t.Helper()
	f.send(c, frameclient.Listen(id, event))
	if r, err := f.recv(c); err != nil || !r.OK || r.ID != id {
		f.t.Fatalf("listen %s: %+v %v", event, r, err)
	}
}

// hasSession reports whether a response body hands out a session.
func hasSession(body string) bool {
	return strings.Contains(body, "data-isogate-frame") || strings.Contains(body, "/frame/")
}

func TestLaunch_LocalProcessWithoutTheTokenGetsNoSession(t *testing.T) {
	h := newHarness(t, Limits{})
	other := newHarness(t, Limits{}) // another run: its token is stale here
	otherToken := strings.TrimPrefix(other.c.URL(), other.c.Origin()+"/?token=")
	origin := h.c.Origin()
	stranger := frameclient.NewBrowser() // a plain HTTP client, or a second browser profile
	for name, r := range map[string]struct {
		method, path string
		header       map[string]string
	}{
		"bare app URL":        {"GET", "/", nil},
		"a client route":      {"GET", "/notes/1", nil},
		"the page by name":    {"GET", "/index.html", nil},
		"as a navigation":     {"GET", "/", map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"}},
		"new frame endpoint":  {"POST", "/__isogate/frame", map[string]string{"X-Isogate": "1"}},
		"guessed token":       {"GET", "/?token=" + strings.Repeat("A", 43), nil},
		"empty token":         {"GET", "/?token=", nil},
		"another run's token": {"GET", "/?token=" + otherToken, nil},
		"a forged cookie":     {"GET", "/", map[string]string{"Cookie": h.c.windows[0].cookie + "=" + strings.Repeat("A", 43)}},
	} {
		resp, body := do(t, stranger, r.method, origin+r.path, r.header)
		if resp.StatusCode != http.StatusForbidden || hasSession(body) {
			t.Errorf("%s: %d, session handed out: %v", name, resp.StatusCode, hasSession(body))
		}
		if name == "bare app URL" && !strings.Contains(body, "Open the URL isogate printed") {
			t.Errorf("the 403 page does not say what to do: %q", body)
		}
	}
	if n := len(h.c.sessions.all()); n != 0 {
		t.Fatalf("%d sessions minted for requests without the token", n)
	}
}

func TestLaunch_TokenStartsOneBrowserOnceAndTheCookieDoesTheRest(t *testing.T) {
	h := newHarness(t, Limits{})
	launched := noRedirect()
	resp, _ := do(t, launched, "GET", h.c.URL(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("first navigation: %d to %q, want 303 to / (the token out of the URL)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, cookiePrefix) {
			ck = c
		}
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(h.c.Origin(), "http://"), ":")
	switch {
	case ck == nil:
		t.Fatal("no launch cookie")
	case ck.Name != cookiePrefix+port || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/":
		t.Fatalf("launch cookie %s: want %s%s, HttpOnly, SameSite=Strict, Path=/", ck.String(), cookiePrefix, port)
	case strings.Contains(h.c.URL(), ck.Value):
		t.Fatal("the cookie is the token")
	}
	for _, path := range []string{"/", "/notes/1", "/?token=" + strings.TrimPrefix(h.c.URL(), h.c.Origin()+"/?token=")} {
		resp, body := do(t, launched, "GET", h.c.Origin()+path, nil)
		if path == "/" || path == "/notes/1" {
			if resp.StatusCode != http.StatusOK || !hasSession(body) {
				t.Errorf("launched browser, %s: %d, session %v", path, resp.StatusCode, hasSession(body))
			}
		} else if resp.StatusCode != http.StatusSeeOther { // the spent token again, with the cookie: just out of the URL
			t.Errorf("launched browser with the spent token: %d", resp.StatusCode)
		}
	}
	// The same URL in a second profile: the token is spent.
	resp, body := do(t, frameclient.NewBrowser(), "GET", h.c.URL(), nil)
	if resp.StatusCode != http.StatusForbidden || hasSession(body) || !strings.Contains(body, "already used") {
		t.Fatalf("spent token in another profile: %d %q", resp.StatusCode, body)
	}
}

// Another site's pages cannot carry a SameSite=Strict cookie, so its
// requests get 403. Even one that did carry it (a browser that ignored
// SameSite), marked cross-site or not a navigation by Fetch Metadata, gets
// the page without a session; and a flood of sessions that never connect
// evicts the oldest of them, so a real new tab still starts.
func TestLaunch_FloodFromAnotherSiteLeavesANewTabWorking(t *testing.T) {
	h := newHarness(t, Limits{MaxSessions: 16})
	httpGet(t, h.c.URL())
	before := len(h.c.sessions.all())
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
		{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
		{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"}, // another 127.0.0.1 port
		{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"},   // the app fetching a template
	} {
		for i := 0; i < 64; i++ {
			resp, body := do(t, frameclient.Browser, "GET", h.c.Origin()+"/", hdr)
			if hasSession(body) {
				t.Fatalf("%v: a session for a request that cannot be the user's page (%d)", hdr, resp.StatusCode)
			}
		}
	}
	if n := len(h.c.sessions.all()) - before; n != 0 {
		t.Fatalf("%d sessions minted by the flood", n)
	}
	for i := 0; i < 200; i++ { // page loads that never start their iframe
		do(t, frameclient.Browser, "GET", h.c.Origin()+"/", map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"})
	}
	if n := len(h.c.sessions.all()); n > 16 {
		t.Fatalf("%d sessions live, more than MaxSessions", n)
	}
	f, _ := h.pageLoad(t)
	if r := f.call(f.connect(), 1, "t.echo", `{"msg":"still here"}`); !r.OK {
		t.Fatalf("a new tab after the flood: %s", r.Code())
	}
}

func TestLaunch_OneWindowsCookieDoesNotOpenAnother(t *testing.T) {
	h := newHarness(t, Limits{})
	httpGet(t, h.c.URL()) // the main window's cookie only
	editor, err := h.c.OpenWindow("editor")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(editor)
	resp, body := do(t, frameclient.Browser, "GET", "http://"+u.Host+"/", nil)
	if resp.StatusCode != http.StatusForbidden || hasSession(body) {
		t.Fatalf("the main window's cookie opened the editor window: %d", resp.StatusCode)
	}
	if _, err := h.c.OpenWindow("editor"); err == nil {
		t.Fatal("a second window with a taken label")
	}
	if _, err := h.c.OpenWindow("../main"); err == nil {
		t.Fatal("a label outside the pattern")
	}
}

// The dev server sees the app's requests with the app's cookies and never
// the launch cookie or token.
func TestLaunch_DevServerNeverSeesTheLaunchCookieOrToken(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	dev := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String()+" "+strings.Join(r.Header.Values("Cookie"), "|"))
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, "1")
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><title>dev</title>")
	}))
	defer dev.Close()
	devURL, _ := url.Parse(dev.URL)
	h := newHarnessWith(t, func(c *Config) { c.App, c.AppURL = nil, devURL })
	browser := frameclient.NewBrowser()
	if _, body, _ := frameclient.GetWith(browser, h.c.URL()); !hasSession(body) {
		t.Fatal("the launched page through the dev server has no session")
	}
	o, _ := url.Parse(h.c.Origin())
	browser.Jar.SetCookies(o, []*http.Cookie{{Name: "app", Value: "mine"}, {Name: cookiePrefix + "1", Value: "another isogate's"}})
	frameclient.GetWith(browser, h.c.Origin()+"/main.js?token=app-own-param")
	frameclient.GetWith(browser, h.c.Origin()+"/")
	mu.Lock()
	defer mu.Unlock()
	token := strings.TrimPrefix(h.c.URL(), h.c.Origin()+"/?token=")
	if len(seen) != 3 {
		t.Fatalf("dev server saw %d requests, want 3: %q", len(seen), seen)
	}
	for _, line := range seen {
		if strings.Contains(line, cookiePrefix) || strings.Contains(line, token) || strings.Contains(line, h.c.windows[0].value) {
			t.Errorf("the dev server saw isogate's launch secret: %q", line)
		}
	}
	if !strings.Contains(seen[1], "app=mine") || !strings.Contains(seen[1], "token=app-own-param") {
		t.Errorf("the app's own cookie or query did not reach the dev server: %q", seen[1])
	}
}

// Two windows: the policy sees each page's label, allows a command in one
// and denies it in the other, the decision log records the label, and
// EmitTo reaches only its window.
func TestWindows_LabelsDecideLogAndAddressEvents(t *testing.T) {
	var buf lockedBuffer
	h := newHarnessWith(t, func(c *Config) { c.DecisionLog = policy.NewDecisionLog(&buf) })
	editorURL, err := h.c.OpenWindow("editor")
	if err != nil {
		t.Fatal(err)
	}
	main, _ := h.pageLoad(t)
	ef, err := frameclient.Load(editorURL)
	if err != nil {
		t.Fatal(err)
	}
	editor := &fakeFrame{Frame: ef, t: t}
	mc, ec := main.connect(), editor.connect()

	if r := main.call(mc, 1, "t.mainonly", `{}`); !r.OK || !strings.Contains(string(r.Result), `"window":"main"`) {
		t.Fatalf("t.mainonly in main: ok=%v %s %s", r.OK, r.Code(), r.Result)
	}
	if r := editor.call(ec, 1, "t.mainonly", `{}`); r.Code() != codes.Denied {
		t.Fatalf("t.mainonly in editor: %q, want denied", r.Code())
	}
	main.listen(mc, 3, "t.note")
	editor.listen(ec, 3, "t.note")
	if n := h.c.EmitTo("editor", "t.note", "for the editor"); n != 1 {
		t.Fatalf("EmitTo(editor) reached %d pages, want 1", n)
	}
	if r, err := editor.recv(ec); err != nil || r.Type != "event" || string(r.Payload) != `"for the editor"` {
		t.Fatalf("editor did not get its event: %+v %v", r, err)
	}
	// main gets nothing: the next thing it sees is the reply to its own call.
	if r := main.call(mc, 4, "t.echo", `{"msg":"next"}`); !r.OK {
		t.Fatalf("main's next call: %s", r.Code())
	}

	labels := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var d struct {
			Input struct{ Name, Window string }
		}
		if json.Unmarshal([]byte(line), &d) == nil && d.Input.Name == "t.mainonly" {
			labels[d.Input.Window] = true
		}
	}
	if !labels["main"] || !labels["editor"] {
		t.Fatalf("decision log labels %v, want main and editor", labels)
	}
}

// A write issued right after a listen, in the same frame, emits an event
// that reaches the page: the listen is in force before the write runs.
func TestListen_EventOfACallRightAfterTheListenArrives(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	for i := 0; i < 200; i++ {
		event := "t.note"
		f.send(c, batchOf(string(frameclient.Listen(2*i+1, event)), string(invoke(2*i+2, "t.emitnote", `{"n":1}`))))
		gotEvent, replies := false, 0
		for replies < 2 || !gotEvent {
			r, err := f.recv(c)
			if err != nil {
				t.Fatalf("round %d: %v (event %v, %d replies)", i, err, gotEvent, replies)
			}
			if r.Type == "event" {
				gotEvent = true
				continue
			}
			replies++
			if r.ID == 2*i+2 && string(r.Result) != "1" {
				t.Fatalf("round %d: t.emitnote reached %s pages, want 1", i, r.Result)
			}
		}
	}
}

// A page that stops reading cannot make the core hold more than
// MaxBufferedBytes for it: its connection is closed instead.
func TestSession_PageNotReadingLosesItsConnection(t *testing.T) {
	h := newHarness(t, Limits{MaxBufferedBytes: 1 << 20})
	f, _ := h.pageLoad(t)
	c := f.connect()
	if r := f.call(c, 1, "t.echo", `{"msg":"x"}`); !r.OK { // so the listen below is answered on a warm connection
		t.Fatal(r.Code())
	}
	f.listen(c, 2, "t.big")
	big := strings.Repeat("x", 256<<10)
	const sent = 256 // 64 MiB if all were held
	for i := 0; i < sent; i++ {
		h.c.Emit("t.big", big)
	}
	got := 0
	for {
		r, err := f.recv(c)
		if err != nil {
			break
		}
		if r.Type == "event" {
			got++
		}
	}
	if got >= sent {
		t.Fatalf("all %d events were held and delivered; want the connection closed past the bound", got)
	}
}

// The redirect that takes the token out of the URL stays on the app origin,
// whatever the path.
func TestLaunch_RedirectStaysOnTheOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"/?token=x":               "/",
		"/notes/1?token=x&a=1":    "/notes/1?a=1",
		"//evil.example/?token=x": "/evil.example/",
		"/\\evil.example?token=x": "/%5Cevil.example", // escaped: no browser reads it as "//"
	} {
		u, _ := url.ParseRequestURI(in) // as the server parses a request line
		if got := withoutToken(u, "x"); got != want {
			t.Errorf("withoutToken(%q) = %q, want %q", in, got, want)
		}
	}
}

// A cookie of the same name set by another 127.0.0.1 page, sent first,
// does not hide the real one.
func TestLaunch_ShadowCookieDoesNotHideTheRealOne(t *testing.T) {
	h := newHarness(t, Limits{})
	httpGet(t, h.c.URL())
	w := h.c.windows[0]
	resp, body := do(t, noRedirect(), "GET", h.c.Origin()+"/", map[string]string{"Cookie": w.cookie + "=bogus; " + w.cookie + "=" + w.value})
	if resp.StatusCode != http.StatusOK || !hasSession(body) {
		t.Fatalf("with a shadowing cookie first: %d", resp.StatusCode)
	}
}

// One session whose page stops reading holds up neither new pages nor
// another session's events.
func TestSession_OnePageNotReadingStallsNoOther(t *testing.T) {
	h := newHarness(t, Limits{MaxSessions: 4})
	stuck, _ := h.pageLoad(t)
	sc := stuck.connect()
	stuck.listen(sc, 1, "t.big")
	big := strings.Repeat("x", 1<<20)
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		for i := 0; i < 32; i++ { // far more than the socket buffers: the writer blocks in Write
			h.c.Emit("t.big", big)
		}
	}()
	<-emitted
	s := h.c.sessions.get(stuck.Session)
	s.qmu.Lock()
	held, writing := s.buffered, s.writing
	s.qmu.Unlock()
	if !writing || held < 16<<20 {
		t.Fatalf("the emitter was held up by the page that does not read (%d bytes queued, writing %v)", held, writing)
	}
	for i := 0; i < 100; i++ { // what eviction, listens and handshakes take is free meanwhile
		if !s.mu.TryLock() {
			t.Fatal("the session's state lock is held across a blocked write")
		}
		s.mu.Unlock()
	}
	for i := 0; i < 6; i++ { // a full table: eviction looks at every session, the stuck one included
		f, _ := h.pageLoad(t)
		if i == 5 {
			if r := f.call(f.connect(), 1, "t.echo", `{"msg":"not held up"}`); !r.OK {
				t.Fatalf("a new page beside a stuck one: %s", r.Code())
			}
		}
	}
}

// fakeUpstream records its lifecycle and what each call carried.
type fakeUpstream struct {
	mu      sync.Mutex
	emit    Emitter
	started bool
	stopped chan struct{}
	health  error
	callers chan Caller
}

func (u *fakeUpstream) Start(_ context.Context, emit Emitter) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.emit, u.started = emit, true
	return nil
}

func (u *fakeUpstream) Health() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.health
}

// Call answers with the number of pages it emitted a note to, addressed to
// the calling session.
func (u *fakeUpstream) Call(ctx context.Context, _ string, _ any) (json.RawMessage, error) {
	c, _ := CallerFrom(ctx)
	u.callers <- c
	u.mu.Lock()
	emit := u.emit
	u.mu.Unlock()
	n := emit(Target{Session: c.Session}, "t.note", c.Session)
	return json.RawMessage(fmt.Sprint(n)), nil
}

func (u *fakeUpstream) Stop() error { close(u.stopped); return nil }

// Serve starts the upstream with the core's emitter before serving, and
// stops it when it ends; a call carries its page as the Caller, and an
// unhealthy upstream is answered unavailable without being called.
func TestUpstream_LifecycleCallerAndHealth(t *testing.T) {
	up := &fakeUpstream{stopped: make(chan struct{}), callers: make(chan Caller, 4)}
	h := newHarnessWith(t, func(c *Config) { c.Upstream = up })
	delete(h.c.handlers, "t.emitnote") // allowed by the test policy, and now served by the upstream
	a, _ := h.pageLoad(t)
	up.mu.Lock()
	started := up.started
	up.mu.Unlock()
	if !started {
		t.Fatal("the upstream was not started before the page was served")
	}
	ac := a.connect()
	a.listen(ac, 1, "t.note")
	a.send(ac, invoke(2, "t.emitnote", `{}`))
	if c := <-up.callers; c.Session != a.Session || c.Window != DefaultWindow {
		t.Fatalf("caller = %+v, want session %s of window main", c, a.Session)
	}
	for got := 0; got < 2; got++ {
		r, err := a.recv(ac)
		if err != nil {
			t.Fatal(err)
		}
		if r.Type == "event" && string(r.Payload) != `"`+a.Session+`"` || r.Type != "event" && string(r.Result) != "1" {
			t.Fatalf("message %+v: want the note to this session, and a reply saying one page got it", r)
		}
	}
	up.mu.Lock()
	up.health = errors.New("down")
	up.mu.Unlock()
	wantCode(t, a.call(ac, 3, "t.emitnote", `{}`), codes.Unavailable)
	select {
	case c := <-up.callers:
		t.Fatalf("an unhealthy upstream was called for %+v", c)
	default:
	}
	h.stop()
	select {
	case <-up.stopped:
	default:
		t.Fatal("Serve ended without stopping the upstream")
	}
}

// Config.MainWindow names the first window: its pages' messages carry that
// label, OpenWindow refuses it as taken, and a label that is not one is
// refused by New.
func TestMainWindow_LabelsTheFirstWindow(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) { c.MainWindow = "editor" })
	if got := h.c.MainWindow(); got != "editor" {
		t.Fatalf("MainWindow() = %q, want editor", got)
	}
	if _, err := h.c.OpenWindow("editor"); err == nil {
		t.Fatal("OpenWindow took the first window's label")
	}
	if _, err := h.c.OpenWindow(DefaultWindow); err != nil {
		t.Fatalf("main is free when the first window is editor: %v", err)
	}
	f, _ := h.pageLoad(t)
	c := f.connect()
	// The policy sees the label: its rule for t.mainonly wants "main".
	if r := f.call(c, 1, "t.mainonly", `{}`); r.Code() != codes.Denied || !strings.Contains(r.Error.Message, "only in the main window") {
		t.Fatalf("t.mainonly in a first window labelled editor: %q %+v, want denied by the window rule", r.Code(), r.Error)
	}
	if r := f.call(c, 2, "t.emitnote", `{}`); !r.OK {
		t.Fatalf("t.emitnote in the first window: %q", r.Code())
	}
	for _, bad := range []string{"no spaces", "../main", strings.Repeat("a", 65)} {
		if _, err := New(Config{App: fstest.MapFS{"index.html": {}}, Policy: policy.Pending("x"), MainWindow: bad}); err == nil {
			t.Errorf("New took the first window's label %q", bad)
		}
	}
}
