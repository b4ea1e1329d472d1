package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/isogate/isogate/internal/frameclient"
)

// startWrapped runs the wrap test app with the stdio backend and a decision
// log, in browser mode, with extra flags.
func startWrapped(t *testing.T, extra ...string) (*proc, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "backend.log")
	args := append([]string{"run", "--browser", "--app", "testdata/wrap/app", "--policy", "testdata/wrap/policy",
		"--upstream-cmd", python(t) + " testdata/backend.py " + logPath}, extra...)
	p := startLogged(t, args...)
	eventually(t, "the backend to start", func() bool { return strings.Contains(p.stderr.String(), "stdio backend started") })
	return p, logPath
}

// A second browser profile given the same URL after the launched browser
// used it, and a local process with no cookie, get a 403 page and no
// session; the launched browser keeps working without the token.
func TestLaunch_SecondProfileAndLocalProcessGetNoSession(t *testing.T) {
	p, _ := startWrapped(t)
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	if got := eval[string](t, ctx, `location.href`); strings.Contains(got, "token") {
		t.Fatalf("the token stayed in the address bar: %s", got)
	}
	openApp(t, ctx, p.Origin) // a reload, or a new tab: the cookie is enough
	if o := invoke(t, ctx, `'app.echo'`, `{}`); !o.OK {
		t.Fatalf("the launched browser after a reload: %+v", o)
	}

	other := browser(t) // a second profile: no cookie
	for _, u := range []string{p.URL, p.Origin, p.Origin + "some/route"} {
		resp, err := chromedp.Run(other, chromedp.NavigateResponse(u))
		if err != nil || resp.Status != http.StatusForbidden {
			t.Fatalf("second profile, %s: %v %v, want 403", u, resp, err)
		}
		if eval[bool](t, other, `typeof window.isogate !== 'undefined' || document.querySelector('iframe') !== null`) {
			t.Fatalf("second profile, %s: the page has a bridge or an iframe", u)
		}
	}
	local := frameclient.NewBrowser()
	for _, try := range []struct{ method, u string }{{"GET", p.URL}, {"GET", p.Origin}, {"POST", p.Origin + "__isogate/frame"}} {
		req, _ := http.NewRequest(try.method, try.u, nil)
		req.Header.Set("X-Isogate", "1")
		resp, err := local.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("local process, %s %s: %d, want 403", try.method, try.u, resp.StatusCode)
		}
	}
	if _, err := frameclient.LoadWith(local, p.URL); err == nil {
		t.Fatal("a local process got a session with the spent token")
	}
}

