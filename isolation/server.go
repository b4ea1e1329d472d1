package isolation

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limits on issued frames. A local process can ask the app origin for pages
// as fast as it likes; each page issues a frame, so both are bounded.
const (
	FrameTTL        = 60 * time.Second // an unused iframe URL dies after this
	MaxFramesIssued = 4096             // outstanding unused iframe URLs
)

// Paths on the two origins.
const (
	BridgePath      = "/__isogate/bridge.js" // on the app origin
	TauriGlobalPath = "/__isogate/tauri.js"  // on the app origin: window.__TAURI__
	FramePath       = "/__isogate/frame"     // on the app origin: POST for a new iframe URL
	framePrefix     = "/frame/"
	isolationPath   = "/isolation.js"
	hookPath        = "/hook.js"
	WSPath          = "/ws"
)

// Frame is what one iframe page carries to the isolation script.
type Frame struct {
	Session string                     `json:"session"` // hex session id
	Secret  string                     `json:"secret"`  // base64url session secret
	WS      string                     `json:"ws"`      // transport URL
	Schemas map[string]json.RawMessage `json:"schemas"`
	Hook    bool                       `json:"hook"`   // the page loads the isolation hook first
	Window  string                     `json:"window"` // the page's window label, for the hook
	Parent  string                     `json:"-"`      // the app origin allowed to frame it
	Limits  Limits                     `json:"limits"`
	// HTTP is the app's HTTP API operations the iframe holds requests of
	// kind http to (httpapi.FrameSpec), or absent without an OpenAPI document.
	HTTP json.RawMessage `json:"http,omitempty"`
}

// Limits are the core's bounds, which the iframe enforces before sealing so
// that a call breaking one is answered on its own. They travel in every
// frame's config and the iframe has no defaults of its own: nothing is
// copied by hand between Go and JavaScript.
type Limits struct {
	MaxMessageBytes  int64    `json:"maxMessageBytes"`  // JSON bytes of one message; too_large above
	MaxBinaryBytes   int64    `json:"maxBinaryBytes"`   // raw bytes of one message; too_large above
	MaxDepth         int      `json:"maxDepth"`         // containers nested in args (and in results); invalid_args above
	MaxBatchMessages int      `json:"maxBatchMessages"` // messages sealed in one frame
	NamePattern      string   `json:"namePattern"`      // command and event names; written in the syntax Go and JavaScript share
	Kinds            []string `json:"kinds"`            // the request kinds
}

type issued struct {
	page    []byte
	parent  string
	expires time.Time
}

// Server serves the isolation origin: the iframe pages and script. The
// transport handler is passed in by the core.
type Server struct {
	Origin string // "http://127.0.0.1:PORT" of the isolation listener

	mu     sync.Mutex
	frames map[string]issued
	hook   []byte
	now    func() time.Time
}

// SetHook sets the isolation hook source served to iframe pages from now on.
func (s *Server) SetHook(src []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = src
}

// NewServer returns a server for the given isolation origin.
func NewServer(origin string) *Server {
	return &Server{Origin: origin, frames: map[string]issued{}, now: time.Now}
}

// Issue stores f behind a fresh single-use token and returns the iframe URL.
// With MaxFramesIssued outstanding, the one that expires first makes room:
// URLs nobody loads cannot keep a new page from getting one.
func (s *Server) Issue(f Frame) (string, error) {
	if f.Parent == "" {
		return "", errors.New("isolation: frame without a parent origin")
	}
	cfg, err := json.Marshal(f) // escapes <, > and &: safe inside <script>
	if err != nil {
		return "", err
	}
	var page bytes.Buffer
	page.WriteString("<!doctype html>\n<meta charset=\"utf-8\">\n<title>isogate isolation</title>\n")
	page.WriteString("<script type=\"application/json\" id=\"isogate-config\">")
	page.Write(cfg)
	page.WriteString("</script>\n")
	if f.Hook {
		page.WriteString("<script src=\"" + hookPath + "\"></script>\n")
	}
	page.WriteString("<script src=\"" + isolationPath + "\"></script>\n")

	token := make([]byte, 32)
	rand.Read(token)
	key := base64.RawURLEncoding.EncodeToString(token)

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	oldest := ""
	for k, v := range s.frames {
		if now.After(v.expires) {
			delete(s.frames, k)
		} else if oldest == "" || v.expires.Before(s.frames[oldest].expires) {
			oldest = k
		}
	}
	if len(s.frames) >= MaxFramesIssued {
		delete(s.frames, oldest)
	}
	s.frames[key] = issued{page: page.Bytes(), parent: f.Parent, expires: now.Add(FrameTTL)}
	return s.Origin + framePrefix + key, nil
}

