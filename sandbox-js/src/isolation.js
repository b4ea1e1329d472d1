// The isolation iframe's logic: take requests from the parent page, check
// them, seal them and send them to the core; open the core's replies and hand
// them back. It runs inside a sandbox="allow-scripts" iframe with an opaque
// origin, so the page cannot reach anything held here, the keys above all.

import { Validator } from '@cfworker/json-schema';
import { deriveKeys, seal, open, fromHex, fromBase64URL, toBase64URL, TO_CORE, TO_FRAME } from './frame-crypto.js';
import { contract, parseRequest, parseCoreMessage, isPlainObject, channelAt } from './shape.js';
import { split, encode, decode } from './binary.js';
import { unbatch, frames, joinBatch } from './batch.js';
import { compileOperations, checkHTTP } from './openapi.js';


// A hook that has not answered after this long vetoes the call: a hook that
// never settles must not leave the page's promise pending forever.
export const HOOK_TIMEOUT_MS = 5000;

// Reconnect delays after the transport drops, in milliseconds.
const BACKOFF = [100, 250, 500, 1000, 2000];

function failure(id, code, message) {
  return { type: 'reply', id, ok: false, error: { code, message } };
}

// checkRequest holds one message from the page to the contract c, before
// any schema: its shape, its depth and, encoded as it will be sealed, its
// sizes. It returns {ok: true, req, parts, body}, or {ok: false, id, code,
// reason} where id is set only when the message can be answered (a message
// without one is dropped, as the core ends a connection whose frame it
// cannot answer). testdata/messages holds the cases the core's decoder
// agrees on.
export function checkRequest(data, c) {
  const parsed = parseRequest(data, c);
  if (!parsed.ok) return { ok: false, id: parsed.id, code: 'invalid_args', reason: parsed.reason };
  const req = parsed.req;
  const parts = split(req.args);
  const { plaintext: body, jsonBytes } = encode({ ...req, args: parts.json }, parts.bin, parts.blobs);
  if (jsonBytes > c.maxMessageBytes || parts.bytes > c.maxBinaryBytes) {
    return {
      ok: false, id: req.id, code: 'too_large',
      reason: `message is ${jsonBytes} bytes of JSON and ${parts.bytes} of binary; the limits are ${c.maxMessageBytes} and ${c.maxBinaryBytes}`,
    };
  }
  return { ok: true, req, parts, body };
}

