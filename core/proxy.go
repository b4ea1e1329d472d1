package core

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/isogate/isogate/isolation"
)

// MaxProxiedPage bounds an HTML page read from a dev server to inject the
// bridge: a runaway server cannot exhaust the core's memory.
const MaxProxiedPage = 32 << 20

// proxyApp reverse-proxies a dev server. WebSocket upgrades (HMR) pass
// through; every HTML page gets a session and the bridge, as served pages do.
// The dev server's own CSP and frame headers are replaced by isogate's: its
// CSP would not know the isolation origin.
//
// Proxied requests are not bound by the server's read and write timeouts:
// HMR sockets and event streams live as long as the page, and a dev server
// may take long to compile a page.
func (c *Core) proxyApp(win *window, target *url.URL) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
			// Ask for gzip or nothing, so the page can be rewritten.
			if strings.Contains(r.In.Header.Get("Accept-Encoding"), "gzip") {
				r.Out.Header.Set("Accept-Encoding", "gzip")
			} else {
				r.Out.Header.Del("Accept-Encoding")
			}
			if r.Out.Header.Get("Origin") != "" {
				r.Out.Header.Set("Origin", target.Scheme+"://"+target.Host) // the dev server's HMR checks its own origin
			}
		},
		ModifyResponse: func(resp *http.Response) error { return c.injectProxied(win, resp) },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			c.log.Warn("dev server unreachable", "url", target.String(), "err", err)
			http.Error(w, "isogate: the app's dev server is not answering", http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The dev server answers at its own pace (a slow compile, a long
		// poll, a stream, an upload): past the gate, the server's request
		// and response timeouts are lifted; the dev server bounds its own.
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Time{})
		rc.SetWriteDeadline(time.Time{})
		rp.ServeHTTP(w, r)
	})
}

func (c *Core) injectProxied(win *window, resp *http.Response) error {
	h := resp.Header
	h.Del("Content-Security-Policy")
	h.Del("Content-Security-Policy-Report-Only")
	h.Del("X-Frame-Options")
	isolation.SetAppHeaders(h)
	if resp.StatusCode == http.StatusSwitchingProtocols || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		return nil
	}
	var body io.Reader = resp.Body
	switch enc := h.Get("Content-Encoding"); enc {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return fmt.Errorf("dev server page: %w", err)
		}
		body = zr
	default:
		return fmt.Errorf("dev server page in unsupported encoding %q", enc)
	}
	page, err := io.ReadAll(io.LimitReader(body, MaxProxiedPage+1))
	resp.Body.Close()
	if err != nil || len(page) > MaxProxiedPage {
		return fmt.Errorf("dev server page unreadable or too large: %v", err)
	}
	page, err = c.newPage(win, resp.Request, page)
	if err != nil {
		return err
	}
	h.Del("Content-Encoding")
	h.Del("ETag")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("Cache-Control", "no-store")
	c.setPageCSP(win, h)
	resp.ContentLength = int64(len(page))
	resp.Body = io.NopCloser(bytes.NewReader(page))
	return nil
}
