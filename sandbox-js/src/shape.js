// Strict shape checks for what crosses postMessage. Anything the page sends is
// hostile until it passes here: only plain JSON values, bounded depth, an
// explicit type, a positive integer id and a well-formed name.
//
// The bounds are the core's (isolation.Limits in Go), sent in the frame
// config: nothing here has a default or a copy of them.

import { parsePointer, holderOf } from './binary.js';

// contract checks and compiles the limits of a frame config. A config
// without them, or with nonsense, throws: the iframe never connects.
export function contract(limits) {
  if (!isPlainObject(limits)) throw new Error('frame config: no limits');
  const positive = (k) => {
    const v = limits[k];
    if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`frame config: limits.${k} must be a positive integer`);
    return v;
  };
  if (typeof limits.namePattern !== 'string') throw new Error('frame config: limits.namePattern must be a string');
  if (!Array.isArray(limits.kinds) || limits.kinds.some((k) => typeof k !== 'string')) throw new Error('frame config: limits.kinds must be a list of strings');
  return Object.freeze({
    maxMessageBytes: positive('maxMessageBytes'),
    maxBinaryBytes: positive('maxBinaryBytes'),
    maxDepth: positive('maxDepth'),
    maxBatchMessages: positive('maxBatchMessages'),
    name: new RegExp(limits.namePattern),
    kinds: new Set(limits.kinds),
  });
}

export function isPlainObject(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

// wellFormed reports whether s has no lone surrogate. JSON.stringify escapes
// one as "\ud800", which the core rejects as invalid Unicode, ending the
// connection and every call on it: it is refused here instead, as invalid_args.
function wellFormed(s) {
  return !/\p{Cs}/u.test(s);
}

// isJSONValue reports whether v is made only of null, booleans, finite
// numbers, well-formed strings, plain arrays and plain objects (with
// well-formed keys), at most maxDepth containers deep (the core's limit,
// counted the same way), with Uint8Array and ArrayBuffer leaves (sent as raw
// bytes).
export function isJSONValue(v, maxDepth) {
  return jsonProblem(v, maxDepth, 0) === null;
}

// jsonProblem is null for a value isJSONValue accepts, else 'deep' (more
// than maxDepth containers; nothing deeper is looked at) or 'type'.
function jsonProblem(v, maxDepth, depth) {
  if (v instanceof Uint8Array && Object.getPrototypeOf(v) === Uint8Array.prototype) return null;
  if (v instanceof ArrayBuffer && Object.getPrototypeOf(v) === ArrayBuffer.prototype) return null;
  switch (typeof v) {
    case 'string':
      return wellFormed(v) ? null : 'type';
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(v) ? null : 'type';
    case 'object': {
      if (v === null) return null;
      if (depth >= maxDepth) return 'deep'; // at most maxDepth containers, as the core counts them
      let found = null;
      const each = (x) => (found = jsonProblem(x, maxDepth, depth + 1)) === null;
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return 'type';
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) return 'type';
          if (!each(v[i])) return found;
        }
        return null;
      }
      if (!isPlainObject(v)) return 'type';
      for (const k of Object.keys(v)) {
        if (!wellFormed(k)) return 'type';
        if (!each(v[k])) return found;
      }
      return Object.getOwnPropertySymbols(v).length === 0 ? null : 'type';
    }
    default:
      return 'type';
  }
}

// httpShape says what is wrong with an http request's args, as the core's
// decoder checks them: exactly path and query (strings), headers (an object
// of strings) and body (raw bytes or null).
function httpShape(args) {
  const members = isPlainObject(args) ? Object.keys(args).length : 0;
  if (!(members === 4 || (members === 5 && args.credentials === 'omit'))) return "an http request's args are exactly path, query, headers and body, and credentials \"omit\" or nothing";
  if (typeof args.path !== 'string' || typeof args.query !== 'string' || !isPlainObject(args.headers)) return "an http request's path and query are strings, its headers an object";
  if (Object.values(args.headers).some((v) => typeof v !== 'string')) return "an http request's header values are strings";
  const b = args.body;
  if (!('body' in args) || !(b === null || b instanceof Uint8Array || b instanceof ArrayBuffer)) return "an http request's body is raw bytes or null";
  return '';
}

export function isCallID(id) {
  return Number.isSafeInteger(id) && id > 0;
}

