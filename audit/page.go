package audit

import (
	"embed"
	"net/http"
	"path"
)

// assets are the page: index.html, its style, and audit.js, which
// sandbox-js/build.mjs bundles from sandbox-js/src/audit-main.js with
// uPlot (npm) and uPlot's stylesheet. No CDN: everything is served here.
//
//go:embed assets
var assets embed.FS

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	b, _ := assets.ReadFile("assets/index.html")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
}

var types = map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	typ, ok := types[path.Ext(name)]
	b, err := assets.ReadFile("assets/" + name)
	if !ok || err != nil || name == "index.html" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Write(b)
}
