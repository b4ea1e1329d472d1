package core

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/codes"

	"github.com/isogate/isogate/httpapi"
	"github.com/isogate/isogate/internal/frameclient"
	"github.com/isogate/isogate/policy"
)

// rawRequest sends a request line exactly as given (no client cleans its
// path), with the launch cookie, and returns the status and body.
func rawRequest(t *testing.T, origin, method, target string) (int, http.Header, string) {
	t.Helper()
	u, _ := url.Parse(origin)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var cookie string
	for _, c := range frameclient.Browser.Jar.Cookies(u) {
		cookie += c.Name + "=" + c.Value + "; "
	}
	io.WriteString(conn, method+" "+target+" HTTP/1.1\r\nHost: "+u.Host+"\r\nCookie: "+cookie+"\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// Requests for the API that did not come sealed are refused, however the
// path is spelled, with problem+json and a decision on record; so is any
// unsealed request with a method that changes things, on any path.
func TestUnsealed_APIAndUnsafeMethodsRefused(t *testing.T) {
	var log strings.Builder
	up, _ := url.Parse("http://127.0.0.1:9")
	h := newHarnessWith(t, func(c *Config) {
		c.API = httpapi.Routes{{Prefix: "/api", URL: up}}
		c.DecisionLog = policy.NewDecisionLog(&log)
	})
	httpGet(t, h.c.URL()) // the launch cookie: the page's own profile
	origin := h.c.Origin()
	refused := []struct{ method, target string }{
		{"GET", "/api/notes"}, {"GET", "/api"}, {"HEAD", "/api/notes"}, {"OPTIONS", "/api/notes"},
		{"DELETE", "/api/notes/1"}, {"POST", "/api/notes"},
		{"GET", "/%61pi/notes"}, {"GET", "/x/../api/notes"}, {"GET", "/./api/notes"}, {"GET", "//api/notes"},
		{"GET", "/API/notes"}, {"GET", "/x\\..\\api/notes"}, {"GET", "/%2561pi/notes"}, {"GET", "/api%2Fnotes"},
		{"GET", "/api;/admin/users"}, {"GET", "/api;x=1/admin"}, {"GET", "/api%3Bx/admin"}, {"GET", "/a;b/../api/x"},
		{"DELETE", "/index.html"}, {"POST", "/"}, {"PUT", "/notes"}, {"PATCH", "/x"},
	}
	for _, r := range refused {
		code, hdr, body := rawRequest(t, origin, r.method, r.target)
		var p httpapi.Problem
		if code != http.StatusForbidden || hdr.Get("X-Isogate-Code") != "denied" || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s: %d %q %q, want 403 problem+json denied", r.method, r.target, code, hdr.Get("Content-Type"), body)
			continue
		}
		if r.method != "HEAD" && (json.Unmarshal([]byte(body), &p) != nil || p.Code != "denied" || p.Status != 403) {
			t.Errorf("%s %s: body %q is not the problem", r.method, r.target, body)
		}
	}
	// Anyone who can reach the port can send these: what is logged of one is
	// bounded, and its query is not logged at all.
	long := "/api/" + strings.Repeat("x", 4000) + "?q=" + strings.Repeat("y", 4000)
	if code, _, _ := rawRequest(t, origin, "GET", long); code != http.StatusForbidden {
		t.Fatalf("a long unsealed request: %d", code)
	}
	refused = append(refused, struct{ method, target string }{"GET", long})
	if strings.Contains(log.String(), "yyyy") || strings.Contains(log.String(), strings.Repeat("x", 300)) {
		t.Fatal("an unsealed request's query, or more than 256 bytes of its path, reached the decision log")
	}
	if n := strings.Count(log.String(), `"reasons":["unsealed: `); n != len(refused) {
		t.Errorf("%d refusals on record, want %d:\n%s", n, len(refused), log.String())
	}
	for _, target := range []string{"/", "/index.html", "/apiary", "/notes/api"} {
		if code, _, body := rawRequest(t, origin, "GET", target); code != http.StatusOK {
			t.Errorf("GET %s: %d %q, want the app", target, code, body)
		}
	}
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

const httpPolicy = `package isogate

allow if {
	input.kind == "http"
	input.attributes.request.http.method in {"GET", "POST"}
	input.parsed_path[0] == "api"
}

deny contains "notes cannot be deleted" if {
	input.kind == "http"
	input.attributes.request.http.method == "DELETE"
}

deny contains "no secrets in notes" if {
	input.kind == "http"
	contains(input.parsed_body.text, "secret")
}

deny contains "nobody signs up as admin" if {
	input.kind == "http"
	"admin" in input.parsed_body.role
}
`

// seen is what the upstream received.
type seen struct {
	method, target string
	header         http.Header
	body           string
}

// httpHarness is a core with /api routed to a real HTTP server that
// records every request and sets a session cookie.
func httpHarness(t *testing.T) (*harness, chan seen) {
	t.Helper()
	got := make(chan seen, 16)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Header.Clone(), string(b)}
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3cret", HttpOnly: true, Path: "/"})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Upstream", "a")
		w.Header().Add("X-Upstream", "b")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"method":%q,"len":%d}`, r.Method, len(b))
	}))
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	p, err := policy.Load(context.Background(), fstest.MapFS{"p.rego": {Data: []byte(httpPolicy)}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, func(c *Config) {
		c.API = httpapi.Routes{{Prefix: "/api", URL: u}}
		c.Policy = p
	})
	return h, got
}

// httpCall sends one sealed http request (body as raw bytes when set) and
// returns the reply's JSON and its blobs.
func httpCall(t *testing.T, f *fakeFrame, c *websocket.Conn, id int, method, path, query string, headers map[string]string, body []byte) (*replyMsg, [][]byte) {
	t.Helper()
	if headers == nil {
		headers = map[string]string{}
	}
	return httpCallArgs(t, f, c, id, method, map[string]any{"path": path, "query": query, "headers": headers, "body": nil}, body)
}

// httpCallArgs is httpCall with the request's args as given.
func httpCallArgs(t *testing.T, f *fakeFrame, c *websocket.Conn, id int, method string, args map[string]any, body []byte) (*replyMsg, [][]byte) {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"type": "invoke", "id": id, "kind": "http", "name": method, "args": args})
	pt := msg
	if body != nil {
		var m map[string]any
		json.Unmarshal(msg, &m)
		m["bin"] = []any{map[string]any{"path": "/body", "len": len(body)}}
		js, _ := json.Marshal(m)
		pt = joinPlaintext(js, [][]byte{body})
	}
	f.send(c, pt)
	_, frame, err := c.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := f.Opener.Open(nil, frame)
	if err != nil {
		t.Fatal(err)
	}
	js, blobs, err := splitPlaintext(plain)
	if err != nil {
		t.Fatal(err)
	}
	var r replyMsg
	if err := json.Unmarshal(js, &r); err != nil || r.ID != id {
		t.Fatalf("reply %s: %v", js, err)
	}
	var bin struct{ Bin []binEntry }
	json.Unmarshal(js, &bin)
	var out [][]byte
	for _, e := range bin.Bin {
		out = append(out, blobs[:e.Len])
		blobs = blobs[e.Len:]
	}
	return &r, out
}

// An allowed GET and a POST with a JSON body reach the upstream byte for
// byte and come back with status, headers and body; the upstream's cookie
// stays in the core's jar and is sent on the next request; a denied DELETE
// never reaches the upstream.
func TestHTTP_GatedRequestsRoundTrip(t *testing.T) {
	h, got := httpHarness(t)
	f, _ := h.pageLoad(t)
	c := f.connect()
	r, blobs := httpCall(t, f, c, 1, "GET", "/api/notes/%C3%A9t%C3%A9", "x=1&y=%20", map[string]string{"Accept": "application/json"}, nil)
	if !r.OK {
		t.Fatalf("GET: %+v", r.Error)
	}
	var res struct {
		Status  int
		Headers [][2]string
	}
	json.Unmarshal(r.Result, &res)
	if res.Status != 201 || len(blobs) != 1 || string(blobs[0]) != `{"method":"GET","len":0}` {
		t.Fatalf("GET result %s, body %q", r.Result, blobs)
	}
	for _, hv := range res.Headers {
		if hv[0] == "set-cookie" {
			t.Fatalf("Set-Cookie reached the page: %v", res.Headers)
		}
	}
	if !strings.Contains(string(r.Result), `["x-upstream","a"],["x-upstream","b"]`) {
		t.Fatalf("repeated headers not kept in order: %s", r.Result)
	}
	s := <-got
	if s.method != "GET" || s.target != "/api/notes/%C3%A9t%C3%A9?x=1&y=%20" || s.header.Get("Accept") != "application/json" {
		t.Fatalf("upstream saw %+v", s)
	}
	r, blobs = httpCall(t, f, c, 2, "POST", "/api/notes", "", map[string]string{"content-type": "application/json"}, []byte(`{"text":"hello"}`))
	if !r.OK || len(blobs) != 1 || string(blobs[0]) != `{"method":"POST","len":16}` {
		t.Fatalf("POST: %+v %q", r, blobs)
	}
	s = <-got
	if s.body != `{"text":"hello"}` || !strings.Contains(s.header.Get("Cookie"), "sid=s3cret") {
		t.Fatalf("upstream saw body %q and cookie %q; want the body and the jar's cookie", s.body, s.header.Get("Cookie"))
	}
	r, _ = httpCall(t, f, c, 3, "DELETE", "/api/notes/1", "", nil, nil)
	wantCode(t, r, codes.Denied)
	r, _ = httpCall(t, f, c, 4, "POST", "/api/notes", "", map[string]string{"content-type": "application/json"}, []byte(`{"text":"my secret"}`))
	wantCode(t, r, codes.Denied)
	select {
	case s := <-got:
		t.Fatalf("a denied request reached the upstream: %+v", s)
	default:
	}
}

// Every ambiguous path, smuggled header and malformed request is refused
// before the policy, and nothing reaches the upstream.
func TestHTTP_AmbiguousPathsAndSmuggledHeadersRefused(t *testing.T) {
	h, got := httpHarness(t)
	f, _ := h.pageLoad(t)
	c := f.connect()
	id := 0
	for _, p := range []string{"/api//notes", "/api/./notes", "/api/../admin", "/api/%2e%2e/x", "/api%2Fx", "/api/%5C", "/api/a;b", "/api/%00",
		"/api/%C0%AF", "/api/%61", "/api/%2f", "/api\\x", "api/x", "/api/%25"} {
		id++
		r, _ := httpCall(t, f, c, id, "GET", p, "", nil, nil)
		wantCode(t, r, codes.InvalidArgs)
	}
	for _, hdr := range []string{"Host", "Transfer-Encoding", "Content-Length", "Connection", "Upgrade", "X-Forwarded-For", "Forwarded", "Cookie", "TE", "Keep-Alive", "Proxy-Authorization"} {
		id++
		r, _ := httpCall(t, f, c, id, "GET", "/api/notes", "", map[string]string{hdr: "x"}, nil)
		wantCode(t, r, codes.InvalidArgs)
	}
	for _, bad := range []map[string]string{{"X-A": "a\r\nHost: evil"}, {"X A": "x"}, {"X-A": "a\x00"}} {
		id++
		r, _ := httpCall(t, f, c, id, "GET", "/api/notes", "", bad, nil)
		wantCode(t, r, codes.InvalidArgs)
	}
	id++
	r, _ := httpCall(t, f, c, id, "GET", "/other", "", nil, nil)
	wantCode(t, r, codes.UnknownCommand)
	id++
	r, _ = httpCall(t, f, c, id, "CONNECT", "/api/x", "", nil, nil)
	wantCode(t, r, codes.InvalidArgs)
	id++
	r, _ = httpCall(t, f, c, id, "POST", "/api/notes", "", map[string]string{"content-type": "application/json"}, []byte(`{"text":`))
	wantCode(t, r, codes.InvalidArgs)
	select {
	case s := <-got:
		t.Fatalf("a refused request reached the upstream: %+v", s)
	default:
	}
}

// An API server that hangs, is gone, answers garbage, declares a body past
// the limit or breaks off costs that call alone: timeout, unavailable,
// unavailable, too_large, unavailable; one that sends an undeclared body
// past the limit has its stream ended with too_large at the limit. The
// core answers the next call.
func TestHTTP_BrokenUpstreamsCostOneCall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				line, _ := bufio.NewReader(conn).ReadString('\n')
				switch {
				case strings.Contains(line, "/api/hang"):
					io.Copy(io.Discard, conn) // never answers
				case strings.Contains(line, "/api/garbage"):
					io.WriteString(conn, "this is not HTTP\r\n\r\n")
				case strings.Contains(line, "/api/declared"):
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 134217728\r\n\r\n")
				case strings.Contains(line, "/api/huge"):
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
					chunk := make([]byte, 1<<16)
					for i := 0; i < 2048; i++ { // 128 MiB, more than MaxBinaryBytes
						if _, err := conn.Write(chunk); err != nil {
							return
						}
					}
				case strings.Contains(line, "/api/cut"):
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
				default:
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
				}
			}()
		}
	}()
	gone, _ := net.Listen("tcp", "127.0.0.1:0")
	goneURL, _ := url.Parse("http://" + gone.Addr().String())
	gone.Close()
	up, _ := url.Parse("http://" + ln.Addr().String())
	p := allowHTTP(t)
	h := newHarnessWith(t, func(c *Config) {
		c.API = httpapi.Routes{{Prefix: "/api", URL: up}, {Prefix: "/gone", URL: goneURL}}
		c.Policy = p
		c.Limits = Limits{CallTimeout: 500 * time.Millisecond, MaxBinaryBytes: 1 << 20}
	})
	f, _ := h.pageLoad(t)
	c := f.connect()
	for i, want := range []struct {
		path string
		code codes.Code
	}{
		{"/api/hang", codes.Timeout}, {"/gone/x", codes.Unavailable}, {"/api/garbage", codes.Unavailable},
		{"/api/declared", codes.TooLarge}, {"/api/cut", codes.Unavailable},
	} {
		r, _ := httpCall(t, f, c, i+1, "GET", want.path, "", nil, nil)
		wantCode(t, r, want.code)
	}
	r, _ := httpCall(t, f, c, 50, "GET", "/api/huge", "", nil, nil)
	streamed(t, r, "/body")
	got, end := readStream(t, f, c, 50)
	if end.Code() != codes.TooLarge || len(got) > 1<<20 {
		t.Fatalf("huge body: %d bytes, then %+v; want too_large within the limit", len(got), end.Error)
	}
	if r, blobs := httpCall(t, f, c, 99, "GET", "/api/ok", "", nil, nil); !r.OK || len(blobs) != 1 || string(blobs[0]) != "ok" {
		t.Fatalf("a call after the broken ones: %+v %q", r, blobs)
	}
}

// A route may be an http.Handler in the same process: the Go user's own
// API, behind the gate, with no socket; its cookies stay in the core too.
func TestHTTP_InProcessHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("sid"); err == nil {
			fmt.Fprintf(w, "hello %s", c.Value)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "ada", Path: "/"})
		w.WriteHeader(http.StatusUnauthorized)
	})
	p := allowHTTP(t)
	h := newHarnessWith(t, func(c *Config) {
		c.API = httpapi.Routes{{Prefix: "/api", Handler: mux}}
		c.Policy = p
	})
	f, _ := h.pageLoad(t)
	c := f.connect()
	r, _ := httpCall(t, f, c, 1, "GET", "/api/me", "", nil, nil)
	if !r.OK || !strings.Contains(string(r.Result), `"status":401`) || strings.Contains(string(r.Result), "set-cookie") {
		t.Fatalf("first call: %s", r.Result)
	}
	r, blobs := httpCall(t, f, c, 2, "GET", "/api/me", "", nil, nil)
	if !r.OK || len(blobs) != 1 || string(blobs[0]) != "hello ada" {
		t.Fatalf("second call: %s %q", r.Result, blobs)
	}
}

// fetch's credentials "omit": the core's jar neither sends the upstream's
// cookies with the request nor keeps what its response sets, for an
// upstream over the network and one in process; anything but "omit" is
// refused.
func TestHTTP_CredentialsOmitLeavesTheJarOut(t *testing.T) {
	omit := func(path string) map[string]any {
		return map[string]any{"path": path, "query": "", "headers": map[string]any{}, "body": nil, "credentials": "omit"}
	}
	h, got := httpHarness(t)
	f, _ := h.pageLoad(t)
	c := f.connect()
	httpCall(t, f, c, 1, "GET", "/api/notes", "", nil, nil) // the upstream sets sid
	<-got
	if r, _ := httpCallArgs(t, f, c, 2, "GET", omit("/api/notes"), nil); !r.OK {
		t.Fatalf("omit: %+v", r.Error)
	}
	if s := <-got; s.header.Get("Cookie") != "" {
		t.Fatalf("credentials omit sent the jar's cookie %q", s.header.Get("Cookie"))
	}
	httpCall(t, f, c, 3, "GET", "/api/notes", "", nil, nil)
	if s := <-got; !strings.Contains(s.header.Get("Cookie"), "sid=s3cret") {
		t.Fatalf("after an omit, the next request lost the jar's cookie: %q", s.header.Get("Cookie"))
	}
	for i, bad := range []any{"include", "same-origin", 1, nil} {
		args := omit("/api/notes")
		args["credentials"] = bad
		r, _ := httpCallArgs(t, f, c, 10+i, "GET", args, nil)
		wantCode(t, r, codes.InvalidArgs)
	}

	// In process: what a response to an omit request sets is not kept.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("sid"); err == nil {
			fmt.Fprintf(w, "hello %s", c.Value)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "ada", Path: "/"})
		w.WriteHeader(http.StatusUnauthorized)
	})
	p := allowHTTP(t)
	h = newHarnessWith(t, func(c *Config) {
		c.API = httpapi.Routes{{Prefix: "/api", Handler: mux}}
		c.Policy = p
	})
	f, _ = h.pageLoad(t)
	c = f.connect()
	status := func(id int, args map[string]any) string {
		r, blobs := httpCallArgs(t, f, c, id, "GET", args, nil)
		if !r.OK {
			t.Fatalf("call %d: %+v", id, r.Error)
		}
		var res struct{ Status int }
		json.Unmarshal(r.Result, &res)
		if len(blobs) == 1 && len(blobs[0]) > 0 {
			return fmt.Sprint(res.Status, " ", string(blobs[0]))
		}
		return fmt.Sprint(res.Status)
	}
	plain := func() map[string]any { a := omit("/api/me"); delete(a, "credentials"); return a }
	for i, step := range []struct {
		args map[string]any
		want string
	}{
		{omit("/api/me"), "401"},   // sets sid: not kept
		{plain(), "401"},           // so none is sent; this one's is kept
		{omit("/api/me"), "401"},   // kept, but not sent
		{plain(), "200 hello ada"}, // sent
	} {
		if got := status(20+i, step.args); got != step.want {
			t.Fatalf("step %d: %s, want %s", i, got, step.want)
		}
	}
}

// With an OpenAPI document, the core holds a request to it before the
// policy, even one sent past the iframe's own check: no operation is
// unknown_command, a body breaking its schema invalid_args, and the
// policy's input names the operation by its operationId.
func TestHTTP_OpenAPIBeforeThePolicy(t *testing.T) {
	var log strings.Builder
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	doc := `{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/api/notes": {"post": {"operationId": "addNote",
	  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}},
	  "responses": {"201": {"description": "ok"}}}}}}`
	p, err := policy.Load(context.Background(), fstest.MapFS{
		"p.rego":       {Data: []byte("package isogate\n\nallow if input.name == \"addNote\"\n")},
		"openapi.json": {Data: []byte(doc)},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, func(c *Config) {
		c.API = httpapi.Routes{{Prefix: "/api", URL: u}}
		c.Policy = p
		c.DecisionLog = policy.NewDecisionLog(&log)
	})
	f, _ := h.pageLoad(t)
	c := f.connect()
	json := map[string]string{"content-type": "application/json"}
	if r, _ := httpCall(t, f, c, 1, "POST", "/api/notes", "", json, []byte(`{"text":"hi"}`)); !r.OK {
		t.Fatalf("a request fitting the document: %+v", r.Error)
	}
	r, _ := httpCall(t, f, c, 2, "POST", "/api/notes", "", json, []byte(`{"text":7}`))
	wantCode(t, r, codes.InvalidArgs)
	r, _ = httpCall(t, f, c, 3, "GET", "/api/notes", "", nil, nil)
	wantCode(t, r, codes.UnknownCommand)
	if !strings.Contains(log.String(), `"name":"addNote"`) || strings.Count(log.String(), `"code":"invalid_args"`) != 1 {
		t.Fatalf("decision log:\n%s", log.String())
	}
}

// The reviewer's differentials: what the policy decides on is what the
// upstream would act on. A JSON body is parsed whatever its content type
// says; ambiguous JSON, method and URL overrides, underscore headers and
// values with spaces around them are refused.
func TestHTTP_NoDifferentialBetweenPolicyAndUpstream(t *testing.T) {
	h, got := httpHarness(t)
	f, _ := h.pageLoad(t)
	c := f.connect()
	id := 0
	call := func(method, path, query string, headers map[string]string, body string) *replyMsg {
		id++
		var b []byte
		if body != "" {
			b = []byte(body)
		}
		r, _ := httpCall(t, f, c, id, method, path, query, headers, b)
		return r
	}
	for _, ct := range []string{"", "text/plain;charset=UTF-8", "application/json; charset", "application/json;;", "APPLICATION/JSON"} {
		h := map[string]string{}
		if ct != "" {
			h["content-type"] = ct
		}
		if r := call("POST", "/api/notes", "", h, `{"text":"my secret"}`); r.OK || r.Code() != codes.Denied {
			t.Errorf("content-type %q: %+v, want denied (the policy sees the body)", ct, r)
		}
	}
	for _, body := range []string{`{"text":"ok","Text":"my secret"}`, `{"text":"ok","text":"my secret"}`, `{"a":{"B":1,"b":2}}`} {
		if r := call("POST", "/api/notes", "", map[string]string{"content-type": "application/json"}, body); r.Code() != codes.InvalidArgs {
			t.Errorf("body %s: %+v, want invalid_args", body, r)
		}
	}
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70) // past the default MaxDepth of 64
	if r := call("POST", "/api/notes", "", nil, deep); r.Code() != codes.InvalidArgs {
		t.Errorf("a JSON body nested 70 deep: %+v, want invalid_args", r)
	}
	if r := call("POST", "/api/notes", "", map[string]string{"content-type": "text/plain"}, "just text"); !r.OK {
		t.Errorf("a plain-text body: %+v, want it through", r.Error)
	} else {
		<-got
	}
	for _, hd := range []map[string]string{
		{"X-HTTP-Method-Override": "DELETE"}, {"X-Original-URL": "/admin"}, {"X-Real-IP": "10.0.0.1"},
		{"x_forwarded_for": "10.0.0.1"}, {"x-role": " admin\t"},
	} {
		if r := call("POST", "/api/notes", "", hd, ""); r.Code() != codes.InvalidArgs {
			t.Errorf("header %v: %+v, want invalid_args", hd, r)
		}
	}
	if r := call("POST", "/api/notes/1", "_method=DELETE", nil, ""); r.Code() != codes.InvalidArgs {
		t.Errorf("?_method=DELETE: %+v, want invalid_args", r)
	}
	select {
	case s := <-got:
		t.Fatalf("a refused request reached the upstream: %+v", s)
	default:
	}
}

// allowHTTP is a policy that allows every http request.
func allowHTTP(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load(context.Background(), fstest.MapFS{"p.rego": {Data: []byte("package isogate\n\nallow if input.kind == \"http\"\n")}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A response body longer than one chunk is streamed as the upstream sends
// it: the head first (status, headers), then the bytes, in order.
func TestHTTP_LongBodyIsStreamed(t *testing.T) {
	body := pattern(5<<20 + 7)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Kind", "big")
		w.Write(body)
	}))
	defer srv.Close()
	up, _ := url.Parse(srv.URL)
	p := allowHTTP(t)
	h := newHarnessWith(t, func(c *Config) {
		c.API = httpapi.Routes{{Prefix: "/api", URL: up}}
		c.Policy = p
		c.Limits = Limits{MaxBinaryBytes: 8 << 20}
	})
	f, _ := h.pageLoad(t)
	c := f.connect()
	r, _ := httpCall(t, f, c, 1, "GET", "/api/big", "", nil, nil)
	streamed(t, r, "/body")
	if !strings.Contains(string(r.Result), `["x-kind","big"]`) || !strings.Contains(string(r.Result), `"status":200`) {
		t.Fatalf("head: %s", r.Result)
	}
	got, end := readStream(t, f, c, 1)
	if end.Error != nil || !bytes.Equal(got, body) {
		t.Fatalf("body: %d bytes (want %d), end %+v", len(got), len(body), end.Error)
	}
}

// A URL-encoded form is parsed for the policy as OPA's Envoy plugin parses
// it (each field a list, so a repeated field cannot hide a value), and one
// that does not parse strictly is refused before the policy.
func TestHTTP_FormBodyParsedForThePolicy(t *testing.T) {
	h, got := httpHarness(t)
	f, _ := h.pageLoad(t)
	c := f.connect()
	form := map[string]string{"content-type": "application/x-www-form-urlencoded"}
	for i, tc := range []struct {
		body string
		code codes.Code
	}{
		{"user=ada&role=user", ""},
		{"user=ada&role=user&role=admin", codes.Denied},
		{"user=ada&role=%61dmin", codes.Denied},
		{"user=%zz", codes.InvalidArgs},
		{"user=ada;role=admin", codes.InvalidArgs},
		{"user=%ff", codes.InvalidArgs},
	} {
		r, _ := httpCall(t, f, c, i+1, "POST", "/api/signup", "", form, []byte(tc.body))
		if tc.code == "" {
			if !r.OK {
				t.Fatalf("%q: %+v", tc.body, r)
			}
			if s := <-got; s.body != tc.body {
				t.Fatalf("the upstream got %q, want %q", s.body, tc.body)
			}
			continue
		}
		wantCode(t, r, tc.code)
	}
	select {
	case s := <-got:
		t.Fatalf("a refused form reached the upstream: %+v", s)
	default:
	}
}

// Anyone who can reach the port can send unsealed requests without a
// cookie, as fast as they like: every one is refused, but only a bounded
// rate of them is recorded, and the records account for every one (the
// next recorded refusal counts those that were not).
func TestUnsealed_FloodIsRefusedAndRecordedAtABoundedRate(t *testing.T) {
	var log strings.Builder
	h := newHarnessWith(t, func(c *Config) { c.DecisionLog = policy.NewDecisionLog(&log) })
	origin := h.c.Origin()
	sent := 0
	refuse := func() {
		t.Helper()
		sent++
		if code, _, _ := rawRequest(t, origin, "DELETE", "/notes/"+fmt.Sprint(sent)); code != http.StatusForbidden {
			t.Fatalf("unsealed request %d: %d, want 403", sent, code)
		}
	}
	records := func() (n int, suppressed uint64, last policy.Decision) {
		for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
			var d policy.Decision
			if json.Unmarshal([]byte(line), &d) != nil || !d.Unsealed {
				t.Fatalf("not an unsealed refusal on record: %s", line)
			}
			n, suppressed, last = n+1, suppressed+d.Suppressed, d
		}
		return n, suppressed, last
	}
	for range UnsealedBurst + 1000 {
		refuse()
	}
	before, _, _ := records()
	if before >= sent || before < UnsealedBurst {
		t.Fatalf("%d of %d unsealed refusals recorded; want the burst of %d and not all", before, sent, UnsealedBurst)
	}
	// Refuse until one is recorded again: it carries the count of those
	// not recorded since the last that was.
	for deadline := time.Now().Add(30 * time.Second); ; {
		refuse()
		if n, _, last := records(); n > before && last.Suppressed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no unsealed refusal was recorded again")
		}
	}
	if n, suppressed, _ := records(); uint64(n)+suppressed != uint64(sent) {
		t.Fatalf("%d recorded + %d counted as suppressed, but %d sent", n, suppressed, sent)
	}
}
