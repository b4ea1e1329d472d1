// Sealing and opening frames with WebCrypto, byte for byte the format of the
// Go package crypto (docs/protocol.md). Keys are imported non-extractable.

export const VERSION = 1;
export const TO_CORE = 1;
export const TO_FRAME = 2;
export const HEADER_SIZE = 26;
const TAG_SIZE = 16;

const INFO_TO_CORE = 'isogate v1 key to-core';
const INFO_TO_FRAME = 'isogate v1 key to-frame';
const INFO_AUTH = 'isogate v1 transport-auth';

const utf8 = new TextEncoder();

// OpenError is the one error open() throws; it never says why.
export class OpenError extends Error {
  constructor() {
    super('cannot open frame');
    this.name = 'OpenError';
  }
}

// deriveKeys runs HKDF-SHA256 (salt = session id) exactly as crypto.DeriveKeys.
// toCore can only encrypt, toFrame can only decrypt, neither can be exported.
export async function deriveKeys(secret, sessionID, subtle = globalThis.crypto.subtle) {
  const base = await subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey', 'deriveBits']);
  const params = (info) => ({ name: 'HKDF', hash: 'SHA-256', salt: sessionID, info: utf8.encode(info) });
  const aes = { name: 'AES-GCM', length: 256 };
  const toCore = await subtle.deriveKey(params(INFO_TO_CORE), base, aes, false, ['encrypt']);
  const toFrame = await subtle.deriveKey(params(INFO_TO_FRAME), base, aes, false, ['decrypt']);
  const auth = new Uint8Array(await subtle.deriveBits(params(INFO_AUTH), base, 256));
  return { toCore, toFrame, auth };
}

function header(direction, sessionID, seq) {
  const h = new Uint8Array(HEADER_SIZE);
  h[0] = VERSION;
  h[1] = direction;
  h.set(sessionID, 2);
  new DataView(h.buffer).setBigUint64(18, BigInt(seq));
  return h;
}

function nonceOf(h) {
  const n = new Uint8Array(12);
  n.set(h.subarray(18, 26), 4);
  return n;
}

// seal returns version|direction|session|seq || AES-GCM(plaintext) with the
// header as associated data and the sequence number as nonce.
export async function seal(key, direction, sessionID, seq, plaintext, subtle = globalThis.crypto.subtle) {
  // Past 2^53-1 the counter no longer counts exactly, and a nonce would
  // repeat: the session must end instead (crypto.MaxSeq in Go).
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error('sequence numbers exhausted');
  const h = header(direction, sessionID, seq);
  const ct = await subtle.encrypt({ name: 'AES-GCM', iv: nonceOf(h), additionalData: h, tagLength: 128 }, key, plaintext);
  const out = new Uint8Array(HEADER_SIZE + ct.byteLength);
  out.set(h, 0);
  out.set(new Uint8Array(ct), HEADER_SIZE);
  return out;
}

// open checks the header against what is expected and authenticates the
// frame. It returns {seq, plaintext}; replay checks are the caller's.
export async function open(key, direction, sessionID, frame, subtle = globalThis.crypto.subtle) {
  const f = new Uint8Array(frame);
  if (f.length < HEADER_SIZE + TAG_SIZE || f[0] !== VERSION || f[1] !== direction) throw new OpenError();
  for (let i = 0; i < sessionID.length; i++) if (f[2 + i] !== sessionID[i]) throw new OpenError();
  const h = f.subarray(0, HEADER_SIZE);
  const seq = new DataView(f.buffer, f.byteOffset).getBigUint64(18);
  if (seq === 0n || seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new OpenError();
  let pt;
  try {
    pt = await subtle.decrypt({ name: 'AES-GCM', iv: nonceOf(h), additionalData: h, tagLength: 128 }, key, f.subarray(HEADER_SIZE));
  } catch {
    throw new OpenError();
  }
  return { seq: Number(seq), plaintext: new Uint8Array(pt) };
}

export function fromHex(s) {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

export function toBase64URL(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64URL(s) {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
