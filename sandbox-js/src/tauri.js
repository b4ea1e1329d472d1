// Tauri v2 frontends under isogate (isogate run --tauri). @tauri-apps/api
// holds no transport: every call it makes ends in
// window.__TAURI_INTERNALS__.invoke. This file defines that, and the rest
// of what the package reads from the page, on top of the bridge's call:
// it adds no way out of the page. Every Tauri call is an isogate message
// with a tauri member (docs/tauri.md), and goes bridge -> iframe (checks,
// hook, seal) -> core (schema, policy, decision log) like any other.
//
// It runs in the untrusted page, as the bridge does, and decides nothing:
// the event targets it matches listeners on are Tauri's semantics, not a
// boundary (the policy's listen decision is).

import { escape } from './binary.js';

const IPC_KEY = '__TAURI_TO_IPC_KEY__';
const CHANNEL = /^__CHANNEL__:[0-9]{1,10}$/;
const LABELLED = new Set(['Window', 'Webview', 'WebviewWindow']);

// installTauri defines __TAURI_INTERNALS__, __TAURI_EVENT_PLUGIN_INTERNALS__
// and isTauri on win, synchronously. call is the bridge's
// call(kind, name, args, signal, tauri); config {window, os} comes from the
// core. It returns the tap the bridge feeds events and channel messages to.
export function installTauri({ win, call, config }) {
  const label = String(config.window || 'main');
  const windows = config.os === 'windows';

  // Callbacks, as Tauri keeps them: random u32 ids (since 2.6 in a Map).
  const callbacks = new Map();
  function transformCallback(callback, once = false) {
    let id;
    do id = win.crypto.getRandomValues(new Uint32Array(1))[0]; while (callbacks.has(id));
    callbacks.set(id, (data) => {
      if (once) callbacks.delete(id);
      return callback && callback(data);
    });
    return id;
  }
  const unregisterCallback = (id) => { callbacks.delete(id); };
  function runCallback(id, data) {
    const cb = callbacks.get(id);
    if (cb === undefined) return;
    try { cb(data); } catch (e) { win.setTimeout(() => { throw e; }); }
  }

  // Listeners, in the page: an unlisten is local and at once (Tauri's
  // unlisten_js could drop another window's listener; this cannot).
  let nextEventID = 1;
  const listeners = new Map(); // eventId -> {event, target, handler}
  function unregisterListener(event, eventId) {
    const l = listeners.get(eventId);
    if (l !== undefined && l.event === event) listeners.delete(eventId);
  }

  // reached reports whether an event emitted to target reaches a listener
  // of listenerTarget, as Tauri matches them: a global emit or a listener
  // of Any gets everything; an emit to a label (AnyLabel) reaches the
  // window, webview and webview-window listeners of that label; any other
  // target, the listeners of that kind and label.
  function reached(listenerTarget, target) {
    if (!target || target.kind === 'Any' || listenerTarget.kind === 'Any') return true;
    if (target.kind === 'AnyLabel') return LABELLED.has(listenerTarget.kind) && listenerTarget.label === target.label;
    return listenerTarget.kind === target.kind && listenerTarget.label === target.label;
  }

  const meta = (cmd, extra = {}) => ({ cmd, headers: {}, raw: false, channels: [], target: null, ...extra });

  // tauriError is what invoke rejects with: the command's own error value
  // when it gave one, else "<code>: <message>" (Tauri apps render strings).
  function tauriError(e) {
    if (e && typeof e === 'object' && 'value' in e) return e.value;
    if (e && typeof e === 'object' && typeof e.code === 'string') return `${e.code}: ${e.message}`;
    return String(e);
  }

  function rawResult(r) {
    if (!(r instanceof Uint8Array)) return r;
    return r.byteOffset === 0 && r.byteLength === r.buffer.byteLength ? r.buffer : r.slice().buffer;
  }

  async function eventCall(command, args) {
    const a = args !== null && typeof args === 'object' ? args : {};
    switch (command) {
      case 'listen': {
        const eventId = nextEventID++;
        listeners.set(eventId, { event: a.event, target: a.target, handler: a.handler });
        try {
          await call('listen', a.event, null, null, meta('plugin:event|listen', { target: a.target }));
        } catch (e) {
          listeners.delete(eventId);
          throw tauriError(e);
        }
        return eventId;
      }
      case 'unlisten':
        unregisterListener(a.event, a.eventId);
        return null;
      case 'emit':
      case 'emit_to':
        try {
          const payload = ipcValue(a.payload === undefined ? null : a.payload, '', []);
          await call('event', a.event, payload === undefined ? null : payload, null,
            meta(`plugin:event|${command}`, { target: command === 'emit_to' ? a.target : null }));
        } catch (e) {
          throw e instanceof Error && !('code' in e) ? `invalid_args: ${e.message}` : tauriError(e);
        }
        return null;
      default:
        throw `unknown_command: unknown command "plugin:event|${command}"`;
    }
  }

  async function invoke(cmd, args = {}, options = undefined) {
    if (typeof cmd !== 'string') throw 'invalid_args: the command is a string';
    if (cmd.startsWith('plugin:event|')) return eventCall(cmd.slice('plugin:event|'.length), args);
    const headers = {};
    if (options && options.headers) new win.Headers(options.headers).forEach((v, k) => { headers[k] = v; });
    let payload;
    let raw = false;
    const channels = [];
    try {
      if (args instanceof ArrayBuffer || ArrayBuffer.isView(args) || Array.isArray(args)) {
        raw = true; // a raw body, as Tauri sends it: one blob
        payload = rawBody(args);
      } else {
        payload = ipcValue(args, '', channels);
        if (payload === undefined) payload = {};
      }
    } catch (e) {
      throw `invalid_args: ${e.message}`;
    }
    try {
      return rawResult(await call('command', cmd, payload, null, meta(cmd, { headers, raw, channels })));
    } catch (e) {
      throw tauriError(e);
    }
  }

  // The tap the bridge feeds: events to the listeners they reach, channel
  // messages to their Channel's callback, in Tauri's shapes.
  const lastIndex = new Map(); // channel id -> index of the last message given
  const tap = {
    event(m) {
      for (const [eventId, l] of listeners) {
        if (l.event === m.name && reached(l.target || { kind: 'Any' }, m.target)) {
          runCallback(l.handler, { event: m.name, id: eventId, payload: m.payload });
        }
      }
    },
    channel(m) {
      if (m.lost) { // the connection went with messages perhaps unsent: the Channel ends after what it got
        runCallback(m.id, { index: (lastIndex.has(m.id) ? lastIndex.get(m.id) : -1) + 1, end: true });
        lastIndex.delete(m.id);
        return;
      }
      if (m.end) {
        lastIndex.delete(m.id);
        runCallback(m.id, { index: m.index, end: true });
        return;
      }
      lastIndex.set(m.id, m.index);
      runCallback(m.id, { index: m.index, id: m.index, message: rawResult(m.message) });
    },
  };

  const internals = {
    invoke,
    transformCallback,
    unregisterCallback,
    runCallback,
    callbacks,
    convertFileSrc(path, protocol = 'asset') {
      return `${win.location.origin}/__isogate/asset/${encodeURIComponent(protocol)}/${encodeURIComponent(path)}`;
    },
    metadata: { currentWindow: { label }, currentWebview: { label, windowLabel: label } },
    plugins: { path: { sep: windows ? '\\' : '/', delimiter: windows ? ';' : ':' } },
  };
  const define = (name, value) => Object.defineProperty(win, name, { value, enumerable: false, configurable: false, writable: false });
  define('__TAURI_INTERNALS__', internals);
  define('__TAURI_EVENT_PLUGIN_INTERNALS__', { unregisterListener });
  define('isTauri', true);
  return tap;
}

