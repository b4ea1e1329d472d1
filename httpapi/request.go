package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strings"

	"github.com/isogate/isogate/codes"
)

// Request is one gated request as the iframe sealed it, checked: the
// method, the canonical escaped path under a route, the raw query, the
// headers the page set (lowercase names) and the body.
type Request struct {
	Route   *Route
	Method  string
	Path    string
	Query   string
	Headers map[string]string
	Body    []byte
	// OmitCookies is fetch's credentials "omit": the forwarder's jar
	// neither adds the upstream's cookies nor keeps what it sets.
	OmitCookies bool
}

// Error is a request or response the gate refuses, with the code the page
// gets.
type Error struct {
	Code    codes.Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

func invalid(format string, a ...any) error {
	return &Error{Code: codes.InvalidArgs, Message: fmt.Sprintf(format, a...)}
}

// forbiddenHeader says why the page may not set a request header: the core
// builds these itself (framing, host, cookies from its jar, forwarding),
// and a page that sends one is trying to smuggle a request.
func forbiddenHeader(name string) string {
	switch name {
	case "host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer",
		"proxy-connection", "proxy-authorization", "proxy-authenticate", "cookie", "cookie2", "forwarded", "expect", "http2-settings":
		return "the core sets it"
	}
	if strings.HasPrefix(name, "x-forwarded-") || strings.HasPrefix(name, "proxy-") || strings.HasPrefix(name, "sec-") {
		return "the core sets it"
	}
	switch name {
	case "x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-rewrite-url",
		"x-original-method", "x-real-ip", "x-client-ip", "true-client-ip", "client-ip":
		// A server would act on another method, path or client than the
		// policy decided on.
		return "it overrides what the policy decided on"
	}
	if strings.Contains(name, "_") {
		return "CGI, WSGI and Rack servers read _ as -, so it could stand for a header refused here"
	}
	return ""
}

// validToken is RFC 9110's token, for header names and methods.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isUnreserved(c) && strings.IndexByte("!#$%&'*+^`|", c) < 0 {
			return false
		}
	}
	return true
}

// validValue refuses what would end a header line or the header block.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// NewRequest checks one sealed request against the routes: a method the
// gate forwards, a canonical path under an API prefix, a query of valid
// escapes, and headers a page may set. Every problem is invalid_args.
func (rs Routes) NewRequest(method, path, query string, headers map[string]string, body []byte) (*Request, error) {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		return nil, invalid("method %q is not one the gate forwards", method)
	}
	if err := CheckPath(path); err != nil {
		return nil, invalid("%v", err)
	}
	route, ok := rs.Match(path)
	if !ok {
		return nil, &Error{Code: codes.UnknownCommand, Message: fmt.Sprintf("%s is not under an API prefix", path)}
	}
	q, err := url.ParseQuery(query)
	if err != nil || strings.ContainsAny(query, "#\x00\r\n ") {
		return nil, invalid("the query is not a valid query string")
	}
	for _, k := range []string{"_method", "_METHOD", "X-HTTP-Method-Override"} {
		if _, ok := q[k]; ok {
			return nil, invalid("the query parameter %q overrides the method the policy decided on", k)
		}
	}
	clean := make(map[string]string, len(headers))
	for k, v := range headers {
		name := strings.ToLower(k)
		if !validToken(name) || !validValue(v) || strings.TrimSpace(v) != v {
			return nil, invalid("header %q is malformed (or has spaces around its value, which the upstream would not see)", k)
		}
		if why := forbiddenHeader(name); why != "" {
			return nil, invalid("header %q cannot be set by the page: %s", k, why)
		}
		if _, dup := clean[name]; dup {
			return nil, invalid("header %q given twice", k)
		}
		clean[name] = v
	}
	if (method == "GET" || method == "HEAD") && len(body) > 0 {
		return nil, invalid("a %s request carries no body", method)
	}
	return &Request{Route: route, Method: method, Path: path, Query: query, Headers: clean, Body: body}, nil
}

// Target is the request line's target: the escaped path and the query.
func (r *Request) Target() string {
	if r.Query == "" {
		return r.Path
	}
	return r.Path + "?" + r.Query
}

// Response is what an allowed request got from its upstream, as the page
// will see it: no cookie, no hop-by-hop header.
type Response struct {
	Status     int
	StatusText string
	Headers    [][2]string // in order, names lowercase, repeats kept
	// Body reads the body as it arrives, at most the forwarder's bound: past
	// it, or when the upstream breaks off, a read fails with an *Error
	// (too_large, unavailable). The caller closes it.
	Body io.ReadCloser
}

// maxResponseHead bounds an upstream response's status line and headers.
const maxResponseHead = 256 << 10

// Forwarder makes allowed requests upstream. The upstream's cookies stay
// in its jar: what the upstream sets comes back on later gated requests,
// and never reaches the page.
type Forwarder struct {
	client  *http.Client
	anon    *http.Client // client without the jar, for OmitCookies
	jar     http.CookieJar
	maxBody int64
}

