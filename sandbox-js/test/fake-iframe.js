// A bridge mounted on a fake document, for tests. The test plays the
// iframe: it gets the channel's other end when the iframe "loads", sees
// what the bridge posts on it, and speaks on it.
import { createBridge } from '../src/bridge.js';

export function mountBridge({ fetch = async () => ({ ok: false }), ready = true } = {}) {
  const frameWin = { posted: [], port: null, postMessage(m, origin, transfer) { this.port = transfer[0]; this.port.onmessage = (e) => this.posted.push(e.data); } };
  const iframe = { setAttribute() {}, style: {}, contentWindow: frameWin, isConnected: true, addEventListener(type, fn) { this.onload = fn; }, remove() { this.isConnected = false; } };
  const fakeDocument = { createElement: () => iframe, documentElement: { appendChild() {} } };
  const realSetInterval = globalThis.setInterval;
  globalThis.setInterval = () => 0; // no watch for a removed iframe
  let call = null; // the bridge's own call(kind, name, args, signal, tauri)
  const bridge = createBridge({ frameURL: 'x', document: fakeDocument, fetch, withCall: (c) => { call = c; } });
  globalThis.setInterval = realSetInterval;
  iframe.onload();
  const fromFrame = (data) => frameWin.port.postMessage(data);
  if (ready) fromFrame({ type: 'ready' });
  return { bridge, call, frameWin, iframe, fromFrame, close: () => frameWin.port.close() };
}