// parseRequest returns {ok: true, req} for a well-formed invoke request, or
// {ok: false, id, reason} where id is set only when it can be answered.
// c is the compiled contract.
export function parseRequest(data, c) {
  if (!isPlainObject(data)) return { ok: false, reason: 'not a plain object' };
  const id = isCallID(data.id) ? data.id : undefined;
  const bad = (reason) => ({ ok: false, id, reason });
  if (data.type !== 'invoke') return { ok: false, reason: 'unknown type' };
  if (id === undefined) return bad('id must be a positive integer');
  for (const k of Object.keys(data)) {
    if (!['type', 'id', 'kind', 'name', 'args', 'tauri'].includes(k)) return bad(`unexpected field ${k}`);
  }
  if (!c.kinds.has(data.kind)) return bad('unknown kind');
  if (typeof data.name !== 'string' || !c.name.test(data.name)) return bad('malformed name');
  const args = data.args === undefined ? null : data.args;
  switch (jsonProblem(args, c.maxDepth, 0)) {
    case 'deep':
      return bad(`args are nested more than ${c.maxDepth} deep`);
    case 'type':
      return bad('args must be plain JSON');
  }
  if (data.kind === 'listen' && args !== null) return bad('a listen request carries no args');
  if (data.kind === 'http') {
    if ('tauri' in data) return bad('an http request has no tauri member');
    const why = httpShape(args);
    if (why) return bad(why);
  }
  const req = { type: 'invoke', id, kind: data.kind, name: data.name, args };
  if ('tauri' in data) {
    const why = tauriShape(req, data.tauri, c);
    if (why) return bad(why);
    req.tauri = data.tauri;
  }
  return { ok: true, req };
}

// Bounds of a Tauri call's member, the same in the core (decode.go).
const MAX_TAURI_HEADERS = 32;
const MAX_TAURI_HEADER_BYTES = 8 << 10;
const MAX_TAURI_CHANNELS = 16;
const TAURI_TARGETS = { Any: false, App: false, AnyLabel: true, Window: true, Webview: true, WebviewWindow: true };
const CHANNEL = /^__CHANNEL__:([0-9]{1,10})$/;

// channelAt is the id of the Channel the pointer ptr names in args, or null.
export function channelAt(args, ptr) {
  let toks;
  try { toks = parsePointer(ptr); } catch { return null; }
  if (toks.length === 0) return null;
  let cur = args;
  for (const t of toks.slice(0, -1)) cur = cur !== null && typeof cur === 'object' && Object.hasOwn(cur, t) ? cur[t] : undefined;
  const last = toks[toks.length - 1];
  const v = cur !== null && typeof cur === 'object' && Object.hasOwn(cur, last) ? cur[last] : undefined;
  const m = typeof v === 'string' ? CHANNEL.exec(v) : null;
  return m && Number(m[1]) <= 0xffffffff ? Number(m[1]) : null;
}

// tauriShape says what is wrong with a Tauri call's member, as the core's
// decoder checks it: exactly cmd, headers, raw, channels and target, and
// saying what the message is (decode.go, tauriShape).
function tauriShape(req, t, c) {
  if (!isPlainObject(t) || Object.keys(t).length !== 5) return 'tauri is exactly cmd, headers, raw, channels and target';
  const { cmd, headers, raw, channels, target } = t;
  if (typeof cmd !== 'string' || !c.name.test(cmd) || typeof raw !== 'boolean' || !isPlainObject(headers) || !Array.isArray(channels)) {
    return 'tauri.cmd is a name, raw a boolean, headers an object, channels an array';
  }
  let size = 0;
  for (const [k, v] of Object.entries(headers)) {
    if (!/^[a-z0-9-]{1,64}$/.test(k) || typeof v !== 'string') return `tauri header "${k}": a lowercase name and a string`;
    size += k.length + new TextEncoder().encode(v).length;
  }
  if (Object.keys(headers).length > MAX_TAURI_HEADERS || size > MAX_TAURI_HEADER_BYTES) return `tauri headers: at most ${MAX_TAURI_HEADERS}, of ${MAX_TAURI_HEADER_BYTES} bytes`;
  if (channels.length > MAX_TAURI_CHANNELS) return `at most ${MAX_TAURI_CHANNELS} channels`;
  if (new Set(channels).size !== channels.length || channels.some((p) => typeof p !== 'string' || p === '')) return 'a tauri channel is a pointer into the args, each once';
  for (const p of channels) if (channelAt(req.args, p) === null) return `tauri channel "${p}" does not point at a channel`;
  if (target !== null && !isTarget(target)) return 'tauri.target is {kind} or {kind, label} as Tauri writes it';
  const rootBlob = req.args instanceof Uint8Array || req.args instanceof ArrayBuffer;
  if (req.kind === 'command' && !cmd.startsWith('plugin:') && !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(cmd)) return 'a Tauri app command is named as a Rust function is';
  if (req.kind === 'command' && (cmd !== req.name || cmd.startsWith('plugin:event|'))) return 'tauri.cmd of a command is its name';
  if (req.kind === 'listen' && cmd !== 'plugin:event|listen') return 'tauri.cmd of a listen is plugin:event|listen';
  if (req.kind === 'event' && cmd !== 'plugin:event|emit' && cmd !== 'plugin:event|emit_to') return 'tauri.cmd of an event is plugin:event|emit or emit_to';
  if (req.kind === 'event' && (cmd === 'plugin:event|emit_to') !== (target !== null)) return 'an emit_to has a target, an emit none';
  if (req.kind === 'command' && target !== null) return 'a command has no target';
  if (raw !== rootBlob) return 'tauri.raw says whether the args are one raw body';
  if (req.kind !== 'command' && channels.length > 0) return 'only a command carries channels';
  return '';
}

