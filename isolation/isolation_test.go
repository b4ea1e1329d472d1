package isolation

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestInjectBridge_FirstScript(t *testing.T) {
	tag := `<script src="/__isogate/bridge.js" data-isogate-frame="http://127.0.0.1:2/frame/t&amp;x"></script>`
	for _, c := range []struct{ in, want string }{
		{"<!doctype html><script>evil()</script>", "<!doctype html>" + tag + "<script>evil()</script>"},
		{"\ufeff\n<!DOCTYPE html>\n<head>", "\ufeff\n<!DOCTYPE html>" + tag + "\n<head>"},
		{"<script>first()</script><p>", tag + "<script>first()</script><p>"},
		{"", tag},
	} {
		if got := string(InjectBridge([]byte(c.in), "http://127.0.0.1:2/frame/t&x", Bridge{})); got != c.want {
			t.Errorf("InjectBridge(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFrame_ServedOnceWithStrictHeaders(t *testing.T) {
	s := NewServer("http://127.0.0.1:2")
	url, err := s.Issue(Frame{Session: "ab", Secret: "c2VjcmV0", WS: "ws://127.0.0.1:2/ws", Parent: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler(http.NotFoundHandler())
	get := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", url, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get()
	if w.Code != 200 || !strings.Contains(w.Body.String(), "c2VjcmV0") {
		t.Fatalf("first GET: %d %s", w.Code, w.Body)
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src http://127.0.0.1:2/isolation.js http://127.0.0.1:2/hook.js;",
		"connect-src ws://127.0.0.1:2/ws;", "frame-ancestors http://127.0.0.1:1;", "sandbox allow-scripts"} {
		if !strings.Contains(csp+";", want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for k, v := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if w := get(); w.Code != http.StatusGone || strings.Contains(w.Body.String(), "c2VjcmV0") {
		t.Fatalf("second GET: %d %s", w.Code, w.Body)
	}
}

func TestFrame_ExpiredURLGivesNoPage(t *testing.T) {
	s := NewServer("http://127.0.0.1:2")
	now := time.Now()
	s.now = func() time.Time { return now }
	url, _ := s.Issue(Frame{Secret: "c2VjcmV0", Parent: "http://127.0.0.1:1"})
	now = now.Add(FrameTTL + time.Second)
	w := httptest.NewRecorder()
	s.Handler(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", url, nil))
	if w.Code != http.StatusGone {
		t.Fatalf("expired URL: %d", w.Code)
	}
}

func TestIssue_BoundedOutstandingURLsOldestMakesRoom(t *testing.T) {
	s := NewServer("http://127.0.0.1:2")
	now := time.Now()
	s.now = func() time.Time { now = now.Add(time.Microsecond); return now }
	first, _ := s.Issue(Frame{Parent: "http://127.0.0.1:1"})
	second, _ := s.Issue(Frame{Parent: "http://127.0.0.1:1"})
	for i := 2; i < MaxFramesIssued+1; i++ { // a flood of URLs nobody loads
		if _, err := s.Issue(Frame{Parent: "http://127.0.0.1:1"}); err != nil {
			t.Fatalf("issue %d: %v", i, err)
		}
	}
	if n := len(s.frames); n != MaxFramesIssued {
		t.Fatalf("%d URLs outstanding, want at most %d", n, MaxFramesIssued)
	}
	h := s.Handler(http.NotFoundHandler())
	for url, want := range map[string]int{first: http.StatusGone, second: http.StatusOK} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", url, nil))
		if w.Code != want {
			t.Errorf("GET %s: %d, want %d", url, w.Code, want)
		}
	}
	if _, err := s.Issue(Frame{}); err == nil {
		t.Error("a frame without a parent origin was issued")
	}
}

// An app's own CSP lets in exactly what isogate needs, where it restricts.
func TestAppCSP(t *testing.T) {
	const app, iso = "http://127.0.0.1:1", "http://127.0.0.1:2"
	for csp, want := range map[string]string{
		"default-src 'self'; img-src data:":   "default-src 'self'; img-src data:; frame-src 'self' http://127.0.0.1:2; script-src 'self' http://127.0.0.1:1/__isogate/bridge.js http://127.0.0.1:1/__isogate/tauri.js; connect-src 'self' http://127.0.0.1:1/__isogate/frame",
		"script-src 'self'; frame-src 'none'": "script-src 'self' http://127.0.0.1:1/__isogate/bridge.js http://127.0.0.1:1/__isogate/tauri.js; frame-src http://127.0.0.1:2",
		"img-src *":                           "img-src *",
		"default-src 'none'":                  "default-src 'none'; frame-src http://127.0.0.1:2; script-src http://127.0.0.1:1/__isogate/bridge.js http://127.0.0.1:1/__isogate/tauri.js; connect-src http://127.0.0.1:1/__isogate/frame",
	} {
		if got := AppCSP(csp, app, iso); got != want {
			t.Errorf("AppCSP(%q)\n = %q\nwant %q", csp, got, want)
		}
	}
}
