// Package benchkit holds what make bench measures the same way in every
// browser: the page-side timing script, run by chromedp in Chromium and by
// the bench page in the WebKitGTK window, and the plain WebSocket JSON-RPC
// server that is the baseline, calling the demo's own handler code with no
// isolation, encryption, schema or policy.
package benchkit

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/coder/websocket"

	"github.com/isogate/isogate/demo"
)

// JS defines window.isogateBench in a page:
//   - calls(one, seqN, parN): {seq: ms per call, awaited one at a time,
//     after a warm-up; par: ms for parN calls in flight at once}
//   - hop(): ms per round trip between the page and an empty sandboxed
//     iframe echoing on a MessagePort, the isolation pattern's own floor
//   - relay(url): ms per round trip through the pattern doing no work: the
//     page posts to an empty sandboxed iframe, which sends 160 bytes to the
//     binary WebSocket echo at url and posts back when they return (a gate
//     with no checks, no crypto and no core)
//   - crypto(): {enc, dec}, µs for one WebCrypto AES-256-GCM encrypt and
//     decrypt of a call-sized frame, awaited one at a time (their latency)
//   - plain(url): a call(method, params) over a plain WebSocket JSON-RPC
//   - plainBinary(url): a call(bytes) sending bytes as one binary message
//     and resolving to the bytes that come back
const JS = `window.isogateBench = {
  async calls(one, seqN, parN) {
    for (let i = 0; i < 50; i++) await one(); // warm up
    let t0 = performance.now();
    for (let i = 0; i < seqN; i++) await one();
    const seq = (performance.now() - t0) / seqN;
    t0 = performance.now();
    await Promise.all(Array.from({length: parN}, one));
    return {seq, par: performance.now() - t0};
  },
  hop() {
    return this.viaFrame('onmessage = (e) => { const p = e.ports[0]; p.onmessage = (m) => p.postMessage(m.data); p.postMessage("open"); };');
  },
  relay(url) {
    return this.viaFrame('onmessage = (e) => { const p = e.ports[0]; const ws = new WebSocket(' + JSON.stringify(url) + '); ws.binaryType = "arraybuffer";' +
      ' ws.onopen = () => p.postMessage("open"); ws.onmessage = () => p.postMessage({type: "reply", id: 1, ok: true, result: {greeting: "Hello, bench!"}});' +
      ' p.onmessage = () => ws.send(new Uint8Array(160)); };');
  },
  async crypto() {
    const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt', 'decrypt']);
    const pt = new TextEncoder().encode(JSON.stringify({type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: {name: 'bench'}}));
    const p = () => ({name: 'AES-GCM', iv: new Uint8Array(12), additionalData: new Uint8Array(26)});
    const N = 1000;
    let ct;
    for (let i = 0; i < 100; i++) ct = await crypto.subtle.encrypt(p(), key, pt);
    let t0 = performance.now();
    for (let i = 0; i < N; i++) ct = await crypto.subtle.encrypt(p(), key, pt);
    const enc = (performance.now() - t0) / N * 1000;
    for (let i = 0; i < 100; i++) await crypto.subtle.decrypt(p(), key, ct);
    t0 = performance.now();
    for (let i = 0; i < N; i++) await crypto.subtle.decrypt(p(), key, ct);
    return {enc, dec: (performance.now() - t0) / N * 1000};
  },
  // viaFrame runs script in an empty sandboxed iframe, hands it a port and,
  // once it has posted that it is ready, times sequential round trips of a
  // call-sized message through it (ms each).
  viaFrame(script) {
    return new Promise((resolve) => {
      const f = document.createElement('iframe');
      f.setAttribute('sandbox', 'allow-scripts');
      f.srcdoc = '<script>' + script + '<' + '/script>';
      f.onload = async () => {
        const ch = new MessageChannel();
        let next = null;
        ch.port1.onmessage = () => next();
        await new Promise((ok) => { next = ok; f.contentWindow.postMessage('port', '*', [ch.port2]); });
        const one = () => new Promise((ok) => { next = ok; ch.port1.postMessage({type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: {name: 'bench'}}); });
        for (let i = 0; i < 50; i++) await one();
        const t0 = performance.now();
        for (let i = 0; i < 500; i++) await one();
        resolve((performance.now() - t0) / 500);
        f.remove();
      };
      document.body.appendChild(f);
    });
  },
  plain(url) {
    return new Promise((resolve) => {
      const ws = new WebSocket(url);
      const pending = new Map();
      let next = 1;
      ws.onmessage = (e) => { const m = JSON.parse(e.data); pending.get(m.id)(m.result); pending.delete(m.id); };
      ws.onopen = () => resolve((method, params) => new Promise((ok) => {
        const id = next++;
        pending.set(id, ok);
        ws.send(JSON.stringify({id, method, params}));
      }));
    });
  },
  plainBinary(url) {
    return new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      let next = null;
      ws.onmessage = (e) => next(new Uint8Array(e.data));
      ws.onopen = () => resolve((bytes) => new Promise((ok) => { next = ok; ws.send(bytes); }));
    });
  },
};`

// PlainRPC serves the baseline: JSON-RPC over a WebSocket, one text
// message per request and reply ("greet" as demo.greet, "invert" with the
// bytes as a JSON array of numbers, as Tauri's isolation sends them), and a
// binary message answered with its bytes inverted (the same bytes, both
// ways, as they are). A request for "report" hands its params to report,
// if given, and is answered with null.
func PlainRPC(report func(json.RawMessage)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		c.SetReadLimit(1 << 30)
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageBinary {
				if c.Write(ctx, websocket.MessageBinary, demo.Invert(msg)) != nil {
					return
				}
				continue
			}
			var req struct {
				ID     int             `json:"id"`
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			json.Unmarshal(msg, &req)
			var result any
			switch req.Method {
			case "greet":
				var p struct{ Name string }
				json.Unmarshal(req.Params, &p)
				result = map[string]string{"greeting": demo.Greet(p.Name)}
			case "invert":
				var p struct{ Data []int }
				json.Unmarshal(req.Params, &p)
				in := make([]byte, len(p.Data))
				for i, v := range p.Data {
					in[i] = byte(v)
				}
				out := demo.Invert(in)
				nums := make([]int, len(out))
				for i, b := range out {
					nums[i] = int(b)
				}
				result = map[string]any{"data": nums}
			case "report":
				if report != nil {
					report(req.Params)
				}
			}
			b, _ := json.Marshal(map[string]any{"id": req.ID, "result": result})
			if c.Write(ctx, websocket.MessageText, b) != nil {
				return
			}
		}
	})
}
