package core

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/isogate/isogate/codes"
	"github.com/isogate/isogate/httpapi"
	"github.com/isogate/isogate/isolation"
	"github.com/isogate/isogate/policy"
)

// appHandler serves the wrapped app on one window's origin, to the browser
// or window isogate launched only (launchGate). Every page load gets a new
// session, labelled with the window, and the bridge as its first script.
func (c *Core) appHandler(win *window) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+isolation.BridgePath, isolation.ServeBridge)
	if c.tauri != nil && c.tauri.Global {
		mux.HandleFunc("GET "+isolation.TauriGlobalPath, isolation.ServeTauriGlobal)
	}
	if c.tauri != nil {
		// convertFileSrc's URLs: no asset protocol is served (it would need a
		// capability of the session's: a bare loopback URL is open to any
		// local process), and they never fall through to the app's files or
		// its dev server.
		for _, method := range []string{"GET ", "OPTIONS "} { // the unsafe methods are refused before the mux
			mux.HandleFunc(method+tauriAssetPath, func(w http.ResponseWriter, r *http.Request) {
				httpapi.WriteProblem(w, codes.Denied, "isogate: Tauri's asset protocol (convertFileSrc) is not served", nil)
			})
		}
	}
	mux.HandleFunc("POST "+isolation.FramePath, func(w http.ResponseWriter, r *http.Request) { c.serveNewFrame(win, w, r) })
	if c.appURL != nil {
		mux.Handle("/", c.proxyApp(win, c.appURL))
	} else {
		mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { c.serveApp(win, w, r) })
	}
	return isolation.HostGuard(win.host, c.unsealedGuard(win, c.launchGate(win, mux)))
}

// tauriAssetPath is where a Tauri page's convertFileSrc points
// (sandbox-js/src/tauri.js).
const tauriAssetPath = "/__isogate/asset/"

// unsealedGuard refuses what may only come through the gate: any request
// that could reach an API prefix, and any request with a method other than
// GET, HEAD or OPTIONS (a <form> post, a local process's curl -X DELETE).
// Gated requests never come this way: the core makes them itself. Each
// refusal is a decision on record, and answers as HTTP (problem+json).
func (c *Core) unsealedGuard(win *window, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		why := ""
		switch {
		case c.api.Reaches(r):
			why = "a request for the app's API that did not come through the isolation iframe"
		case !httpapi.SafeMethod(r.Method) && !(r.Method == http.MethodPost && r.URL.Path == isolation.FramePath):
			why = "a " + r.Method + " request that did not come through the isolation iframe"
		default:
			next.ServeHTTP(w, r)
			return
		}
		if suppressed, ok := c.unsealed.take(); ok {
			path := bounded(r.URL.EscapedPath())
			c.log.Warn("unsealed request refused", "window", win.label, "method", r.Method, "path", path, "remote", r.RemoteAddr, "suppressed", suppressed)
			if c.decisions != nil {
				p := c.policy.Load()
				in := policy.Prepare(policy.Input{Kind: policy.KindHTTP, Name: bounded(r.Method) + " " + path, Origin: win.origin,
					Window: win.label, Attributes: unsealedAttributes(r)})
				v := policy.Verdict{Code: codes.Denied, Reasons: []string{"unsealed: " + why}}
				e := policy.Entry{Policy: p, Input: in, Verdict: v, Unsealed: true, Suppressed: suppressed}
				if err := c.decisions.Record(r.Context(), e); err != nil {
					c.log.Error("unsealed refusal not logged", "err", err)
				}
			}
		}
		httpapi.WriteProblem(w, codes.Denied, "isogate: "+why+"; the app's API answers only through the gate", []string{"unsealed"})
	})
}

// Unsealed refusals need no cookie: anyone who can reach the port can send
// them, as fast as they like. Each is refused, but only UnsealedRate a
// second (in bursts of UnsealedBurst) are logged and recorded as decisions;
// the next recorded one counts those that were not (Decision.Suppressed),
// so a flood can neither fill the disk nor push the gate's own decisions
// out of the decision-log service's buffer.
const (
	UnsealedRate  = 10
	UnsealedBurst = 100
)

type unsealedRecord struct {
	limit      *rate.Limiter
	suppressed atomic.Uint64
}

func newUnsealedRecord() unsealedRecord {
	return unsealedRecord{limit: rate.NewLimiter(UnsealedRate, UnsealedBurst)}
}