// parseCoreMessage checks a decrypted message from the core: a reply to a
// call (which may announce a stream: a pointer to the null in its result
// where the stream goes), a chunk of a stream (data), or an event for the
// page's listeners. The core holds results and payloads to the same depth
// limit as args.
export function parseCoreMessage(m, c) {
  if (isPlainObject(m) && m.type === 'event') {
    if (typeof m.name !== 'string' || !c.name.test(m.name)) return null;
    if (m.payload !== undefined && !isJSONValue(m.payload, c.maxDepth)) return null;
    const ev = { type: 'event', name: m.name, payload: m.payload === undefined ? null : m.payload };
    if (m.target !== undefined) {
      if (!isTarget(m.target)) return null;
      ev.target = m.target;
    }
    return ev;
  }
  if (isPlainObject(m) && m.type === 'data') return parseData(m);
  if (isPlainObject(m) && m.type === 'channel') return parseChannel(m, c);
  if (!isPlainObject(m) || m.type !== 'reply' || !isCallID(m.id) || typeof m.ok !== 'boolean') return null;
  if (m.ok) {
    const result = m.result === undefined ? null : m.result;
    if (!isJSONValue(result, c.maxDepth)) return null;
    if (m.stream === undefined) return { type: 'reply', id: m.id, ok: true, result };
    if (typeof m.stream !== 'string') return null;
    let toks;
    try { toks = parsePointer(m.stream); } catch { return null; }
    if (toks.length === 0 ? result !== null : holderOf(result, toks) === undefined) return null;
    return { type: 'reply', id: m.id, ok: true, result, stream: m.stream };
  }
  const e = parseError(m.error, c);
  return e === null ? null : { type: 'reply', id: m.id, ok: false, error: e };
}

function parseError(e, c) {
  if (!isPlainObject(e) || typeof e.code !== 'string' || typeof e.message !== 'string') return null;
  for (const k of Object.keys(e)) if (!['code', 'message', 'value', 'reasons'].includes(k)) return null;
  const out = { code: e.code, message: e.message };
  if (e.reasons !== undefined) {
    // The policy's reasons for a refusal.
    if (!Array.isArray(e.reasons) || !e.reasons.every((r) => typeof r === 'string')) return null;
    out.reasons = e.reasons.slice();
  }
  if (e.value !== undefined) {
    if (c === undefined || !isJSONValue(e.value, c.maxDepth)) return null;
    out.value = e.value; // a Tauri command's error value
  }
  return out;
}

function isTarget(t) {
  if (!isPlainObject(t) || !Object.hasOwn(TAURI_TARGETS, t.kind)) return false;
  const labelled = TAURI_TARGETS[t.kind];
  if (Object.keys(t).length !== (labelled ? 2 : 1)) return false;
  return !labelled || (typeof t.label === 'string' && t.label !== '' && new TextEncoder().encode(t.label).length <= 128);
}

// parseChannel checks a message for a Tauri Channel: {id, index, message}
// or, the last, {id, index, end: true}.
function parseChannel(m, c) {
  for (const k of Object.keys(m)) if (!['type', 'id', 'index', 'message', 'end'].includes(k)) return null;
  if (!Number.isInteger(m.id) || m.id < 0 || m.id > 0xffffffff || !Number.isSafeInteger(m.index) || m.index < 0) return null;
  if (m.end !== undefined) return m.end === true && m.message === undefined ? { type: 'channel', id: m.id, index: m.index, end: true } : null;
  const message = m.message === undefined ? null : m.message;
  return isJSONValue(message, c.maxDepth) ? { type: 'channel', id: m.id, index: m.index, message, end: false } : null;
}

// parseData checks one chunk of a stream: {id, payload: bytes} and, on the
// last, end: true, with the error that cut the stream short if one did.
function parseData(m) {
  if (!isCallID(m.id)) return null;
  for (const k of Object.keys(m)) if (!['type', 'id', 'payload', 'end', 'error'].includes(k)) return null;
  if (m.payload !== undefined && !(m.payload instanceof Uint8Array)) return null;
  if (m.end !== undefined && m.end !== true) return null;
  const out = { type: 'data', id: m.id, payload: m.payload === undefined ? null : m.payload, end: m.end === true };
  if (m.error !== undefined) {
    if (!out.end || (out.error = parseError(m.error)) === null) return null;
  }
  return out;
}
