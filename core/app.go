package core

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/isogate/isogate/isolation"
)

// appHandler serves the wrapped app. Every HTML page gets a new session and
// the bridge as its first script.
func (c *Core) appHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+isolation.BridgePath, isolation.ServeBridge)
	mux.HandleFunc("POST "+isolation.FramePath, c.serveNewFrame)
	if c.appURL != nil {
		mux.Handle("/", c.proxyApp(c.appURL))
	} else {
		mux.HandleFunc("GET /", c.serveApp)
	}
	return isolation.HostGuard(strings.TrimPrefix(c.appOrigin, "http://"), mux)
}

func (c *Core) serveApp(w http.ResponseWriter, r *http.Request) {
	isolation.SetAppHeaders(w.Header())
	name, body, err := c.appFile(r.URL.Path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	if strings.HasPrefix(ctype, "text/html") {
		page, err := c.newPage(body)
		if err != nil {
			c.log.Warn("page refused", "err", err)
			http.Error(w, "isogate: cannot start a session for this page", http.StatusServiceUnavailable)
			return
		}
		body = page
		w.Header().Set("Cache-Control", "no-store")
	}
	w.Write(body)
}

// appFile finds the file for a URL path: the file itself, a directory's
// index.html, or for extension-less paths (client-side routes) the root
// index.html.
func (c *Core) appFile(urlPath string) (string, []byte, error) {
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if name == "" {
		name = "."
	}
	candidates := []string{name, path.Join(name, "index.html")}
	if path.Ext(name) == "" {
		candidates = append(candidates, "index.html")
	}
	for _, n := range candidates {
		st, err := fs.Stat(c.app, n)
		if err != nil || st.IsDir() {
			continue
		}
		b, err := fs.ReadFile(c.app, n)
		return n, b, err
	}
	return "", nil, errors.New("not found")
}

// serveNewFrame gives a page whose isolation iframe was removed a new
// session. The custom header makes any cross-origin request a CORS
// preflight, which is never answered: only the app's own pages get here.
func (c *Core) serveNewFrame(w http.ResponseWriter, r *http.Request) {
	isolation.SetAppHeaders(w.Header())
	if r.Header.Get("X-Isogate") != "1" || (r.Header.Get("Sec-Fetch-Site") != "" && r.Header.Get("Sec-Fetch-Site") != "same-origin") {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	url, err := c.newFrame()
	if err != nil {
		c.log.Warn("frame refused", "err", err)
		http.Error(w, "cannot start a session", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{"frame": url})
}

// newPage starts a session for one page load and injects the bridge.
func (c *Core) newPage(page []byte) ([]byte, error) {
	url, err := c.newFrame()
	if err != nil {
		return nil, err
	}
	return isolation.InjectBridge(page, url), nil
}

// newFrame starts a session and returns its single-use iframe URL.
func (c *Core) newFrame() (string, error) {
	s, secret, err := c.sessions.create(c.limits)
	if err != nil {
		return "", err
	}
	p := c.policy.Load()
	url, err := c.iso.Issue(isolation.Frame{
		Session: s.id,
		Secret:  base64.RawURLEncoding.EncodeToString(secret[:]),
		WS:      "ws://" + strings.TrimPrefix(c.iso.Origin, "http://") + isolation.WSPath,
		Schemas: p.Schemas(),
		Hook:    p.Hook() != nil,

		MaxMessageBytes: c.limits.MaxMessageBytes,
		MaxBinaryBytes:  c.limits.MaxBinaryBytes,
	})
	if err != nil {
		c.sessions.end(s, "frame not issued")
		return "", err
	}
	if c.observe != nil {
		c.observe("page", s.id)
	}
	return url, nil
}
