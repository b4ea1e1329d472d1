package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/isogate/isogate/internal/frameclient"
)

// capture records the isolation iframe's WebSocket URL and the binary frames
// it sends, as anyone watching the loopback traffic could.
type capture struct {
	mu     sync.Mutex
	url    string
	frames [][]byte
}

func (c *capture) listen(t *testing.T, ctx context.Context) {
	if err := chromedp.Do(ctx); err != nil { // open the tab so no event is missed
		t.Fatal(err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventWebSocketCreated:
			if c.url == "" { // the isolation iframe's, made at load; later ones are the page's own
				c.url = e.URL
			}
		case *network.EventWebSocketFrameSent:
			if e.Response.Opcode == 2 {
				c.frames = append(c.frames, append([]byte(nil), e.Response.PayloadData...)) // cdproto has decoded the base64
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (c *capture) get() (string, [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url, append([][]byte(nil), c.frames...)
}

// replay dials the captured URL as the iframe would and writes frame. It
// reports how the core answered: "refused" at the handshake, "closed" after
// the frame, or "answered" if anything came back.
func replay(t *testing.T, url string, frame []byte) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := frameclient.DialSession(ctx, url) // waits out the previous attempt's 409
	if err != nil {
		return "refused"
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
		return "closed"
	}
	if _, _, err := conn.Read(ctx); err != nil {
		if websocket.CloseStatus(err) == websocket.StatusPolicyViolation {
			return "closed"
		}
		return "error: " + err.Error()
	}
	return "answered"
}

// waitDisconnected waits until the session's own connection is gone: until
// then the core refuses a second one (409) before any frame is read.
func waitDisconnected(t *testing.T, url string) {
	t.Helper()
	conn, err := frameclient.DialSession(context.Background(), url)
	if err != nil {
		t.Fatalf("waiting for the page's connection to end: %v", err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
}

// capturingBrowser is a browser whose isolation iframe's WebSocket traffic
// the test can see. Chromium runs sandboxed iframes in their own process,
// whose network events reach another DevTools target; for the capture only,
// the iframe stays in the page's process. No back-forward cache, so leaving
// a page really closes its socket.
func capturingBrowser(t *testing.T) (context.Context, *capture) {
	ctx := browser(t, chromedp.Flag("disable-features", "IsolateSandboxedIframes,BackForwardCache"))
	cap := &capture{}
	cap.listen(t, ctx)
	return ctx, cap
}

func TestAttack_CapturedFramesReplayedFromOutsideDoNothing(t *testing.T) {
	p := startLogged(t, "demo", "--browser")
	ctx, cap := capturingBrowser(t)
	openApp(t, ctx, p.URL)
	_, before := cap.get()
	base := p.decisions(t, "demo.greet")
	for _, name := range []string{"Ada", "Bo"} {
		if o := invoke(t, ctx, `'demo.greet'`, `{name: '`+name+`'}`); !o.OK {
			t.Fatalf("greet %s: %+v", name, o)
		}
	}
	url, frames := cap.get()
	frames = frames[len(before):]
	if url == "" || len(frames) != 2 {
		t.Fatalf("captured url %q and %d frames, want the transport URL and 2 frames", url, len(frames))
	}
	if !strings.Contains(url, "&a=") {
		t.Fatalf("captured URL %q carries no transport token", url)
	}

	// While the page is connected, the session takes no second connection.
	if conn, resp, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"null"}}}); err == nil {
		conn.CloseNow()
		t.Fatal("a second connection to the live session was accepted")
	} else if resp == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("second connection to the live session: %v, want 409", err)
	}
	// Close the page: the session waits for its iframe to reconnect. The
	// captured URL now gets through the handshake, but the frames do not.
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	waitDisconnected(t, url)
	for i, f := range frames {
		if got := replay(t, url, f); got != "closed" {
			t.Fatalf("replay of captured frame %d: %s", i, got)
		}
		for _, bit := range []int{0, 8 + 1, 2*8 + 3, 18*8 + 7, 26*8 + 5, (len(f)-1)*8 + 2} {
			bad := append([]byte(nil), f...)
			bad[bit/8] ^= 1 << (bit % 8)
			if got := replay(t, url, bad); got != "closed" {
				t.Fatalf("captured frame %d with bit %d flipped: %s", i, bit, got)
			}
		}
	}
	if n := p.decisions(t, "demo.greet") - base; n != 2 {
		t.Fatalf("core decided %d demo.greet messages, want the 2 the page sent", n)
	}
}

func TestAttack_ThirdPartyFrameCannotForgeRequestsOrReplies(t *testing.T) {
	p := startLogged(t, "demo", "--browser")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	base := p.decisions(t, "demo.greet")
	// A third-party iframe (think: an ad) inside the page floods the bridge
	// with reply-shaped messages and the isolation iframe with request-shaped
	// ones, while the page makes real calls.
	eval[bool](t, ctx, `new Promise((resolve) => {
	  const evil = document.createElement('iframe');
	  evil.setAttribute('sandbox', 'allow-scripts');
	  evil.srcdoc = '<script>' +
	    'const iso = parent.frames[0];' +
	    'function flood() {' +
	    '  for (let id = 1; id < 20; id++) {' +
	    '    parent.postMessage({type: "reply", id, ok: true, result: {greeting: "forged"}}, "*");' +
	    '    parent.postMessage({type: "ready"}, "*");' +
	    '    iso.postMessage({type: "invoke", id: 1000 + id, kind: "command", name: "demo.greet", args: {name: "evil"}}, "*");' +
	    '  }' +
	    '}' +
	    'flood(); setInterval(flood, 20); parent.postMessage("evil-started", "*");' +
	    '<' + '/script>';
	  addEventListener('message', (e) => { if (e.data === 'evil-started') resolve(true); });
	  document.body.appendChild(evil);
	})`)
	for i := 0; i < 10; i++ {
		o := invoke(t, ctx, `'demo.greet'`, `{name: 'Ada'}`)
		if !o.OK || o.get("greeting") != "Hello, Ada!" {
			t.Fatalf("call %d settled with %+v while a third-party frame forged replies", i, o)
		}
	}
	if n := p.decisions(t, "demo.greet") - base; n != 10 {
		t.Fatalf("core decided %d demo.greet messages, want only the page's 10", n)
	}
}

func TestAttack_IsolationHookVetoes(t *testing.T) {
	p := startLogged(t, "demo", "--browser")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	base := p.decisions(t, "demo.greet")
	o := invoke(t, ctx, `'demo.greet'`, `{name: '<img src=x onerror=alert(1)>'}`)
	if o.OK || o.Code != "hook_rejected" {
		t.Fatalf("markup past the hook: %+v", o)
	}
	if n := p.decisions(t, "demo.greet") - base; n != 0 {
		t.Fatalf("a vetoed call reached the core (%d decisions)", n)
	}
}

// The iframe takes one channel, the bridge's, handed over when it loaded.
// Page script that hands it a second one and speaks on it gets nothing
// through: no reply, and the core never sees the request.
func TestAttack_SecondChannelFromThePageIsIgnored(t *testing.T) {
	p := startLogged(t, "demo", "--browser")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	base := p.decisions(t, "demo.notes.write")
	replies := eval[int](t, ctx, `new Promise((resolve) => {
	  const frame = document.querySelector('iframe[sandbox]').contentWindow;
	  const ch = new MessageChannel();
	  let n = 0;
	  ch.port1.onmessage = () => { n++; };
	  frame.postMessage({type: 'port'}, '*', [ch.port2]);
	  const req = (id) => ({type: 'invoke', id, kind: 'command', name: 'demo.notes.write', args: {path: 'second-channel.txt', text: 'x'}});
	  ch.port1.postMessage(req(910001));
	  ch.port1.postMessage({type: 'batch', messages: [req(910002), req(910003)]});
	  // A call on the bridge's channel after them: by its reply the iframe
	  // has handled all three, and the core has logged whatever reached it.
	  isogate.invoke('demo.greet', {name: 'after'}).then(
	    () => setTimeout(() => resolve(n), 0), // and any port message queued before it has run
	    () => resolve(-1));
	})`)
	if replies != 0 {
		t.Fatalf("%d messages came back on the page's own channel (-1: the bridge's own channel stopped working)", replies)
	}
	if n := p.decisions(t, "demo.notes.write") - base; n != 0 {
		t.Fatalf("the core decided %d requests sent on the page's channel", n)
	}
}
