package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Other sites open in the user's browser are untrusted. Chromium resolves
// evil.example to 127.0.0.1 here, which is also what a DNS-rebinding attacker
// arranges: its page then talks to isogate's ports under its own name.
func TestAttack_OtherSiteInTheBrowser(t *testing.T) {
	p := startIsogate(t, "demo", "--browser")
	ctx := browser(t, chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1"))
	openApp(t, ctx, p.URL)
	frameSrc := eval[string](t, ctx, `document.querySelector('iframe[sandbox]').src`)
	iso, _ := url.Parse(frameSrc)
	app, _ := url.Parse(p.URL)
	_, isoPort, _ := net.SplitHostPort(iso.Host)
	_, appPort, _ := net.SplitHostPort(app.Host)

	// The iframe URL was used by the page's own iframe: a second load gets no page.
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(frameSrc))
	if err != nil || resp.Status != http.StatusGone {
		t.Fatalf("second load of the iframe URL: %v %v, want 410", resp, err)
	}

	// Rebinding: the app and the iframe origin under another name are refused.
	for _, u := range []string{"http://evil.example:" + appPort + "/", "http://evil.example:" + isoPort + iso.Path} {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
		if err != nil || resp.Status != http.StatusMisdirectedRequest {
			t.Fatalf("%s: %v %v, want 421", u, resp, err)
		}
	}

	// A page of another site opens the transport: its Origin is its own.
	evilPort := visitEvil(t, ctx)
	got := eval[string](t, ctx, `new Promise((resolve) => {
	  const ws = new WebSocket('ws://127.0.0.1:`+isoPort+`/ws?s=' + '00'.repeat(16) + '&a=' + 'A'.repeat(43));
	  ws.onopen = () => resolve('open');
	  ws.onerror = () => resolve('refused');
	})`)
	if got != "refused" {
		t.Fatalf("WebSocket from http://evil.example: %s", got)
	}
	if !strings.Contains(p.stderr.String(), `origin=http://evil.example:`+evilPort) {
		t.Fatalf("the core did not log the refused foreign origin:\n%s", p.stderr.String())
	}
}

// visitEvil navigates the tab to a page of another site, http://evil.example
// (the browser maps it to 127.0.0.1), and returns its port.
func visitEvil(t *testing.T, ctx context.Context) string {
	t.Helper()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<!doctype html><title>evil</title>"))
	}))
	t.Cleanup(evil.Close)
	_, port, _ := net.SplitHostPort(evil.Listener.Addr().String())
	if _, err := chromedp.Run(ctx, chromedp.Navigate("http://evil.example:"+port+"/")); err != nil {
		t.Fatal(err)
	}
	return port
}
