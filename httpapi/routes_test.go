package httpapi

import (
	"net/url"
	"testing"
)

// Nested prefixes: the longest one holding the path wins, in any order, so
// --api /api=A --api /api/v2=B sends /api/v2/x to B.
func TestRoutes_LongestPrefixWins(t *testing.T) {
	a, _ := url.Parse("http://127.0.0.1:1")
	b, _ := url.Parse("http://127.0.0.1:2")
	for _, rs := range []Routes{
		{{Prefix: "/api", URL: a}, {Prefix: "/api/v2", URL: b}},
		{{Prefix: "/api/v2", URL: b}, {Prefix: "/api", URL: a}},
	} {
		if err := rs.Validate(); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]*url.URL{"/api/v2/x": b, "/api/v2": b, "/api/v20": a, "/api/x": a} {
			r, ok := rs.Match(p)
			if !ok || r.URL != want {
				t.Errorf("%s went to %v, want %v", p, r, want)
			}
		}
		if _, ok := rs.Match("/apix"); ok {
			t.Error("/apix matched /api")
		}
	}
}
