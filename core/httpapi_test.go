package core

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
