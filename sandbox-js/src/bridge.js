// The bridge, injected by the core as the first script of every page. It runs
// in the untrusted main frame and holds nothing secret: it creates the
// isolation iframe, forwards calls to it and settles promises from its
// replies. It talks to the iframe over a MessageChannel whose other end it
// hands to that iframe alone, so nothing else can speak on it.

import { batcher, unbatch } from './batch.js';
import { parsePointer, holderOf, setOwn, buffersOf } from './binary.js';

// How often the bridge checks that its iframe is still in the document.
const WATCH_MS = 250;

// withCall, if given, gets the bridge's call(kind, name, args, signal,
// tauri) for the bridge's own users of other kinds (http.js, tauri.js);
// tap, if given, gets every event ({name, payload, target}) and every
// message for a Tauri Channel, as they come.
export function createBridge({ frameURL, document, fetch, MessageChannel = globalThis.MessageChannel, withCall = null, tap = null }) {
  const pending = new Map(); // call id -> {resolve, reject}
  const streams = new Map(); // call id -> the controller of its result's ReadableStream
  const listeners = new Map(); // event name -> Set of handlers
  let nextID = 1;
  let waiting = 0; // calls copied and not yet queued (call)
  let iframe = null;
  let frame = null; // the current iframe's window
  let toFrame = null; // posts to the current iframe, batched
  let port = null; // our end of the current iframe's channel
  let ready;
  let markReady;

  function fail(code, message) {
    const err = new Error(message);
    err.name = 'IsogateError';
    err.code = code;
    return err;
  }

  // resetReady makes calls wait for the next iframe; a wait already pending
  // is kept, so no caller is left on a promise that will never settle.
  let isReady = true;
  function resetReady() {
    if (!isReady) return;
    isReady = false;
    ready = new Promise((resolve) => { markReady = () => { isReady = true; resolve(); }; });
  }

  function mount(url) {
    iframe = document.createElement('iframe');
    iframe.setAttribute('sandbox', 'allow-scripts');
    iframe.setAttribute('aria-hidden', 'true');
    iframe.setAttribute('tabindex', '-1');
    iframe.style.cssText = 'display:none!important';
    iframe.src = url;
    (document.body || document.documentElement).appendChild(iframe);
    const target = iframe.contentWindow;
    const mounted = iframe;
    frame = target;
    // Our end of the channel is the only way messages reach the bridge; the
    // other goes to this iframe's window once it has loaded. A MessagePort
    // also skips the browser process when the sandboxed iframe runs in its
    // own (window.postMessage to another process goes through it).
    if (port !== null) port.close(); // the replaced iframe's channel
    const ch = new MessageChannel();
    port = ch.port1;
    ch.port1.onmessage = (ev) => { if (frame === target) unbatch(ev.data, receive); };
    // The first load is the isolation page; any later one means the page
    // navigated the iframe (src, location): what ran there is gone, and so
    // is its session. Calls in flight settle and a fresh iframe is mounted.
    let loads = 0;
    iframe.addEventListener('load', () => {
      if (loads++ === 0) target.postMessage({ type: 'port' }, '*', [ch.port2]);
      else if (iframe === mounted) retry();
    });
    // A batch for an iframe that was replaced meanwhile is dropped: its
    // calls were rejected when it went, and must not run in the new one.
    toFrame = batcher((m, transfer) => { if (frame === target) ch.port1.postMessage(m, transfer); });
  }

  // remount replaces an iframe the page removed: calls in flight settle as
  // unavailable, a new session is asked for, and listeners are re-registered.
  async function remount() {
    frame = null;
    if (iframe !== null && iframe.isConnected) iframe.remove(); // navigated away: not ours any more
    resetReady(); // calls from now on wait for the new iframe
    for (const [, p] of pending) p.reject(fail('unavailable', 'the isolation iframe was removed'));
    pending.clear();
    for (const [, ctrl] of streams) ctrl.error(fail('unavailable', 'the isolation iframe was removed'));
    streams.clear();
    try {
      const res = await fetch('/__isogate/frame', { method: 'POST', headers: { 'X-Isogate': '1' } });
      if (!res.ok) throw new Error(String(res.status));
      mount((await res.json()).frame);
      await ready;
      for (const name of listeners.keys()) call('listen', name, null).catch(() => {});
    } catch {
      setTimeout(retry, 1000);
    }
  }

  let remounting = false;
  async function retry() {
    if (remounting) return;
    remounting = true;
    try { await remount(); } finally { remounting = false; }
  }

  // receive takes one message from the iframe.
  function receive(m) {
    if (m === null || typeof m !== 'object') return;
    switch (m.type) {
      case 'ready':
        markReady();
        return;
      case 'reply': {
        const p = pending.get(m.id);
        if (p === undefined) return;
        pending.delete(m.id);
        if (m.ok !== true) {
          const err = fail(String(m.error && m.error.code), String(m.error && m.error.message));
          if (m.error && 'value' in m.error) err.value = m.error.value;
          if (m.error && Array.isArray(m.error.reasons)) err.reasons = m.error.reasons.map(String);
          p.reject(err);
        }
        else if (typeof m.stream === 'string') p.resolve(withStream(m.id, m.result, m.stream));
        else p.resolve(m.result);
        return;
      }
      case 'data': {
        const ctrl = streams.get(m.id);
        if (ctrl === undefined) return; // cancelled by the page
        if (m.payload instanceof Uint8Array && m.payload.byteLength > 0) ctrl.enqueue(m.payload);
        if (!m.end) return;
        streams.delete(m.id);
        if (m.error) ctrl.error(fail(String(m.error.code), String(m.error.message)));
        else ctrl.close();
        return;
      }
      case 'event':
        for (const h of [...(listeners.get(m.name) || [])]) {
          try { h({ event: m.name, payload: m.payload }); } catch (e) { setTimeout(() => { throw e; }); }
        }
        if (tap) tap.event(m);
        return;
      case 'channel':
        if (tap) tap.channel(m);
        return;
      default:
    }
  }

  // withStream puts a ReadableStream of the bytes that follow call id's
  // reply at the place in its result the core named. Cancelling it (the
  // page stops reading) has the core stop sending.
  function withStream(id, result, at) {
    let ctrl;
    const send = toFrame;
    const body = new ReadableStream({
      start(c) { ctrl = c; },
      cancel() {
        if (streams.delete(id)) send({ type: 'cancel', id });
      },
    });
    streams.set(id, ctrl);
    const toks = parsePointer(at);
    if (toks.length === 0) return body;
    setOwn(holderOf(result, toks), toks[toks.length - 1], body); // the iframe checked it points at a null
    return result;
  }

  // call sends one request. With signal, aborting it rejects the call at
  // once with the signal's reason (or, once answered, fails its stream) and
  // tells the iframe, which drops the request if it has not left yet and
  // otherwise has the core cancel it.
  async function call(kind, name, args, signal = null, tauri = undefined) {
    const value = args === undefined ? null : args;
    const message = (id, a) => (tauri === undefined ? { type: 'invoke', id, kind, name, args: a } : { type: 'invoke', id, kind, name, args: a, tauri });
    let send = toFrame; // the iframe's the call went to: its cancel goes there too
    let id;
    if (waiting === 0 && isReady && frame !== null && !(signal && signal.aborted) && send.idle()) {
      // Alone, with the iframe ready: posted now, and postMessage copies
      // the args as they are at the call (a value it cannot copy throws).
      id = nextID++;
      send.now(message(id, value));
    } else {
      // Copied at once, as postMessage would: the call may wait for the
      // iframe, and its batch leaves at the end of the task; the caller may
      // change its args object meanwhile. The copy is ours, so its bytes
      // move to the iframe instead of being copied a second time.
      const copy = structuredClone(value);
      const moved = buffersOf(copy);
      // The Tauri member too: one that cannot be copied must reject this
      // call here, not break the batch it would share with others.
      if (tauri !== undefined) tauri = structuredClone(tauri);
      // Counted until it is queued: a call made meanwhile must not take the
      // direct path past it.
      waiting++;
      try {
        await ready;
      } finally {
        waiting--;
      }
      if (frame === null) throw fail('unavailable', 'the isolation iframe was removed');
      if (signal && signal.aborted) throw signal.reason;
      id = nextID++;
      send = toFrame;
      send(message(id, copy), moved);
    }
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      if (signal) {
        signal.addEventListener('abort', () => {
          const body = streams.get(id);
          if (body !== undefined) { // answered, its stream still coming: it fails, as a fetch's body does
            streams.delete(id);
            body.error(signal.reason);
            send({ type: 'cancel', id });
            return;
          }
          if (!pending.delete(id)) return; // settled already
          reject(signal.reason);
          send({ type: 'cancel', id });
        }, { once: true });
      }
    });
  }

  const invoke = (cmd, args) => call('command', cmd, args);

  const emit = async (event, payload) => { await call('event', event, payload); };

  // listen registers the handler before the listen leaves: the core may
  // send an event the moment it allowed the listen, before its reply
  // arrives. A denied listen takes the handler out again.
  async function listen(event, handler) {
    if (typeof handler !== 'function') throw fail('invalid_args', 'handler must be a function');
    let set = listeners.get(event);
    if (set === undefined) listeners.set(event, (set = new Set()));
    const entry = (e) => handler(e);
    set.add(entry);
    const unlisten = () => {
      set.delete(entry);
      if (set.size === 0 && listeners.get(event) === set) listeners.delete(event);
    };
    try {
      await call('listen', event, null);
    } catch (e) {
      unlisten();
      throw e;
    }
    return unlisten;
  }

  async function once(event, handler) {
    const unlisten = await listen(event, (e) => {
      unlisten();
      handler(e);
    });
    return unlisten;
  }

  resetReady();
  mount(frameURL);
  setInterval(() => {
    if (frame !== null && !iframe.isConnected) retry();
  }, WATCH_MS);

  if (withCall) withCall(call); // for the bridge's own users of other kinds (http.js)
  return Object.freeze({
    invoke, emit, listen, once,
    get ready() { return ready; },
  });
}
