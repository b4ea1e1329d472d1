// Binary values (Uint8Array, ArrayBuffer) travel as raw bytes after the JSON
// of a message, never as base64 or number arrays (docs/protocol.md):
//
//   0x01 | u32 BE length of the JSON | JSON | blob 0 | blob 1 | ...
//
// The JSON holds null where a blob goes and a table "bin": [{path, len}] with
// JSON pointers relative to the message's value (args, result or payload).
// Schemas and hooks see {"$binary": <length>} in a blob's place.

export const BINARY_FORM = 0x01;

function isBinary(v) {
  return v instanceof Uint8Array || v instanceof ArrayBuffer;
}

// buffersOf lists, once each, the ArrayBuffers under the binary values of
// v (a copy the caller owns), to be transferred with it instead of copied
// again. Past depth containers it stops looking: what it misses is copied,
// and the iframe refuses a value that deep anyway.
// Each object is looked into once, so a copy with cycles or shared parts
// costs one visit per object.
export function buffersOf(v, depth = 64) {
  const out = new Set();
  const seen = new WeakSet();
  function walk(x, d) {
    if (x === null || typeof x !== 'object') return;
    if (x instanceof ArrayBuffer) out.add(x);
    else if (x instanceof Uint8Array) {
      if (x.buffer instanceof ArrayBuffer) out.add(x.buffer); // never a SharedArrayBuffer: those cannot move
    } else if (d > 0 && !seen.has(x)) {
      seen.add(x);
      if (Array.isArray(x)) for (let i = 0; i < x.length; i++) walk(x[i], d - 1);
      else for (const k of Object.keys(x)) walk(x[k], d - 1);
    }
  }
  walk(v, depth);
  return [...out];
}

// escape is a JSON pointer token for key k.
export const escape = (k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1');

// split walks a plain-JSON-plus-binary value. It returns the value for the
// JSON (null at blobs), the view schemas see (placeholders at blobs), the
// table and the blobs.
export function split(value) {
  const bin = [];
  const blobs = [];
  let bytes = 0;
  function walk(v, path) {
    if (isBinary(v)) {
      const b = v instanceof ArrayBuffer ? new Uint8Array(v) : v;
      bin.push({ path, len: b.byteLength });
      blobs.push(b);
      bytes += b.byteLength;
      return [null, { $binary: b.byteLength }];
    }
    if (Array.isArray(v)) {
      const j = [], w = [];
      v.forEach((x, i) => { const [a, b] = walk(x, `${path}/${i}`); j.push(a); w.push(b); });
      return [j, w];
    }
    if (v !== null && typeof v === 'object') {
      const j = {}, w = {};
      for (const k of Object.keys(v)) { const [a, b] = walk(v[k], `${path}/${escape(k)}`); j[k] = a; w[k] = b; }
      return [j, w];
    }
    return [v, v];
  }
  const [json, view] = walk(value, '');
  return { json, view, bin, blobs, bytes };
}

// encode returns the plaintext of message, whose value field carries blobs.
export function encode(message, bin, blobs) {
  const json = new TextEncoder().encode(JSON.stringify(bin.length ? { ...message, bin } : message));
  if (bin.length === 0) return { plaintext: json, jsonBytes: json.length };
  let total = 5 + json.length;
  for (const b of blobs) total += b.byteLength;
  const out = new Uint8Array(total);
  out[0] = BINARY_FORM;
  new DataView(out.buffer).setUint32(1, json.length);
  out.set(json, 5);
  let at = 5 + json.length;
  for (const b of blobs) { out.set(b, at); at += b.byteLength; }
  return { plaintext: out, jsonBytes: json.length };
}

function unescape(t) { return t.replace(/~1/g, '/').replace(/~0/g, '~'); }

// parsePointer is the tokens of JSON pointer path ('' is the whole value).
export function parsePointer(path) {
  if (path === '') return [];
  if (path[0] !== '/') throw new Error('bad pointer');
  return path.split('/').slice(1).map(unescape);
}

// holderOf is the container in which toks' last token names a null, or
// undefined when toks point anywhere else.
export function holderOf(root, toks) {
  let cur = root;
  for (const t of toks.slice(0, -1)) cur = cur !== null && typeof cur === 'object' && Object.hasOwn(cur, t) ? cur[t] : undefined;
  const last = toks[toks.length - 1];
  return cur !== null && typeof cur === 'object' && Object.hasOwn(cur, last) && cur[last] === null ? cur : undefined;
}

// setOwn sets an own property, even one named __proto__ (JSON.parse makes
// those own properties; an assignment would change the prototype instead).
export function setOwn(o, k, v) {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

// decode parses a plaintext and puts its blobs in place in the message's
// value: payload for an event or a stream's data, result for a reply, args
// for a request. It throws on anything malformed. The blobs are fresh
// buffers, listed in blobs when it is given (to be transferred, not copied).
export function decode(plaintext, blobs = []) {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  if (plaintext[0] !== BINARY_FORM) return JSON.parse(utf8.decode(plaintext));
  if (plaintext.length < 5) throw new Error('short binary message');
  const n = new DataView(plaintext.buffer, plaintext.byteOffset).getUint32(1);
  if (5 + n > plaintext.length) throw new Error('bad JSON length');
  const m = JSON.parse(utf8.decode(plaintext.subarray(5, 5 + n)));
  if (!Array.isArray(m.bin)) throw new Error('binary message without a table');
  const field = { event: 'payload', data: 'payload', channel: 'message', reply: 'result', invoke: 'args' }[m.type];
  if (field === undefined) throw new Error('unknown message type');
  let at = 5 + n;
  for (const { path, len } of m.bin) {
    if (typeof path !== 'string' || !Number.isSafeInteger(len) || len < 0 || at + len > plaintext.length) throw new Error('bad table');
    const blob = plaintext.slice(at, at + len);
    at += len;
    blobs.push(blob.buffer);
    const toks = parsePointer(path);
    if (toks.length === 0) { m[field] = blob; continue; }
    const holder = holderOf(m[field], toks);
    if (holder === undefined) throw new Error('table points nowhere');
    setOwn(holder, toks[toks.length - 1], blob);
  }
  if (at !== plaintext.length) throw new Error('trailing bytes');
  delete m.bin;
  return m;
}
