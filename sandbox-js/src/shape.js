// Strict shape checks for what crosses postMessage. Anything the page sends is
// hostile until it passes here: only plain JSON values, bounded depth, an
// explicit type, a positive integer id and a well-formed name.

export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;
export const MAX_DEPTH = 64;
export const KINDS = new Set(['command', 'event', 'listen']);

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
// well-formed keys), at most MAX_DEPTH containers deep (the core's limit,
// counted the same way), with Uint8Array and ArrayBuffer leaves (sent as raw
// bytes).
export function isJSONValue(v, depth = 0) {
  if (v instanceof Uint8Array && Object.getPrototypeOf(v) === Uint8Array.prototype) return true;
  if (v instanceof ArrayBuffer && Object.getPrototypeOf(v) === ArrayBuffer.prototype) return true;
  switch (typeof v) {
    case 'string':
      return wellFormed(v);
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      if (v === null) return true;
      if (depth >= MAX_DEPTH) return false; // at most MAX_DEPTH containers, as the core counts them
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        for (let i = 0; i < v.length; i++) if (!(i in v) || !isJSONValue(v[i], depth + 1)) return false;
        return true;
      }
      if (!isPlainObject(v)) return false;
      for (const k of Object.keys(v)) if (!wellFormed(k) || !isJSONValue(v[k], depth + 1)) return false;
      return Object.getOwnPropertySymbols(v).length === 0;
    default:
      return false;
  }
}

export function isCallID(id) {
  return Number.isSafeInteger(id) && id > 0;
}

// parseRequest returns {ok: true, req} for a well-formed invoke request, or
// {ok: false, id, reason} where id is set only when it can be answered.
export function parseRequest(data) {
  if (!isPlainObject(data)) return { ok: false, reason: 'not a plain object' };
  const id = isCallID(data.id) ? data.id : undefined;
  const bad = (reason) => ({ ok: false, id, reason });
  if (data.type !== 'invoke') return { ok: false, reason: 'unknown type' };
  if (id === undefined) return bad('id must be a positive integer');
  for (const k of Object.keys(data)) {
    if (!['type', 'id', 'kind', 'name', 'args'].includes(k)) return bad(`unexpected field ${k}`);
  }
  if (!KINDS.has(data.kind)) return bad('unknown kind');
  if (typeof data.name !== 'string' || !NAME_PATTERN.test(data.name)) return bad('malformed name');
  const args = data.args === undefined ? null : data.args;
  if (!isJSONValue(args)) return bad('args must be plain JSON');
  if (data.kind === 'listen' && args !== null) return bad('a listen request carries no args');
  return { ok: true, req: { type: 'invoke', id, kind: data.kind, name: data.name, args } };
}

// parseCoreMessage checks a decrypted message from the core: a reply to a
// call, or an event for the page's listeners.
export function parseCoreMessage(m) {
  if (isPlainObject(m) && m.type === 'event') {
    if (typeof m.name !== 'string' || !NAME_PATTERN.test(m.name)) return null;
    return { type: 'event', name: m.name, payload: m.payload === undefined ? null : m.payload };
  }
  if (!isPlainObject(m) || m.type !== 'reply' || !isCallID(m.id) || typeof m.ok !== 'boolean') return null;
  if (m.ok) {
    const result = m.result === undefined ? null : m.result;
    return isJSONValue(result) ? { type: 'reply', id: m.id, ok: true, result } : null;
  }
  const e = m.error;
  if (!isPlainObject(e) || typeof e.code !== 'string' || typeof e.message !== 'string') return null;
  return { type: 'reply', id: m.id, ok: false, error: { code: e.code, message: e.message } };
}
