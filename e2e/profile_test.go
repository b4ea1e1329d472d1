package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/isogate/isogate/internal/frameclient"
)

// frameTarget is a context on the isolation iframe's own renderer: Chromium
// runs a sandboxed iframe out of process, as its own DevTools target.
func frameTarget(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	targets, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range targets {
		if ti.Type == "iframe" && strings.Contains(ti.URL, "/frame") {
			fctx, _ := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
			return fctx
		}
	}
	var seen []string
	for _, ti := range targets {
		seen = append(seen, ti.Type+" "+ti.URL)
	}
	t.Fatalf("no isolation iframe target among %v", seen)
	return nil
}

// frameMarksJS wraps, in the iframe's realm, what a call passes through
// there, recording when: a message read from the page's port, WebCrypto's
// encrypt and decrypt (start and result), the WebSocket's send, and the
// post back to the page.
const frameMarksJS = `(() => {
  const m = globalThis.__marks = {in: [], enc0: [], enc1: [], send: [], dec0: [], dec1: [], post: []};
  const now = () => performance.now();
  const s = crypto.subtle, enc = s.encrypt.bind(s), dec = s.decrypt.bind(s);
  s.encrypt = (...a) => { m.enc0.push(now()); return enc(...a).then((r) => (m.enc1.push(now()), r)); };
  s.decrypt = (...a) => { m.dec0.push(now()); return dec(...a).then((r) => (m.dec1.push(now()), r)); };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) { m.send.push(now()); return send.call(this, d); };
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (...a) { m.post.push(now()); return post.apply(this, a); };
  const data = Object.getOwnPropertyDescriptor(MessageEvent.prototype, 'data').get;
  Object.defineProperty(MessageEvent.prototype, 'data', { configurable: true, get() {
    if (this.target instanceof MessagePort) m.in.push(now());
    return data.call(this);
  } });
  return true;
})()`

// pageMarksJS times n sequential calls in the page, after a warm-up: the
// call, the bridge's post to the iframe, the result.
const pageMarksJS = `(async (n) => {
  const m = {c0: [], post: [], c1: []};
  const now = () => performance.now();
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (...a) { m.post.push(now()); return post.apply(this, a); };
  const one = () => isogate.invoke('demo.greet', {name: 'bench'});
  for (let i = 0; i < 50; i++) await one();
  m.post.length = 0;
  for (let i = 0; i < n; i++) { m.c0.push(now()); await one(); m.c1.push(now()); }
  MessagePort.prototype.postMessage = post;
  return m;
})`

// profile is where one sequential call's time goes, in µs: each hop the
// mean over the calls.
type profile struct {
	Total       float64 // the page's await
	Bridge      float64 // page: the call until the bridge posts to the iframe
	Ports       float64 // the two MessagePort hops, and the bridge settling the promise
	Checks      float64 // iframe: shape, schema, encoding
	Seal        float64 // iframe: WebCrypto encrypt, start to result
	ToSocket    float64 // iframe: the frame built and handed to the WebSocket
	WireAndCore float64 // iframe: WebSocket send until the reply is read (loopback, the core)
	Open        float64 // iframe: WebCrypto decrypt, start to result
	ToPort      float64 // iframe: the reply checked and posted to the page
}

// profileCalls runs n sequential calls with marks on both sides and
// attributes their time. Times of one realm are only compared with times of
// the same realm: the page's and the iframe's clocks are not one.
func profileCalls(t *testing.T, ctx, fctx context.Context, n int) profile {
	t.Helper()
	eval[bool](t, fctx, frameMarksJS)
	type pageMarks struct{ C0, Post, C1 []float64 }
	type frameMarks struct{ In, Enc0, Enc1, Send, Dec0, Dec1, Post []float64 }
	pm := eval[pageMarks](t, ctx, fmt.Sprintf("%s(%d)", pageMarksJS, n))
	fm := eval[frameMarks](t, fctx, `(() => { const m = globalThis.__marks; delete globalThis.__marks; return m; })()`)
	if len(pm.C0) != n || len(pm.Post) < n || len(fm.Enc0) != len(fm.In) || len(fm.Enc1) != len(fm.In) || len(fm.Send) != len(fm.In) || len(fm.In) < n {
		t.Fatalf("marks: %d calls, %d posts; in the iframe %d messages, %d/%d seals, %d sends; want one of each per call", len(pm.C0), len(pm.Post), len(fm.In), len(fm.Enc0), len(fm.Enc1), len(fm.Send))
	}
	// after is the first time in ts at or after at.
	after := func(ts []float64, at float64) float64 {
		i := sort.SearchFloat64s(ts, at)
		if i == len(ts) {
			t.Fatalf("no mark after %.3f", at)
		}
		return ts[i]
	}
	var hops [9][]float64
	for i := range n {
		c0, c1 := pm.C0[i], pm.C1[i]
		post := after(pm.Post, c0)
		// Each call is one message from the page, one seal and one send
		// (nothing else is sent meanwhile): the measured calls are the last
		// n of each. Replies are paired by time, as events come in too.
		k := func(ts []float64) float64 { return ts[len(ts)-n+i] }
		in, e0, e1, send := k(fm.In), k(fm.Enc0), k(fm.Enc1), k(fm.Send)
		d0 := after(fm.Dec0, send)
		d1 := after(fm.Dec1, d0)
		back := after(fm.Post, d1)
		total := c1 - c0
		for k, v := range []float64{total, post - c0, total - (post - c0) - (back - in), e0 - in, e1 - e0, send - e1, d0 - send, d1 - d0, back - d1} {
			hops[k] = append(hops[k], v*1000)
		}
	}
	// Means, not medians: Chromium gives pages times in steps of 100 µs,
	// with a jitter that averages out over many calls, not in one.
	mean := func(v []float64) float64 {
		sum := 0.0
		for _, x := range v {
			sum += x
		}
		return sum / float64(len(v))
	}
	return profile{mean(hops[0]), mean(hops[1]), mean(hops[2]), mean(hops[3]), mean(hops[4]), mean(hops[5]), mean(hops[6]), mean(hops[7]), mean(hops[8])}
}