// take reports whether this refusal is recorded, and how many were not
// since the last that was.
func (u *unsealedRecord) take() (suppressed uint64, ok bool) {
	if !u.limit.Allow() {
		u.suppressed.Add(1)
		return 0, false
	}
	return u.suppressed.Swap(0), true
}

// unsealedAttributes is what the decision log records of an unsealed
// request: its method, path and host, cut to a bound (anyone who can reach
// the port can send one, cookie or not), never its query or headers (which
// carry the launch cookie).
func unsealedAttributes(r *http.Request) *policy.Attributes {
	a := &policy.Attributes{}
	h := &a.Request.HTTP
	h.Method, h.Path, h.Host, h.Scheme = bounded(r.Method), bounded(r.URL.EscapedPath()), bounded(r.Host), "http"
	h.Headers = map[string]string{}
	return a
}

// bounded cuts what an unsealed request says about itself to 256 bytes
// for the logs.
func bounded(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}

func (c *Core) serveApp(win *window, w http.ResponseWriter, r *http.Request) {
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
		page, err := c.newPage(win, r, body)
		if err != nil {
			c.log.Warn("page refused", "err", err)
			http.Error(w, "isogate: cannot start a session for this page", http.StatusServiceUnavailable)
			return
		}
		body = page
		w.Header().Set("Cache-Control", "no-store")
		c.setPageCSP(win, w.Header())
	}
	w.Write(body)
}

// setPageCSP adds a Tauri app's own CSP (app.security.csp) to a page's
// headers, with isogate's iframe and scripts let in (isolation.AppCSP);
// the browser enforces it beside isogate's own.
func (c *Core) setPageCSP(win *window, h http.Header) {
	if c.tauri != nil && c.tauri.CSP != "" {
		h.Add("Content-Security-Policy", isolation.AppCSP(c.tauri.CSP, win.origin, c.iso.Origin))
	}
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

// serveNewFrame gives a page whose isolation iframe was removed or
// navigated a new session. launchGate has checked the launch cookie, which
// SameSite=Strict keeps from other sites; the custom header makes any
// cross-origin request a CORS preflight, which is never answered: only the
// app's own pages get here.
func (c *Core) serveNewFrame(win *window, w http.ResponseWriter, r *http.Request) {
	isolation.SetAppHeaders(w.Header())
	if r.Header.Get("X-Isogate") != "1" || (r.Header.Get("Sec-Fetch-Site") != "" && r.Header.Get("Sec-Fetch-Site") != "same-origin") {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	url, err := c.newFrame(win)
	if err != nil {
		c.log.Warn("frame refused", "err", err)
		http.Error(w, "cannot start a session", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{"frame": url})
}

// newPage starts a session for one page load and injects the bridge. An
// HTML response to a request that cannot be the user's page loading (the
// app fetching a template, say) is served as it is: no bridge, no session.
func (c *Core) newPage(win *window, r *http.Request, page []byte) ([]byte, error) {
	if why := pageLoad(r); why != "" {
		c.log.Debug("page served without a session", "path", r.URL.Path, "why", why)
		return page, nil
	}
	url, err := c.newFrame(win)
	if err != nil {
		return nil, err
	}
	return isolation.InjectBridge(page, url, c.bridgeTag(win)), nil
}

// bridgeTag is what the bridge of a page of win is told.
func (c *Core) bridgeTag(win *window) isolation.Bridge {
	b := isolation.Bridge{API: c.bridgeAPI}
	if c.tauri != nil {
		conf, _ := json.Marshal(map[string]string{"window": win.label, "os": runtime.GOOS})
		b.Tauri, b.TauriGlobal = string(conf), c.tauri.Global
	}
	return b
}

// newFrame starts a session of window win and returns its single-use
// iframe URL.
func (c *Core) newFrame(win *window) (string, error) {
	s, secret, err := c.sessions.create(c.limits, win.label, win.origin)
	if err != nil {
		return "", err
	}
	p := c.policy.Load()
	url, err := c.iso.Issue(isolation.Frame{
		Session: s.id,
		Secret:  base64.RawURLEncoding.EncodeToString(secret[:]),
		WS:      "ws://" + strings.TrimPrefix(c.iso.Origin, "http://") + isolation.WSPath,
		Schemas: p.Schemas(),
		Hook:    c.hookOf(p) != nil,
		Window:  win.label,
		Parent:  win.origin,
		Limits:  c.limits.frame(),
		HTTP:    c.compiledSpec(p).frame,
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
