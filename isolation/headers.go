package isolation

import (
	"net/http"
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