// parts measures, alone and in the same browser, what a gated call is made
// of: WebCrypto's AES-GCM encrypt and decrypt of a call-sized frame
// (awaited one at a time: their latency), a binary WebSocket echo from a
// sandboxed iframe, and, from Go, a round trip through the running core
// against one to a plain WebSocket echo. All in µs.
type parts struct {
	Encrypt, Decrypt, IframeEcho float64
	GoCore, GoEcho               float64
}

func measureParts(t *testing.T, ctx context.Context) parts {
	t.Helper()
	echo := echoWS(t)
	var r parts
	crypto := eval[struct{ Enc, Dec float64 }](t, ctx, `isogateBench.crypto()`)
	r.Encrypt, r.Decrypt = crypto.Enc, crypto.Dec
	r.IframeEcho = eval[float64](t, ctx, `new Promise((resolve) => {
	  const f = document.createElement('iframe');
	  f.setAttribute('sandbox', 'allow-scripts');
	  f.style.cssText = 'display:none!important';
	  f.srcdoc = '<script>(async () => { const ws = new WebSocket("`+echo+`"); ws.binaryType = "arraybuffer";' +
	    ' await new Promise((ok) => ws.onopen = ok); let next; ws.onmessage = () => next();' +
	    ' const rt = () => new Promise((ok) => { next = ok; ws.send(new Uint8Array(160)); });' +
	    ' for (let i = 0; i < 50; i++) await rt(); const t0 = performance.now(); for (let i = 0; i < 500; i++) await rt();' +
	    ' parent.postMessage((performance.now() - t0) / 500 * 1000, "*"); })();<' + '/script>';
	  const done = (e) => { if (e.source !== f.contentWindow) return; removeEventListener('message', done); f.remove(); resolve(e.data); };
	  addEventListener('message', done);
	  document.body.appendChild(f);
	})`)
	r.GoCore = goRoundTrip(t, benchIsogate(t).URL, "") // a core of its own: the page's launch URL is spent
	r.GoEcho = goRoundTrip(t, "", echo)
	return r
}

// goRoundTrip is the mean of sequential round trips from Go, in µs: gated
// calls through the core of the app at appURL (a session of its own), or
// 160-byte binary messages to the WebSocket echo at echoURL.
func goRoundTrip(t *testing.T, appURL, echoURL string) float64 {
	t.Helper()
	ctx := context.Background()
	var one func(i int)
	if appURL != "" {
		f, err := frameclient.Load(appURL)
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		one = func(i int) {
			if _, err := f.Send(ctx, c, frameclient.Invoke(i, "demo.greet", `{"name":"bench"}`)); err != nil {
				t.Fatal(err)
			}
			for {
				r, err := f.Recv(ctx, c)
				if err != nil {
					t.Fatal(err)
				}
				if r.Type == "reply" {
					return
				}
			}
		}
	} else {
		c, _, err := websocket.Dial(ctx, echoURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		msg := make([]byte, 160)
		one = func(int) {
			if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	const warm, n = 200, 2000
	for i := 1; i <= warm; i++ {
		one(i)
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		one(warm + 1 + i)
	}
	return float64(time.Since(t0).Nanoseconds()) / n / 1000
}

// echoChild, set in a child's environment, makes the test binary a plain
// WebSocket echo on loopback (serveEcho): a process of its own, as the core
// it is compared with is.
const echoChild = "ISOGATE_E2E_ECHO"

// echoWS starts a plain WebSocket echo in a child process.
func echoWS(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), echoChild+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the echo child: %v", err)
	}
	return strings.TrimSpace(line)
}

func serveEcho() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println("ws://" + ln.Addr().String() + "/")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		c.SetReadLimit(1 << 30)
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if c.Write(context.Background(), typ, msg) != nil {
				return
			}
		}
	}))
	os.Exit(1)
}

// printProfile prints the profile and the parts, for make bench.
func printProfile(ctx context.Context, t *testing.T) {
	fctx := frameTarget(t, ctx)
	quiet(t, fctx) // the iframe's WebSocket is its renderer's
	pr := profileCalls(t, ctx, fctx, 500)
	fmt.Printf("P2 profile µs per sequential call, marks in the page and the iframe (DevTools attached to both, which slows the iframe): total %.0f = bridge %.0f + MessagePort hops and settling %.0f + iframe checks %.0f + seal %.0f + frame to socket %.0f + WebSocket and core %.0f + open %.0f + reply to port %.0f\n",
		pr.Total, pr.Bridge, pr.Ports, pr.Checks, pr.Seal, pr.ToSocket, pr.WireAndCore, pr.Open, pr.ToPort)
	ps := measureParts(t, ctx)
	fmt.Printf("P2 parts alone µs: WebCrypto AES-GCM encrypt %.0f, decrypt %.0f (awaited); binary WebSocket echo from a sandboxed iframe %.0f; from Go, a gated call through the core %.0f against a plain WebSocket echo %.0f\n",
		ps.Encrypt, ps.Decrypt, ps.IframeEcho, ps.GoCore, ps.GoEcho)
}