// NewForwarder returns a forwarder reading at most maxBody bytes of a
// response body.
func NewForwarder(maxBody int64) *Forwarder {
	jar, _ := cookiejar.New(nil) // the public suffix list does not matter: upstreams are named hosts
	f := &Forwarder{jar: jar, maxBody: maxBody}
	f.client = &http.Client{
		Jar: jar,
		// A redirect goes back to the page: following it is a new request,
		// gated in its own right.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:               nil, // an environment proxy must not see the app's API
			DisableCompression:  true,
			MaxIdleConnsPerHost: 16,
			// The head goes into one reply; the body may stream, the head
			// does not.
			MaxResponseHeaderBytes: maxResponseHead,
		},
	}
	anon := *f.client
	anon.Jar = nil
	f.anon = &anon
	return f
}

// Forward makes r upstream and returns its response once the head has
// come, within ctx (the call's timeout, which the body's reads keep to
// as well). A body the upstream declares past the bound is refused here.
func (f *Forwarder) Forward(ctx context.Context, r *Request) (*Response, error) {
	if r.Route.Handler != nil {
		return f.serveInProcess(ctx, r)
	}
	u := *r.Route.URL
	u.Path, u.RawPath, u.RawQuery = "", "", ""
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		return nil, &Error{Code: codes.Unavailable, Message: "the request could not be made"}
	}
	req.URL.Opaque = "" // the target below is sent byte for byte
	req.URL.RawPath = r.Path
	req.URL.Path, _ = url.PathUnescape(r.Path)
	req.URL.RawQuery = r.Query
	if req.URL.EscapedPath() != r.Path {
		return nil, invalid("the path cannot be sent as it is")
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if len(r.Body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	client := f.client
	if r.OmitCookies {
		client = f.anon
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Code: codes.Unavailable, Message: "the API server is not available"}
	}
	if resp.ContentLength > f.maxBody {
		resp.Body.Close()
		return nil, f.tooLarge()
	}
	return f.response(resp.StatusCode, resp.Header, resp.Body, resp.ContentLength), nil
}

func (f *Forwarder) tooLarge() *Error {
	return &Error{Code: codes.TooLarge, Message: fmt.Sprintf("the response is over %d bytes", f.maxBody)}
}

// serveInProcess hands r to the route's handler, with the same jar.
func (f *Forwarder) serveInProcess(ctx context.Context, r *Request) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://in-process"+r.Target(), bytes.NewReader(r.Body))
	if err != nil {
		return nil, invalid("the request could not be made")
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if !r.OmitCookies {
		for _, c := range f.jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
	}
	rec := newRecorder(f.maxBody)
	r.Route.Handler.ServeHTTP(rec, req)
	if rec.over {
		return nil, f.tooLarge()
	}
	if !r.OmitCookies {
		f.jar.SetCookies(req.URL, (&http.Response{Header: rec.header}).Cookies())
	}
	return f.response(rec.status, rec.header, io.NopCloser(&rec.body), int64(rec.body.Len())), nil
}

// response is the page's view of an upstream's response; length is the
// body's declared length, or -1.
func (f *Forwarder) response(status int, h http.Header, body io.ReadCloser, length int64) *Response {
	out := &Response{Status: status, StatusText: http.StatusText(status), Body: &boundedBody{f: f, r: body, left: f.maxBody, length: length}}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		name := strings.ToLower(k)
		switch name {
		case "set-cookie", "set-cookie2", "connection", "keep-alive", "transfer-encoding", "upgrade", "trailer", "te",
			"proxy-authenticate", "content-length":
			continue
		}
		for _, v := range h[k] {
			out.Headers = append(out.Headers, [2]string{name, v})
		}
	}
	return out
}

// boundedBody is a response body that fails past the forwarder's bound,
// and says what went wrong in the page's terms.
type boundedBody struct {
	f      *Forwarder
	r      io.ReadCloser
	left   int64
	length int64 // declared bytes not yet read, or -1
}

// Len is how many bytes the body has left by its Content-Length, or -1
// when it did not say: the core sends a short body whole.
func (b *boundedBody) Len() int {
	return int(b.length)
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.f.tooLarge()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if b.length >= 0 {
		b.length = max(b.length-int64(n), 0)
	}
	if b.left -= int64(n); b.left < 0 {
		return 0, b.f.tooLarge()
	}
	if err != nil && err != io.EOF {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return n, err // the call's end, which the caller names
		}
		return n, &Error{Code: codes.Unavailable, Message: "the API server's response broke off"}
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.r.Close() }

// recorder is a bounded http.ResponseWriter for in-process handlers.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	max    int64
	over   bool
	wrote  bool
}

func newRecorder(max int64) *recorder {
	return &recorder{header: http.Header{}, status: http.StatusOK, max: max}
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	if int64(r.body.Len()+len(b)) > r.max {
		r.over = true
		return 0, errors.New("response over the limit")
	}
	return r.body.Write(b)
}