// Another site's page floods the app origin with page requests; a new tab
// of the launched browser still starts and works.
func TestLaunch_OtherSitesFloodLeavesANewTabWorking(t *testing.T) {
	p, _ := startWrapped(t)
	ctx := browser(t, chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1"))
	openApp(t, ctx, p.URL)
	visitEvil(t, ctx)
	// More page requests than MaxSessions (4096), blind: no-cors fetches of
	// extension-less paths, and a few frames.
	sent := eval[int](t, ctx, `(async () => {
	  const app = `+"`"+p.Origin+"`"+`;
	  let n = 0;
	  for (let i = 0; i < 4200; i += 100) {
	    await Promise.all(Array.from({length: 100}, (_, j) => fetch(app + 'flood/' + (i + j), {mode: 'no-cors'}).then(() => n++, () => n++)));
	  }
	  for (let i = 0; i < 20; i++) { const f = document.createElement('iframe'); f.src = app + 'frame/' + i; document.body.appendChild(f); }
	  return n;
	})()`)
	if sent < 4200 {
		t.Fatalf("only %d flood requests completed", sent)
	}
	openApp(t, ctx, p.Origin)
	if o := invoke(t, ctx, `'app.echo'`, `{after: 'flood'}`); !o.OK {
		t.Fatalf("a new tab after the flood: %+v", o)
	}
	if strings.Contains(p.stderr.String(), "cannot start a session") || strings.Contains(p.stderr.String(), "page refused") {
		t.Fatalf("the flood got pages refused:\n%s", p.stderr.String())
	}
}

// A backend's event for one page reaches that page only: another tab of
// the same browser, listening to the same event, does not see its path.
func TestLaunch_AnotherTabDoesNotReceiveThisTabsEvents(t *testing.T) {
	p, _ := startWrapped(t)
	first := browser(t)
	openApp(t, first, p.URL)
	second, cancel := chromedp.NewContext(first) // another tab of the same browser
	defer cancel()
	openApp(t, second, p.Origin)
	onlyReached(t, first, first, second, "app.saved", `'app.save'`, `{n: 7}`)
}

// onlyReached has the page caller run cmd with args, which makes the
// backend emit event to target (the caller itself, or another page), and
// checks that target gets it once and other, listening too, never does.
func onlyReached(t *testing.T, caller, target, other context.Context, event, cmd, args string) {
	t.Helper()
	collectEvents(t, target, event)
	collectEvents(t, other, event)
	if o := invoke(t, caller, cmd, args); !o.OK {
		t.Fatalf("%s: %+v", cmd, o)
	}
	eventually(t, "the addressed page's "+event, func() bool {
		return eval[int](t, target, `window.got['`+event+`'].length`) == 1
	})
	// The other page's next round trip comes after the event was sent.
	invoke(t, other, `'app.echo'`, `{}`)
	if n := eval[int](t, other, `window.got['`+event+`'].length`); n != 0 {
		t.Fatalf("a page the event was not addressed to received it %d times", n)
	}
}

// Two windows: the policy sees the label, the backend addresses a window,
// and the decision log records each label.
func TestWindows_TwoLabelsInChromium(t *testing.T) {
	p, _ := startWrapped(t, "--window", "editor")
	editorURL := p.windowURL(t, "editor")
	main := browser(t)
	openApp(t, main, p.URL)
	editor, cancel := chromedp.NewContext(main)
	defer cancel()
	openApp(t, editor, editorURL)
	if eval[string](t, editor, `location.origin`) == eval[string](t, main, `location.origin`) {
		t.Fatal("the two windows share an origin")
	}
	if o := invoke(t, main, `'app.mainonly'`, `{}`); !o.OK || o.get("window") != "main" {
		t.Fatalf("app.mainonly in main: %+v", o)
	}
	if o := invoke(t, editor, `'app.mainonly'`, `{}`); o.Code != "denied" {
		t.Fatalf("app.mainonly in editor: %+v, want denied", o)
	}
	onlyReached(t, main, editor, main, "app.news", `'app.towindow'`, `{window: 'editor', headline: 'for the editor'}`)
	if labels := windowsDecided(t, p.decisionLog, "app.mainonly"); !labels["main"] || !labels["editor"] {
		t.Fatalf("decision log labels for app.mainonly: %v", labels)
	}
}

// An event sent because of a call made right after an un-awaited listen
// reaches the listener, 200 times in a row.
func TestListen_NoEventLostRightAfterListen(t *testing.T) {
	p, _ := startWrapped(t)
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	got := eval[int](t, ctx, `(async () => {
	  for (let i = 0; i < 200; i++) {
	    let arrived;
	    const seen = new Promise((resolve) => { arrived = resolve; });
	    const listening = isogate.listen('app.saved', (e) => { if (e.payload.n === i) arrived(true); });
	    await isogate.invoke('app.save', {n: i}); // the listen is not awaited first
	    const unlisten = await listening;
	    const ok = await Promise.race([seen, new Promise((r) => setTimeout(() => r(false), 5000))]);
	    unlisten();
	    if (!ok) return i;
	  }
	  return 200;
	})()`)
	if got != 200 {
		t.Fatalf("the event of round %d was lost", got)
	}
}

// The page navigates its own isolation iframe: the call in flight settles
// unavailable, a fresh iframe and session are mounted, and the next call
// works. Both ways a page can navigate it are tried.
func TestBridge_NavigatedIframeSettlesCallsAndRecovers(t *testing.T) {
	p, logPath := startWrapped(t)
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	sleeps := 0
	for _, how := range []string{
		`document.querySelector('iframe[sandbox]').src = 'about:blank'`,
		`document.querySelector('iframe[sandbox]').contentWindow.location = 'about:blank'`,
	} {
		type result struct {
			Code      string  `json:"code"`
			Ms        float64 `json:"ms"`
			Next      bool    `json:"next"`
			Iframes   int     `json:"iframes"`
			NewSource bool    `json:"newSource"`
		}
		eval[bool](t, ctx, `(() => {
		  window.before = document.querySelector('iframe[sandbox]').src;
		  window.call = isogate.invoke('app.sleep', {ms: 4000});
		  return true;
		})()`)
		// In flight means the backend has it.
		sleeps++
		eventually(t, "the call to reach the backend", func() bool {
			return strings.Count(backendLog(t, logPath), `"app.sleep"`) >= sleeps
		})
		r := eval[result](t, ctx, `(async () => {
		  const before = window.before;
		  const t0 = performance.now();
		  `+how+`;
		  let code = 'resolved';
		  try { await call; } catch (e) { code = e.code; }
		  const ms = performance.now() - t0;
		  const next = await isogate.invoke('app.echo', {after: 'navigation'}).then(() => true, () => false);
		  const frames = document.querySelectorAll('iframe[sandbox]');
		  return {code, ms, next, iframes: frames.length, newSource: frames.length === 1 && frames[0].src !== before};
		})()`)
		t.Logf("%s: settled %s after %.0f ms", how, r.Code, r.Ms)
		if r.Code != "unavailable" || !r.Next || r.Iframes != 1 || !r.NewSource {
			t.Fatalf("%s: %+v", how, r)
		}
	}
}

// The launch cookie and token never reach a dev server, while the app's
// own cookies do.
func TestLaunch_DevServerNeverSeesTheLaunchCookie(t *testing.T) {
	var seen syncBuffer
	dev := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Write([]byte(r.Method + " " + r.URL.String() + " cookie=" + strings.Join(r.Header.Values("Cookie"), "|") + "\n"))
		if r.URL.Path == "/data.json" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>dev</title><script>document.cookie = 'app=mine; path=/'</script>`))
	}))
	defer dev.Close()
	p := startIsogate(t, "run", "--browser", "--app", dev.URL, "--policy", "testdata/wrap/policy")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	if !eval[bool](t, ctx, `fetch('/data.json').then((r) => r.json()).then((j) => j.ok === true)`) {
		t.Fatal("the app's fetch through the proxy")
	}
	u, _ := url.Parse(p.URL)
	token := u.Query().Get("token")
	log := seen.String()
	if strings.Contains(log, "isogate-launch") || strings.Contains(log, token) {
		t.Fatalf("the dev server saw the launch cookie or token:\n%s", log)
	}
	if !strings.Contains(log, "/data.json cookie=app=mine") {
		t.Fatalf("the app's own cookie did not reach the dev server:\n%s", log)
	}
}
