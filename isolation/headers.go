package isolation

import (
	"net/http"
	"strings"
)

// HostGuard refuses any request whose Host is not exactly host (for example
// "127.0.0.1:43117"). A DNS-rebinding page reaches the same socket under its
// own name; it is turned away here.
func HostGuard(host string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != host {
			http.Error(w, "misdirected request", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SetAppHeaders sets the headers of every response from the app origin: not
// frameable by other origins, no referrer (the iframe URL must not leak), no
// content sniffing.
func SetAppHeaders(h http.Header) {
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Security-Policy", "frame-ancestors 'self'")
	setCommon(h)
}

func setCommon(h http.Header) {
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// AppCSP is an app's own Content-Security-Policy (a Tauri app's
// app.security.csp) with what isogate needs let in, so that it can be sent
// beside isogate's own: the isolation iframe (frame-src), the bridge's
// scripts (script-src) and its request for a new iframe (connect-src),
// each added where the policy restricts that kind, to the directive that
// governs it (a missing one falls back, as browsers do: frame-src to
// child-src to default-src). Nothing else is widened.
func AppCSP(csp, appOrigin, isoOrigin string) string {
	type directive struct {
		name    string
		sources []string
	}
	var ds []directive
	for _, part := range strings.Split(csp, ";") {
		f := strings.Fields(part)
		if len(f) > 0 {
			ds = append(ds, directive{strings.ToLower(f[0]), f[1:]})
		}
	}
	find := func(name string) int {
		for i, d := range ds {
			if d.name == name {
				return i
			}
		}
		return -1
	}
	// with is sources and ours, 'none' dropped (it only stands alone).
	with := func(sources, ours []string) []string {
		var out []string
		for _, s := range sources {
			if s != "'none'" {
				out = append(out, s)
			}
		}
		return append(out, ours...)
	}
	allow := func(chain []string, ours ...string) {
		for i, name := range chain {
			j := find(name)
			if j < 0 {
				continue
			}
			if i == 0 {
				ds[j].sources = with(ds[j].sources, ours)
				return
			}
			// The kind falls back to ds[j]: it gets its own directive,
			// the fallback's sources and ours, and the fallback stays as
			// it was for everything else.
			ds = append(ds, directive{chain[0], with(ds[j].sources, ours)})
			return
		}
	}
	scripts := []string{appOrigin + BridgePath, appOrigin + TauriGlobalPath}
	allow([]string{"frame-src", "child-src", "default-src"}, isoOrigin)
	allow([]string{"script-src", "default-src"}, scripts...)
	allow([]string{"script-src-elem"}, scripts...) // only where the app has one
	allow([]string{"connect-src", "default-src"}, appOrigin+FramePath)
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = strings.Join(append([]string{d.name}, d.sources...), " ")
	}
	return strings.Join(out, "; ")
}
