package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/isogate/isogate/codes"
)

// Route names one API prefix of the app origin and where its requests go:
// an HTTP server (URL: scheme and host; the request path is sent as it is,
// prefix included) or a handler in the same process.
type Route struct {
	Prefix  string // "/api": matches "/api" and everything under "/api/"
	URL     *url.URL
	Handler http.Handler
}

// Routes are the API prefixes of one app.
type Routes []Route

// Validate reports the first route that cannot be used.
func (rs Routes) Validate() error {
	seen := map[string]bool{}
	for _, r := range rs {
		switch {
		case r.Prefix == "/" || strings.HasSuffix(r.Prefix, "/"):
			return fmt.Errorf("API prefix %q: want a path such as /api, without a trailing /", r.Prefix)
		case CheckPath(r.Prefix) != nil:
			return fmt.Errorf("API prefix %q: %v", r.Prefix, CheckPath(r.Prefix))
		case strings.HasPrefix(r.Prefix, "/__isogate"):
			return fmt.Errorf("API prefix %q is isogate's own", r.Prefix)
		case seen[r.Prefix]:
			return fmt.Errorf("API prefix %q given twice", r.Prefix)
		case (r.URL == nil) == (r.Handler == nil):
			return fmt.Errorf("API prefix %q: want exactly one of a URL and a handler", r.Prefix)
		case r.URL != nil && (r.URL.Scheme != "http" && r.URL.Scheme != "https" || r.URL.Host == "" ||
			r.URL.Path != "" && r.URL.Path != "/" || r.URL.RawQuery != "" || r.URL.User != nil):
			return fmt.Errorf("API prefix %q: the upstream %q must be http(s)://HOST[:PORT] alone (the request path is sent as it is)", r.Prefix, r.URL)
		}
		seen[r.Prefix] = true
	}
	return nil
}

// ParseRoute parses the CLI's PREFIX=URL, or PREFIX alone for devServer
// (nil: no dev server, and PREFIX alone is an error).
func ParseRoute(s string, devServer *url.URL) (Route, error) {
	prefix, target, hasTarget := strings.Cut(s, "=")
	r := Route{Prefix: prefix}
	switch {
	case hasTarget:
		u, err := url.Parse(target)
		if err != nil {
			return r, fmt.Errorf("--api %q: %v", s, err)
		}
		r.URL = u
	case devServer != nil:
		r.URL = &url.URL{Scheme: devServer.Scheme, Host: devServer.Host}
	default:
		return r, fmt.Errorf("--api %q: give PREFIX=URL (PREFIX alone means the dev server, and --app is a directory)", s)
	}
	if err := (Routes{r}).Validate(); err != nil {
		return r, errors.New("--api: " + err.Error())
	}
	return r, nil
}

// Match returns the route whose prefix holds the escaped path p: of
// nested prefixes (/api and /api/v2), the longest, whatever their order.
func (rs Routes) Match(p string) (*Route, bool) {
	var best *Route
	for i := range rs {
		if under(p, rs[i].Prefix) && (best == nil || len(rs[i].Prefix) > len(best.Prefix)) {
			best = &rs[i]
		}
	}
	return best, best != nil
}

func under(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// Reaches reports whether a request for r's path could land under one of
// the prefixes on some server: as sent, once decoded, and with dot segments
// and backslashes resolved the way servers and frameworks resolve them. An
// unsealed request that Reaches an API prefix is refused, so that
// "/%61pi/notes" or "/x/../api/notes" cannot slip past the prefix match.
func (rs Routes) Reaches(r *http.Request) bool {
	forms := []string{r.URL.EscapedPath(), r.URL.Path}
	for _, f := range forms[:2] {
		// Path parameters (/api;x=1/admin), which servers and proxies drop
		// before routing, raw or encoded.
		for _, p := range []string{f, strings.ReplaceAll(strings.ReplaceAll(f, "%3B", ";"), "%3b", ";")} {
			forms = append(forms, matrixParams.ReplaceAllString(p, ""))
		}
		f = strings.ReplaceAll(f, "\\", "/")
		forms = append(forms, path.Clean("/"+f))
		if d, err := url.PathUnescape(f); err == nil { // a second decoding, as some servers do
			forms = append(forms, path.Clean("/"+d))
		}
	}
	for _, f := range forms {
		for _, route := range rs {
			if under(strings.ToLower(f), strings.ToLower(route.Prefix)) { // servers that ignore case too
				return true
			}
		}
	}
	return false
}

var matrixParams = regexp.MustCompile(`;[^/]*`)

// SafeMethod is a method a page's plain navigation or subresource load may
// use; every other method on the app origin must come through the gate.
func SafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Problem is the application/problem+json body (RFC 9457) of a refusal,
// with isogate's code and the policy's reasons.
type Problem struct {
	Type    string     `json:"type"`
	Title   string     `json:"title"`
	Status  int        `json:"status"`
	Detail  string     `json:"detail"`
	Code    codes.Code `json:"code"`
	Reasons []string   `json:"reasons,omitempty"`
}

// Status is the HTTP status a refusal with code answers the page with.
func Status(code codes.Code) int {
	switch code {
	case codes.Denied, codes.HookRejected:
		return http.StatusForbidden
	case codes.InvalidArgs:
		return http.StatusBadRequest
	case codes.UnknownCommand:
		return http.StatusNotFound
	case codes.TooLarge:
		return http.StatusRequestEntityTooLarge
	case codes.RateLimited:
		return http.StatusTooManyRequests
	case codes.Timeout:
		return http.StatusGatewayTimeout
	case codes.Unavailable:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError // handler_error and anything new
}

// BridgeConfig is the JSON the bridge takes over fetch and XMLHttpRequest
// with: the prefixes, and the status each rejection code answers with.
func (rs Routes) BridgeConfig() string {
	if len(rs) == 0 {
		return ""
	}
	cfg := struct {
		Prefixes []string           `json:"prefixes"`
		Status   map[codes.Code]int `json:"status"`
	}{Status: map[codes.Code]int{}}
	for _, r := range rs {
		cfg.Prefixes = append(cfg.Prefixes, r.Prefix)
	}
	for _, c := range []codes.Code{codes.Denied, codes.InvalidArgs, codes.UnknownCommand, codes.HookRejected, codes.TooLarge,
		codes.RateLimited, codes.Timeout, codes.HandlerError, codes.Unavailable} {
		cfg.Status[c] = Status(c)
	}
	b, _ := json.Marshal(cfg)
	return string(b)
}

// WriteProblem answers a refusal as HTTP: the status for code, the code in
// X-Isogate-Code, and a problem+json body.
func WriteProblem(w http.ResponseWriter, code codes.Code, detail string, reasons []string) {
	status := Status(code)
	b, _ := json.Marshal(Problem{Type: "urn:isogate:problem:" + string(code), Title: http.StatusText(status),
		Status: status, Detail: detail, Code: code, Reasons: reasons})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Isogate-Code", string(code))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}