// createIsolation wires one isolation session.
//   config: {session: hex, secret: base64url, ws: url, schemas: {name: schema},
//     window, hook, limits: the core's isolation.Limits}
//   post(message, transfer): deliver a message to the parent page; the
//     buffers in transfer (if any) are handed over, not copied
//   WebSocket: constructor (the browser's, or a test double)
//   hook: the security team's isolation hook, or null. It gets a copy of
//     {kind, name, args, window} and vetoes the call unless it returns (or resolves to)
//     exactly true; throwing, rejecting or taking longer than HOOK_TIMEOUT_MS
//     vetoes too.
export async function createIsolation({
  config, post, WebSocket, hook = null,
  subtle = globalThis.crypto.subtle, setTimeout = globalThis.setTimeout, clearTimeout = globalThis.clearTimeout,
}) {
  const c = contract(config.limits); // first: without the core's limits nothing runs
  const sessionID = fromHex(config.session);
  const secret = fromBase64URL(config.secret);
  const keys = await deriveKeys(secret, sessionID, subtle);
  secret.fill(0);

  const operations = compileOperations(config.http); // the app's HTTP API, when the policy has an OpenAPI document
  const validators = new Map();
  for (const [name, schema] of Object.entries(config.schemas || {})) {
    validators.set(name, new Validator(schema, '2020-12', false));
  }

  const inFlight = new Set(); // call ids sent to the core and not yet answered, or whose stream has not ended
  const sealed = new Set(); // of those, the ones already sealed and sent
  const streaming = new Set(); // of those, the ones answered whose stream is under way
  const channels = new Map(); // id of a Tauri Channel the page passed in calls sent on this connection -> how many
  const callChannels = new Map(); // call id -> the channel ids it passed, until its reply
  const MAX_CHANNELS = 1024;
  const release = (ids) => {
    for (const ch of ids) {
      const n = channels.get(ch) - 1;
      if (n > 0) channels.set(ch, n);
      else channels.delete(ch);
    }
  };
  let ws = null;
  let open_ = false;
  let sendSeq = 0;
  let recvSeq = 0; // the core sends in order on one ordered socket
  let sending = Promise.resolve();
  let receiving = Promise.resolve(); // decrypts finish out of order; frames must not
  let attempt = 0;

  function connect() {
    const url = `${config.ws}?s=${config.session}&a=${toBase64URL(keys.auth)}`;
    const sock = new WebSocket(url);
    sock.binaryType = 'arraybuffer';
    ws = sock;
    sock.onopen = () => {
      if (ws !== sock) return;
      open_ = true;
      attempt = 0;
      post({ type: 'ready' });
    };
    sock.onmessage = (ev) => {
      // Decrypts start at once and may overlap (a long stream's chunks);
      // what they give is taken in the order the frames came.
      const opened = opening(ev.data);
      opened.catch(() => {}); // handled in turn below
      receiving = receiving.then(() => (ws === sock ? receive(opened) : undefined)).catch(() => drop(sock));
    };
    sock.onclose = () => drop(sock);
  }

  // drop ends a connection once: calls in flight settle as unavailable, later
  // frames on it are ignored, and a new connection is tried after a backoff.
  function drop(sock) {
    if (ws !== sock) return;
    ws = null;
    open_ = false;
    sock.close();
    for (const id of inFlight) {
      const lost = { code: 'unavailable', message: 'connection to the core was lost' };
      post(streaming.has(id) ? { type: 'data', id, payload: null, end: true, error: lost } : failure(id, lost.code, lost.message));
    }
    inFlight.clear();
    sealed.clear();
    streaming.clear();
    // The core sends a call's channel only on the connection the call came
    // on: with it gone, each channel ends here, and the page's Channel too.
    for (const id of channels.keys()) post({ type: 'channel', id, lost: true });
    channels.clear();
    callChannels.clear();
    setTimeout(connect, BACKOFF[Math.min(attempt++, BACKOFF.length - 1)]);
  }

  // receive takes a frame from the core, opened (opening): one message, or
  // a batch of them.
  // Anything malformed in it ends the connection before any of it is passed
  // on: a reply to no call in flight, a second reply, data for no stream
  // under way. The blobs are handed over to the page, not copied.
  async function opening(data) {
    if (!(data instanceof ArrayBuffer)) throw new Error('text frame');
    return open(keys.toFrame, TO_FRAME, sessionID, data, subtle);
  }

  async function receive(opened) {
    const { seq, plaintext } = await opened;
    if (seq <= recvSeq) throw new Error('replayed frame');
    recvSeq = seq;
    const blobs = [];
    const raw = decode(plaintext, blobs);
    let list = [raw];
    if (isPlainObject(raw) && raw.type === 'batch') {
      if (Object.keys(raw).length !== 2 || !Array.isArray(raw.messages) || raw.messages.length === 0) throw new Error('malformed batch');
      list = raw.messages;
    }
    const messages = list.map((m) => parseCoreMessage(m, c));
    const answered = new Set();
    const live = new Set(streaming); // as it will be after each message
    for (const m of messages) {
      if (m === null) throw new Error('malformed message from the core');
      if (m.type === 'reply') {
        if (!inFlight.has(m.id) || live.has(m.id) || answered.has(m.id)) throw new Error('unexpected reply');
        answered.add(m.id);
        if (m.stream !== undefined) live.add(m.id);
      }
      if (m.type === 'data') {
        if (!live.has(m.id)) throw new Error('data for no stream under way');
        if (m.end) live.delete(m.id);
      }
      if (m.type === 'channel' && !channels.has(m.id)) throw new Error('a message for a channel the page never passed');
    }
    for (const m of messages) {
      if (m.type === 'channel' && m.end) release([m.id]);
      if (m.type === 'reply') {
        // A refused call's channels will never be sent on; an answered
        // call's live on until their end.
        if (!m.ok && callChannels.has(m.id)) release(callChannels.get(m.id));
        callChannels.delete(m.id);
      }
    }
    for (const m of messages) {
      if (m.type === 'reply' && m.stream !== undefined) {
        streaming.add(m.id); // still in flight: a cancel still goes to the core
      } else if (m.type === 'reply' || (m.type === 'data' && m.end)) {
        inFlight.delete(m.id);
        sealed.delete(m.id);
        streaming.delete(m.id);
      }
    }
    messages.forEach((m, i) => post(m, i === messages.length - 1 ? blobs : undefined));
  }

  // send queues a checked request for the core. What is queued while a
  // frame is being sealed leaves together in the next frame (a batch), so
  // under load the seal, the send and the core's open are paid once per
  // batch; a lone request leaves at once, on its own.
  const outbox = []; // {id, body, cancel}
  const enc = new TextEncoder();
  function send(req, body) {
    outbox.push({ id: req.id, body, cancel: req.cancel === true });
    if (outbox.length > 1) return; // a flush is already queued and will take it
    sending = sending.then(flush).catch(() => {});
  }

  async function flush() {
    const sock = ws;
    for (const group of frames(outbox.splice(0), c.maxMessageBytes, c.maxBatchMessages)) {
      const live = group.filter((it) => inFlight.has(it.id)); // not already answered by a dropped connection
      if (live.length === 0) continue;
      try {
        const plaintext = live.length === 1 ? live[0].body : joinBatch(live.map((it) => it.body));
        // Marked before the seal's await: a cancel arriving meanwhile must
        // go to the core, which will answer the call.
        for (const it of live) if (!it.cancel) sealed.add(it.id);
        sock.send(await seal(keys.toCore, TO_CORE, sessionID, ++sendSeq, plaintext, subtle));
      } catch {
        for (const it of live) {
          sealed.delete(it.id);
          if (inFlight.delete(it.id)) post(failure(it.id, 'unavailable', 'could not send to the core'));
        }
      }
    }
  }

  // cancel takes the page's giving up on call id: a request not sealed yet
  // is dropped here; one the core has is cancelled there (it still
  // answers, and the answer settles the id).
  function cancel(id) {
    if (!inFlight.has(id)) return;
    if (!sealed.has(id)) {
      inFlight.delete(id); // in the hook or the outbox: it never leaves
      return;
    }
    send({ id, cancel: true }, enc.encode(JSON.stringify({ type: 'cancel', id })));
  }

  function handleOne(data) {
    if (isPlainObject(data) && data.type === 'cancel' && Object.keys(data).length === 2 && Number.isSafeInteger(data.id) && data.id > 0) {
      cancel(data.id);
      return;
    }
    const checked = checkRequest(data, c);
    if (!checked.ok) {
      if (checked.id !== undefined && !inFlight.has(checked.id)) post(failure(checked.id, checked.code, checked.reason));
      return;
    }
    const { req } = checked;
    if (inFlight.has(req.id)) return; // a second request with a live id would confuse the first
    if (!checkLocally(checked)) return;
    if (!open_) {
      post(failure(req.id, 'unavailable', 'not connected to the core'));
      return;
    }
    inFlight.add(req.id);
    if (hook === null) {
      dispatch(checked);
      return;
    }
    const message = { kind: req.kind, name: req.name, args: checked.parts.view, window: config.window };
    if (req.tauri) {
      message.tauri = structuredClone(req.tauri);
      message.payload = structuredClone(req.args); // the bytes themselves, as Tauri's hook gets them
    }
    runHook(message, (verdict) => {
      if (!inFlight.has(req.id)) return; // the connection dropped meanwhile: already answered
      if (verdict === true) {
        dispatch(checked);
        return;
      }
      if (verdict !== null && typeof verdict === 'object' && isPlainObject(verdict.replace)) {
        // The hook rewrote the message (a Tauri isolation hook may): the
        // new one meets every check the first did, and goes instead.
        const r = verdict.replace;
        const again = checkRequest({ type: 'invoke', id: req.id, kind: r.kind, name: r.name, args: r.args, ...(r.tauri ? { tauri: r.tauri } : {}) }, c);
        if (!again.ok) {
          inFlight.delete(req.id);
          post(failure(req.id, again.code, `the hook's rewrite: ${again.reason}`));
          return;
        }
        if (!checkLocally(again)) {
          inFlight.delete(req.id);
          return;
        }
        dispatch(again);
        return;
      }
      inFlight.delete(req.id);
      post(failure(req.id, 'hook_rejected', typeof verdict === 'string' && verdict ? verdict : 'rejected by the isolation hook'));
    });
  }

  // checkLocally holds a well-formed request to the policy's schemas and
  // OpenAPI operations; a failure is answered here.
  function checkLocally({ req, parts }) {
    if (req.kind === 'http') {
      const refused = checkHTTP(operations, req);
      if (refused !== null) {
        post(failure(req.id, refused.code, refused.reason));
        return false;
      }
    }
    if (req.kind === 'command' || req.kind === 'event') {
      const validator = validators.get(req.name);
      if (validator === undefined) {
        post(failure(req.id, 'unknown_command', `unknown ${req.kind} ${req.name}`));
        return false;
      }
      const result = validator.validate(parts.view);
      if (!result.valid) {
        const e = result.errors[result.errors.length - 1];
        post(failure(req.id, 'invalid_args', `args${e.instanceLocation.slice(1)}: ${e.error}`));
        return false;
      }
    }
    return true;
  }

  // dispatch sends a checked request; its Channels are the page's from now
  // on, up to MAX_CHANNELS open at once.
  function dispatch({ req, body }) {
    const ids = req.tauri ? req.tauri.channels.map((p) => channelAt(req.args, p)) : [];
    if (ids.length) {
      if (channels.size + ids.length > MAX_CHANNELS) {
        inFlight.delete(req.id);
        post(failure(req.id, 'rate_limited', `more than ${MAX_CHANNELS} channels open`));
        return;
      }
      for (const ch of ids) channels.set(ch, (channels.get(ch) || 0) + 1);
      callChannels.set(req.id, ids);
    }
    send(req, body);
  }

  // runHook passes the hook's verdict to done: at once when the hook answers
  // synchronously (no promise, no timer on the common path), else when its
  // promise settles; false when it throws or rejects, and a reason when it
  // has not answered after HOOK_TIMEOUT_MS. The hook sees what schemas see,
  // {"$binary": length} for raw bytes. The request was encoded before the
  // hook ran, so changing what the hook got changes nothing sent.
  function runHook(req, done) {
    let verdict;
    let thenable = false;
    try {
      verdict = hook(req);
      thenable = verdict !== null && (typeof verdict === 'object' || typeof verdict === 'function') && typeof verdict.then === 'function';
    } catch {
      done(false);
      return;
    }
    if (!thenable) {
      done(verdict);
      return;
    }
    let settled = false;
    let finished;
    hooks.add(new Promise((r) => { finished = r; }));
    const once = (v) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(v);
      finished();
    };
    const timer = setTimeout(() => once('the isolation hook did not answer in time'), HOOK_TIMEOUT_MS);
    try {
      Promise.resolve(verdict).then(once, () => once(false));
    } catch {
      once(false);
    }
  }

  // handle takes one message, or one batch of messages, from the parent page.
  function handle(data) {
    unbatch(data, handleOne);
  }

  // idle resolves once nothing started so far is still under way: hooks
  // that have not answered, frames being sealed or sent, frames from the
  // core being opened. Tests wait on it instead of on time.
  const hooks = new Set();
  async function idle() {
    for (;;) {
      const s = sending;
      const r = receiving;
      const pending = [...hooks];
      await Promise.allSettled([s, r, ...pending]);
      for (const h of pending) hooks.delete(h);
      if (s === sending && r === receiving && hooks.size === 0) return;
    }
  }

  connect();
  return { handle, idle };
}
