package core

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// A window is one labelled app origin: a loopback listener of its own, so
// that pages of two windows are two origins and cannot script each other,
// with a launch token and a launch cookie of its own. The label is the
// core's: it comes from the listener a page was loaded from, never from the
// page.
type window struct {
	label  string
	ln     net.Listener
	origin string // "http://127.0.0.1:PORT"
	host   string // "127.0.0.1:PORT"
	cookie string // the launch cookie's name, "isogate-launch-PORT"
	value  string // the launch cookie's value: random, never the token

	mu    sync.Mutex
	token string // the launch token
	used  bool   // the token was exchanged for the cookie
}

// cookiePrefix starts the name of every window's launch cookie. Cookies are
// not port-scoped, so a browser sends every window's cookie (and another
// isogate's) to every 127.0.0.1 port: each window accepts only its own, and
// all of them are taken out before a request goes on to a dev server.
const cookiePrefix = "isogate-launch-"

// labelPattern is what a window label must match.
var labelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// CheckLabel says what is wrong with a window label, or nil.
func CheckLabel(label string) error {
	if !labelPattern.MatchString(label) {
		return fmt.Errorf("window label %q: want letters, digits, '-' and '_', at most 64", label)
	}
	return nil
}

func newWindow(label string, ln net.Listener) *window {
	host := ln.Addr().String()
	_, port, _ := net.SplitHostPort(host)
	return &window{label: label, ln: ln, origin: "http://" + host, host: host,
		cookie: cookiePrefix + port, value: randomToken(), token: randomToken()}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// launchURL is the URL that starts the window: its origin with the launch
// token, as Jupyter prints it.
func (w *window) launchURL() string { return w.origin + "/?token=" + w.token }

// hasCookie reports whether r carries this window's launch cookie. Every
// cookie of that name is looked at: a page of another 127.0.0.1 port can set
// one of the same name on a longer path, which the browser sends first.
func (w *window) hasCookie(r *http.Request) bool {
	for _, ck := range r.Cookies() {
		if ck.Name == w.cookie && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(w.value)) == 1 {
			return true
		}
	}
	return false
}

// isToken reports whether tok is this window's launch token, used or not.
func (w *window) isToken(tok string) bool {
	return subtle.ConstantTimeCompare([]byte(tok), []byte(w.token)) == 1
}

// consume spends the launch token; it reports false when it was spent.
func (w *window) consume() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.used {
		return false
	}
	w.used = true
	return true
}

// launchGate lets through only requests from the browser or window isogate
// launched. The first navigation with the launch token exchanges it, once,
// for an HttpOnly, SameSite=Strict cookie and is redirected to the same URL
// without it; from then on the cookie is what is asked for. Whatever passes
// has every launch cookie taken out of its Cookie header, so none reaches a
// dev server or a handler.
func (c *Core) launchGate(w *window, next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		authed := w.hasCookie(r)
		if tok := r.URL.Query().Get("token"); tok != "" && w.isToken(tok) {
			if !authed && !w.consume() {
				c.log.Warn("launch token reused", "window", w.label, "remote", r.RemoteAddr)
				c.forbidden(rw, "this launch URL was already used")
				return
			}
			if !authed {
				http.SetCookie(rw, &http.Cookie{Name: w.cookie, Value: w.value, Path: "/",
					HttpOnly: true, SameSite: http.SameSiteStrictMode})
				c.log.Info("launch token exchanged for the cookie", "window", w.label)
			}
			rw.Header().Set("Cache-Control", "no-store")
			rw.Header().Set("Location", withoutToken(r.URL, w.token))
			rw.WriteHeader(http.StatusSeeOther)
			return
		}
		if !authed {
			c.forbidden(rw, "no launch cookie")
			return
		}
		stripLaunchCookies(r.Header)
		next.ServeHTTP(rw, r)
	})
}

// withoutToken is the same-origin path and query of u without the launch
// token: always one leading slash, so "//host/" cannot make it another
// site's URL, and the rest of the query exactly as it came.
func withoutToken(u *url.URL, token string) string {
	loc := "/" + strings.TrimLeft(u.EscapedPath(), "/")
	var kept []string
	for _, pair := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		dk, kerr := url.QueryUnescape(k)
		dv, verr := url.QueryUnescape(v)
		if pair == "" || (kerr == nil && verr == nil && dk == "token" && dv == token) {
			continue // the launch token, however it was escaped
		}
		kept = append(kept, pair)
	}
	if len(kept) > 0 {
		loc += "?" + strings.Join(kept, "&")
	}
	return loc
}

// forbidden answers a request that isogate did not launch: a short page
// that says what to do, and no session.
func (c *Core) forbidden(w http.ResponseWriter, why string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>isogate: forbidden</title>\n"+
		"<p>isogate: %s. Open the URL isogate printed when it started (it ends in <code>?token=...</code>).</p>\n",
		html.EscapeString(why))
}

// stripLaunchCookies removes every isogate launch cookie from h, leaving the
// app's own cookies as they were sent.
func stripLaunchCookies(h http.Header) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for _, pair := range strings.Split(line, ";") {
			p := strings.TrimSpace(pair)
			if p == "" || strings.HasPrefix(p, cookiePrefix) {
				continue
			}
			kept = append(kept, p)
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}

// pageLoad reports why r cannot be the user's page loading, or "" when it
// can: a session is minted only for a navigation from the user (address
// bar, the window) or from the app's own origin. A browser that sends no
// Fetch Metadata headers is judged on its cookie alone, which SameSite=Strict
// keeps from other sites.
func pageLoad(r *http.Request) string {
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return "not a navigation"
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "none" && s != "same-origin" {
		return "navigation from another site"
	}
	return ""
}

// OpenWindow adds a window labelled label: a new app origin of its own,
// serving the same app, whose pages' messages carry the label in
// input.window. It returns the window's launch URL. Labels are unique; the
// first window's is Config.MainWindow ("main" by default). It may be called before or after Serve.
func (c *Core) OpenWindow(label string) (string, error) {
	if err := CheckLabel(label); err != nil {
		return "", err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, w := range c.windows {
		if w.label == label {
			return "", fmt.Errorf("window label %q is taken", label)
		}
	}
	ln, err := listenLoopback("127.0.0.1:0")
	if err != nil {
		return "", err
	}
	w := newWindow(label, ln)
	c.windows = append(c.windows, w)
	if c.serving != nil {
		c.serving(w)
	}
	return w.launchURL(), nil
}

// DefaultWindow is the label of the first window unless Config.MainWindow
// names another.
const DefaultWindow = "main"
