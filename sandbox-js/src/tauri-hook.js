// A Tauri isolation app's hook as isogate's isolation hook. The app's own
// scripts (its isolation dir's index.html, in order) run first in the
// isolation iframe and define window.__TAURI_ISOLATION_HOOK__; this runs
// after them and sets self.isogateHook to call it the way Tauri does:
//
//	{cmd, callback, error, payload, options} -> the message to send
//
// plus window, the page's window label, which Tauri's hook cannot see.
// Unlike Tauri, a hook that throws, answers no message or is not defined
// rejects the call at once (hook_rejected); one that never answers, after
// 5 s. A message it changes is re-derived and checked again before it is
// sealed; the core checks it again too.

import { isPlainObject } from './shape.js';
import { escape } from './binary.js';

const CHANNEL = /^__CHANNEL__:[0-9]{1,10}$/;

export function tauriHook(win) {
  let calls = 0;
  return async (m) => {
    const hook = win.__TAURI_ISOLATION_HOOK__;
    if (hook === null) return true; // the app said: no hook
    if (typeof hook !== 'function') return 'the isolation hook is not defined';
    const input = toTauri(m, ++calls);
    const before = structuredClone(input);
    let out;
    try {
      out = await hook(input);
    } catch (e) {
      return `the isolation hook threw: ${e && e.message ? e.message : String(e)}`;
    }
    if (!isPlainObject(out) || typeof out.cmd !== 'string') return 'the isolation hook answered no message';
    if (same(out, before)) return true;
    try {
      return { replace: fromTauri(out) };
    } catch (e) {
      return `the isolation hook's message: ${e.message}`;
    }
  };
}

// toTauri is the message as Tauri's isolation hook gets it.
export function toTauri(m, n) {
  // A message that did not come through Tauri's API (window.isogate) is
  // shown as the call Tauri would have made of it.
  const implied = { listen: 'plugin:event|listen', event: 'plugin:event|emit' }[m.kind] || m.name;
  const t = m.tauri || { cmd: implied, headers: {}, target: m.kind === 'listen' ? { kind: 'Any' } : null };
  let payload;
  switch (t.cmd) {
    case 'plugin:event|listen':
      payload = { event: m.name, target: t.target, handler: 0 };
      break;
    case 'plugin:event|emit':
      payload = { event: m.name, payload: m.tauri ? m.payload : m.args };
      break;
    case 'plugin:event|emit_to':
      payload = { target: t.target, event: m.name, payload: m.tauri ? m.payload : m.args };
      break;
    default:
      payload = m.tauri ? m.payload : m.args;
  }
  const headers = t.headers || {};
  return { cmd: t.cmd, callback: 2 * n, error: 2 * n + 1, payload, options: Object.keys(headers).length ? { headers } : undefined, window: m.window };
}

// fromTauri is a message the hook changed, as isogate's: {kind, name,
// args, tauri}.
export function fromTauri(out) {
  const p = out.payload;
  const base = { headers: {}, raw: false, channels: [], target: null };
  const of = (kind, name, args, target = null) => ({ kind, name, args, tauri: { ...base, cmd: out.cmd, target } });
  switch (out.cmd) {
    case 'plugin:event|listen':
      return of('listen', p.event, null, p.target);
    case 'plugin:event|emit':
      return of('event', p.event, p.payload === undefined ? null : p.payload);
    case 'plugin:event|emit_to':
      return of('event', p.event, p.payload === undefined ? null : p.payload, p.target);
  }
  const r = of('command', out.cmd, p === undefined ? {} : p);
  const headers = out.options && out.options.headers;
  if (headers) for (const [k, v] of Object.entries(headers)) r.tauri.headers[k.toLowerCase()] = String(v);
  r.tauri.raw = p instanceof Uint8Array || p instanceof ArrayBuffer;
  if (!r.tauri.raw) r.tauri.channels = channelsIn(p, '');
  return r;
}

function channelsIn(v, path) {
  if (typeof v === 'string') return CHANNEL.test(v) && path !== '' ? [path] : [];
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof ArrayBuffer) return [];
  return Object.keys(v).flatMap((k) => channelsIn(v[k], `${path}/${escape(k)}`));
}

// same is deep equality of plain values, bytes compared byte by byte.
function same(a, b) {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (a instanceof ArrayBuffer && b instanceof ArrayBuffer) return same(new Uint8Array(a), new Uint8Array(b));
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => same(a[k], b[k]));
}
