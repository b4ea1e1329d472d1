package core

import (
	"encoding/base64"
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
	mux.HandleFunc("GET /", c.serveApp)
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

// newPage starts a session for one page load and injects the bridge.
func (c *Core) newPage(page []byte) ([]byte, error) {
	s, secret, err := c.sessions.create(c.limits.MaxInFlight)
	if err != nil {
		return nil, err
	}
	p := c.policy.Load()
	url, err := c.iso.Issue(isolation.Frame{
		Session: s.id,
		Secret:  base64.RawURLEncoding.EncodeToString(secret[:]),
		WS:      "ws://" + strings.TrimPrefix(c.iso.Origin, "http://") + isolation.WSPath,
		Schemas: p.Schemas(),
		Hook:    p.Hook() != nil,
	})
	if err != nil {
		c.sessions.end(s, "frame not issued")
		return nil, err
	}
	return isolation.InjectBridge(page, url), nil
}