// take removes and returns the frame behind token, if it is live.
func (s *Server) take(token string) (issued, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.frames[token]
	delete(s.frames, token)
	if !ok || s.now().After(f.expires) {
		return issued{}, false
	}
	return f, true
}

// Handler returns the isolation origin's handler, with transport mounted at
// WSPath and every request's Host checked.
func (s *Server) Handler(transport http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+framePrefix+"{token}", s.serveFrame)
	mux.HandleFunc("GET "+isolationPath, func(w http.ResponseWriter, r *http.Request) {
		setCommon(w.Header())
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin") // fetched by the opaque-origin iframe
		w.Write(isolationJS)
	})
	mux.HandleFunc("GET "+hookPath, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		hook := s.hook
		s.mu.Unlock()
		setCommon(w.Header())
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
		w.Write(hook) // empty when there is none: defines nothing, vetoes nothing
	})
	mux.Handle(WSPath, transport)
	return HostGuard(strings.TrimPrefix(s.Origin, "http://"), mux)
}

func (s *Server) serveFrame(w http.ResponseWriter, r *http.Request) {
	f, ok := s.take(r.PathValue("token"))
	h := w.Header()
	setCommon(h)
	h.Set("Cache-Control", "no-store")
	if !ok {
		http.Error(w, "gone", http.StatusGone)
		return
	}
	ws := "ws://" + strings.TrimPrefix(s.Origin, "http://") + WSPath
	h.Set("Content-Security-Policy", strings.Join([]string{
		"default-src 'none'",
		"script-src " + s.Origin + isolationPath + " " + s.Origin + hookPath,
		"connect-src " + ws,
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors " + f.parent,
		"sandbox allow-scripts",
	}, "; "))
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write(f.page)
}

// ServeBridge serves the bridge script on the app origin.
func ServeBridge(w http.ResponseWriter, r *http.Request) {
	SetAppHeaders(w.Header())
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(bridgeJS)
}

// ServeTauriGlobal serves window.__TAURI__ (the bundled @tauri-apps/api)
// on the app origin.
func ServeTauriGlobal(w http.ResponseWriter, r *http.Request) {
	SetAppHeaders(w.Header())
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(tauriGlobalJS)
}

// Bridge is what the bridge's tag tells it besides its iframe.
type Bridge struct {
	// API, when not empty, is the bridge's HTTP configuration (JSON: the
	// API prefixes and the status for each rejection code), for it to take
	// over the page's fetch and XMLHttpRequest for those prefixes.
	API string
	// Tauri, when not empty, is the Tauri shim's configuration (JSON:
	// {window, os}): the page gets Tauri's globals. TauriGlobal adds
	// window.__TAURI__ in a second script, right after the bridge.
	Tauri       string
	TauriGlobal bool
}

// InjectBridge returns page with the bridge script tag inserted so that it is
// the first script the browser runs: right after the doctype when there is
// one, else at the very start. The tag is short, so a <meta charset> stays in
// the first 1024 bytes.
func InjectBridge(page []byte, frameURL string, b Bridge) []byte {
	tag := `<script src="` + BridgePath + `" data-isogate-frame="` + html.EscapeString(frameURL) + `"`
	if b.API != "" {
		tag += ` data-isogate-api="` + html.EscapeString(b.API) + `"`
	}
	if b.Tauri != "" {
		tag += ` data-isogate-tauri="` + html.EscapeString(b.Tauri) + `"`
	}
	tag += `></script>`
	if b.TauriGlobal {
		tag += `<script src="` + TauriGlobalPath + `"></script>`
	}
	at := 0
	trimmed := bytes.TrimLeft(page, " \t\r\n\ufeff")
	if len(trimmed) >= 9 && strings.EqualFold(string(trimmed[:9]), "<!doctype") {
		if end := bytes.IndexByte(trimmed, '>'); end >= 0 {
			at = len(page) - len(trimmed) + end + 1
		}
	}
	out := make([]byte, 0, len(page)+len(tag))
	out = append(out, page[:at]...)
	out = append(out, tag...)
	return append(out, page[at:]...)
}