// rawBody is a raw invoke body as bytes: an ArrayBuffer, a view of one, or
// an array of byte values.
function rawBody(v) {
  if (v instanceof ArrayBuffer) return new Uint8Array(v.slice(0));
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  if (!v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) throw new Error('a raw body given as an array holds byte values (0-255)');
  return Uint8Array.from(v);
}

// ipcValue is v as Tauri serializes it for the IPC (its
// __TAURI_TO_IPC_KEY__ method, then toJSON, Maps as objects, what
// JSON.stringify drops dropped), but with bytes kept as bytes: isogate
// carries them raw, where Tauri would send arrays of numbers. The pointers
// to the Channels in it go into channels.
function ipcValue(v, path, channels, depth = 0) {
  if (depth > 64) throw new Error('args are nested too deeply');
  if (v !== null && (typeof v === 'object' || typeof v === 'function')) {
    if (typeof v[IPC_KEY] === 'function') v = v[IPC_KEY]();
    else if (typeof v.toJSON === 'function') v = v.toJSON();
  }
  switch (typeof v) {
    case 'string':
      if (CHANNEL.test(v) && path !== '') channels.push(path);
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'boolean':
      return v;
    case 'bigint':
      throw new Error('a BigInt cannot be sent');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (v === null) return null;
  if (v instanceof Uint8Array && Object.getPrototypeOf(v) === Uint8Array.prototype) return v;
  if (v instanceof ArrayBuffer) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) {
    const out = [];
    for (let i = 0; i < v.length; i++) {
      const x = ipcValue(v[i], `${path}/${i}`, channels, depth + 1);
      out.push(x === undefined ? null : x);
    }
    return out;
  }
  const out = {};
  const entries = v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) : Object.entries(v);
  for (const [k, x] of entries) {
    const y = ipcValue(x, `${path}/${escape(k)}`, channels, depth + 1);
    if (y !== undefined) Object.defineProperty(out, k, { value: y, writable: true, enumerable: true, configurable: true }); // __proto__ too
  }
  return out;
}
