// The isolation logic with a fake WebSocket standing in for the core. The real
// core and a real browser are exercised by the Go e2e tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIsolation, HOOK_TIMEOUT_MS } from '../src/isolation.js';
import { seal, fromHex, toBase64URL, TO_CORE, TO_FRAME } from '../src/frame-crypto.js';
import { limits } from './contract.js';

const secret = crypto.getRandomValues(new Uint8Array(32));
const session = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex');
const schemas = {
  'demo.greet': { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false },
  greet: { type: 'object' }, // a Tauri app command
};

// coreKeys derives the keys the core holds, with the usages the core needs.
async function coreKeys() {
  const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  const p = (info) => ({ name: 'HKDF', hash: 'SHA-256', salt: fromHex(session), info: new TextEncoder().encode(info) });
  const aes = { name: 'AES-GCM', length: 256 };
  return {
    toCore: await crypto.subtle.deriveKey(p('isogate v1 key to-core'), base, aes, false, ['decrypt']),
    toFrame: await crypto.subtle.deriveKey(p('isogate v1 key to-frame'), base, aes, false, ['encrypt']),
  };
}

function harness(hook = null, timers = { setTimeout: () => 0, clearTimeout: () => {} }) {
  const posted = [];
  const sockets = [];
  class FakeSocket {
    constructor(url) { this.url = url; this.sent = []; sockets.push(this); setImmediate(() => this.onopen()); }
    send(f) { this.sent.push(f); }
    close() { if (!this.closed) { this.closed = true; this.onclose(); } }
  }
  const config = { session, secret: toBase64URL(secret), ws: 'ws://127.0.0.1:1/ws', schemas, window: 'editor', limits };
  return { posted, sockets, start: () => createIsolation({ config, post: (m) => posted.push(m), WebSocket: FakeSocket, hook, ...timers }) };
}

// until waits for cond, a turn of the event loop at a time (the fake
// socket opens on one); it fails rather than spin forever.
async function until(cond, what = 'the condition') {
  for (let i = 0; !cond(); i++) {
    if (i > 10000) assert.fail(`gave up waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
const ready = (h) => until(() => h.posted.some((m) => m.type === 'ready'), 'the socket to open');

async function decryptSent(frame) {
  const k = await coreKeys();
  const h = frame.subarray(0, 26);
  const iv = new Uint8Array(12);
  iv.set(h.subarray(18), 4);
  const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: h }, k.toCore, frame.subarray(26));
  return JSON.parse(new TextDecoder().decode(pt));
}

test('a valid call is sealed and sent; the transport token is the derived one', async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  assert.deepEqual(h.posted, [{ type: 'ready' }]);
  assert.match(h.sockets[0].url, new RegExp(`\\?s=${session}&a=[A-Za-z0-9_-]{43}$`));
  iso.handle({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
  await iso.idle();
  assert.equal(h.sockets[0].sent.length, 1);
  assert.deepEqual(await decryptSent(h.sockets[0].sent[0]), { type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
});

test('schema breaches and unknown names are answered locally and never sent', async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  iso.handle({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 5 } });
  iso.handle({ type: 'invoke', id: 2, kind: 'command', name: 'fs.read', args: {} });
  iso.handle({ type: 'invoke', id: 3, kind: 'command', name: 'demo.greet', args: new Date() });
  await iso.idle();
  assert.equal(h.sockets[0].sent.length, 0);
  assert.deepEqual(h.posted.slice(1).map((m) => [m.id, m.error.code]), [[1, 'invalid_args'], [2, 'unknown_command'], [3, 'invalid_args']]);
});

test('a genuine reply is relayed; a forged or replayed one is not', async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  iso.handle({ type: 'invoke', id: 7, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
  iso.handle({ type: 'invoke', id: 8, kind: 'command', name: 'demo.greet', args: { name: 'Bo' } });
  await iso.idle();
  const k = await coreKeys();
  const body = (id) => new TextEncoder().encode(JSON.stringify({ type: 'reply', id, ok: true, result: { greeting: 'hi' } }));
  const good = await seal(k.toFrame, TO_FRAME, fromHex(session), 1, body(7));
  const sock = h.sockets[0];
  sock.onmessage({ data: good.buffer });
  await iso.idle();
  assert.deepEqual(h.posted.at(-1), { type: 'reply', id: 7, ok: true, result: { greeting: 'hi' } });

  // Replayed: same frame again. Must not be relayed (and the socket is dropped).
  const before = h.posted.length;
  sock.onmessage({ data: good.buffer });
  await iso.idle();
  assert.equal(h.posted.filter((m) => m.type === 'reply' && m.ok).length, 1);
  assert.ok(sock.closed, 'a replayed frame closes the connection');
  // The call still in flight is settled as unavailable, never left hanging.
  assert.deepEqual(h.posted.slice(before).map((m) => [m.id, m.ok, m.error && m.error.code]), [[8, false, 'unavailable']]);
});

test('a reply sealed with the request key (reflection) is refused', async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  iso.handle({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
  await iso.idle();
  const sock = h.sockets[0];
  sock.onmessage({ data: sock.sent[0].buffer }); // the iframe's own request, bounced back
  await iso.idle();
  assert.ok(sock.closed);
  assert.deepEqual(h.posted.at(-1).error.code, 'unavailable');
});

test('the isolation hook vetoes with hook_rejected unless it answers exactly true', async () => {
  // The hook's timer fires at once, so "never answers" settles promptly too.
  const timers = { setTimeout: (fn, ms) => (ms === HOOK_TIMEOUT_MS ? setImmediate(fn) : 0), clearTimeout: clearImmediate };
  const hooks = {
    'sync true': [() => true, true],
    'async true': [async () => true, true],
    'sync false': [() => false, false],
    'truthy but not true': [() => 1, false],
    'reason string': [() => 'names must be polite', false],
    throws: [() => { throw new Error('x'); }, false],
    rejects: [() => Promise.reject(new Error('x')), false],
    'never answers': [() => new Promise(() => {}), false],
  };
  for (const [name, [hook, allowed]] of Object.entries(hooks)) {
    const h = harness(hook, timers);
    const iso = await h.start();
    await ready(h);
    iso.handle({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
    await iso.idle();
    assert.equal(h.sockets[0].sent.length, allowed ? 1 : 0, name);
    if (!allowed) assert.equal(h.posted.at(-1).error.code, 'hook_rejected', name);
  }
});

test('the hook gets a copy: changing it changes nothing sent', async () => {
  const h = harness((m) => { m.args.name = 'Mallory'; return true; });
  const iso = await h.start();
  await ready(h);
  iso.handle({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
  await iso.idle();
  assert.equal((await decryptSent(h.sockets[0].sent[0])).args.name, 'Ada');
});

test("the hook sees the page's window label, as the core gave it", async () => {
  const seen = [];
  const h = harness((m) => { seen.push(m.window); return m.window === 'main'; });
  const iso = await h.start();
  await ready(h);
  iso.handle({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
  await iso.idle();
  assert.deepEqual(seen, ['editor']);
  assert.equal(h.posted.at(-1).error.code, 'hook_rejected');
  assert.equal(h.sockets[0].sent.length, 0);
});

test('a batch from the page is handled message by message; batches do not nest', async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  const greet = (id, name) => ({ type: 'invoke', id, kind: 'command', name: 'demo.greet', args: { name } });
  iso.handle({ type: 'batch', messages: [greet(1, 'Ada'), { type: 'invoke', id: 2, kind: 'command', name: 'demo.greet', args: { name: 7 } }, greet(3, 'Cy')] });
  iso.handle({ type: 'batch', messages: [{ type: 'batch', messages: [greet(4, 'Nested')] }] });
  await iso.idle();
  const sent = await Promise.all(h.sockets[0].sent.map(decryptSent));
  assert.equal(sent.length, 1, 'requests handled together leave in one frame');
  assert.deepEqual(Object.keys(sent[0]), ['type', 'messages']);
  assert.deepEqual(sent[0].messages.map((m) => m.id), [1, 3]);
  assert.deepEqual(h.posted.slice(1).map((p) => [p.id, p.error.code]), [[2, 'invalid_args']]);
});

// coreFrame seals plaintext as the core would, with sequence number seq.
async function coreFrame(plaintext, seq) {
  const k = await coreKeys();
  return (await seal(k.toFrame, TO_FRAME, fromHex(session), seq, new TextEncoder().encode(plaintext))).buffer;
}

test('a batch of replies from the core settles each call; a malformed batch ends the connection unanswered', async () => {
  const reply = (id) => `{"type":"reply","id":${id},"ok":true,"result":${id}}`;
  const cases = {
    good: [`{"type":"batch","messages":[${reply(1)},{"type":"event","name":"demo.tick","payload":{"n":1}},${reply(2)}]}`, true],
    'malformed event': [`{"type":"batch","messages":[${reply(1)},{"type":"event","name":"../x"}]}`, false],
    'duplicate reply': [`{"type":"batch","messages":[${reply(1)},${reply(1)}]}`, false],
    'reply to no call': [`{"type":"batch","messages":[${reply(1)},${reply(9)}]}`, false],
    'nested batch': [`{"type":"batch","messages":[{"type":"batch","messages":[${reply(1)}]}]}`, false],
    'empty batch': ['{"type":"batch","messages":[]}', false],
    'extra field': [`{"type":"batch","messages":[${reply(1)}],"x":1}`, false],
  };
  for (const [name, [plaintext, good]] of Object.entries(cases)) {
    const h = harness();
    const iso = await h.start();
    await ready(h);
    for (const id of [1, 2]) iso.handle({ type: 'invoke', id, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
    await iso.idle();
    const sock = h.sockets[0];
    sock.onmessage({ data: await coreFrame(plaintext, 1) });
    await iso.idle();
    const replies = h.posted.filter((p) => p.type === 'reply');
    if (good) {
      assert.deepEqual(replies.map((p) => [p.id, p.ok, p.result]), [[1, true, 1], [2, true, 2]], name);
      assert.deepEqual(h.posted.filter((p) => p.type === 'event'), [{ type: 'event', name: 'demo.tick', payload: { n: 1 } }], name);
      assert.ok(!sock.closed, name);
    } else {
      assert.ok(sock.closed, name);
      assert.ok(replies.every((p) => p.ok === false && p.error.code === 'unavailable'), `${name}: ${JSON.stringify(replies)}`);
    }
  }
});

// binaryPlaintext is a core plaintext in the binary form: JSON, then blobs.
function binaryPlaintext(message, blobs) {
  const json = new TextEncoder().encode(JSON.stringify(message));
  let n = 5 + json.length;
  for (const b of blobs) n += b.length;
  const out = new Uint8Array(n);
  out[0] = 1;
  new DataView(out.buffer).setUint32(1, json.length);
  out.set(json, 5);
  let at = 5 + json.length;
  for (const b of blobs) { out.set(b, at); at += b.length; }
  return out;
}

async function sealedFrame(plaintext, seq) {
  const k = await coreKeys();
  return (await seal(k.toFrame, TO_FRAME, fromHex(session), seq, plaintext)).buffer;
}

const chunk = (id, bytes, extra = {}) => binaryPlaintext({ type: 'data', id, payload: null, ...extra, bin: [{ path: '', len: bytes.length }] }, [bytes]);
const json = (m) => new TextEncoder().encode(JSON.stringify(m));

test("an event's raw bytes reach the page's listeners as a Uint8Array, in place", async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  const bytes = new Uint8Array([0, 1, 2, 255]);
  const ev = binaryPlaintext({ type: 'event', name: 'demo.tick', payload: { data: null, n: 1 }, bin: [{ path: '/data', len: 4 }] }, [bytes]);
  h.sockets[0].onmessage({ data: await sealedFrame(ev, 1) });
  await iso.idle();
  const got = h.posted.filter((p) => p.type === 'event');
  assert.equal(got.length, 1);
  assert.ok(got[0].payload.data instanceof Uint8Array);
  assert.deepEqual([...got[0].payload.data], [0, 1, 2, 255]);
  assert.equal(got[0].payload.n, 1);
  assert.ok(!h.sockets[0].closed);
});

test('a streamed result: the reply, then its chunks in order, handed over; the call is in flight until the end', async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  iso.handle({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
  await iso.idle();
  const sock = h.sockets[0];
  const frames = [
    json({ type: 'reply', id: 1, ok: true, result: { name: 'x', data: null }, stream: '/data' }),
    chunk(1, new Uint8Array([1, 2, 3])),
    chunk(1, new Uint8Array([4]), { end: true }),
  ];
  for (const [i, pt] of frames.entries()) sock.onmessage({ data: await sealedFrame(pt, i + 1) });
  await iso.idle();
  assert.deepEqual(h.posted.slice(1).map((m) => [m.type, m.id]), [['reply', 1], ['data', 1], ['data', 1]]);
  assert.equal(h.posted[1].stream, '/data');
  assert.deepEqual([...h.posted[2].payload, ...h.posted[3].payload], [1, 2, 3, 4]);
  assert.equal(h.posted[3].end, true);
  // Ended: the id is free, and data for it now is an attack.
  sock.onmessage({ data: await sealedFrame(chunk(1, new Uint8Array([9])), 4) });
  await iso.idle();
  assert.ok(sock.closed, 'data after the end closes the connection');
});

test('stream attacks end the connection: data for no stream, a second reply, a pointer at no null, a stream in a failure', async () => {
  const cases = {
    'data for no call': [chunk(9, new Uint8Array([1]))],
    'data before the reply': [chunk(1, new Uint8Array([1]))],
    'a second reply while streaming': [json({ type: 'reply', id: 1, ok: true, result: null, stream: '' }), json({ type: 'reply', id: 1, ok: true, result: 1 })],
    'pointer at a value': [json({ type: 'reply', id: 1, ok: true, result: { data: 5 }, stream: '/data' })],
    'pointer at nothing': [json({ type: 'reply', id: 1, ok: true, result: {}, stream: '/data' })],
    'pointer through the prototype': [json({ type: 'reply', id: 1, ok: true, result: {}, stream: '/__proto__' })],
    'root stream with a result': [json({ type: 'reply', id: 1, ok: true, result: 1, stream: '' })],
    'stream not a string': [json({ type: 'reply', id: 1, ok: true, result: null, stream: 1 })],
    'data payload not bytes': [json({ type: 'reply', id: 1, ok: true, result: null, stream: '' }), json({ type: 'data', id: 1, payload: 'x' })],
    'error without end': [json({ type: 'reply', id: 1, ok: true, result: null, stream: '' }), json({ type: 'data', id: 1, error: { code: 'x', message: 'y' } })],
    'extra field': [json({ type: 'reply', id: 1, ok: true, result: null, stream: '' }), json({ type: 'data', id: 1, end: true, more: 1 })],
  };
  for (const [name, plaintexts] of Object.entries(cases)) {
    const h = harness();
    const iso = await h.start();
    await ready(h);
    iso.handle({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
    await iso.idle();
    const sock = h.sockets[0];
    for (const [i, pt] of plaintexts.entries()) sock.onmessage({ data: await sealedFrame(pt, i + 1) });
    await iso.idle();
    assert.ok(sock.closed, name);
  }
});

test('a cancel while the result streams goes to the core; a dropped connection ends the stream unavailable', async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  iso.handle({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
  await iso.idle();
  const sock = h.sockets[0];
  sock.onmessage({ data: await sealedFrame(json({ type: 'reply', id: 1, ok: true, result: null, stream: '' }), 1) });
  await iso.idle();
  iso.handle({ type: 'cancel', id: 1 });
  await iso.idle();
  assert.deepEqual(await decryptSent(sock.sent.at(-1)), { type: 'cancel', id: 1 });
  sock.close();
  await iso.idle();
  assert.deepEqual(h.posted.at(-1), { type: 'data', id: 1, payload: null, end: true, error: { code: 'unavailable', message: 'connection to the core was lost' } });
});

const tauriCall = (id, ch) => ({
  type: 'invoke', id, kind: 'command', name: 'greet', args: { name: 'Ada', onEvent: `__CHANNEL__:${ch}` },
  tauri: { cmd: 'greet', headers: {}, raw: false, channels: ['/onEvent'], target: null },
});
const channelMsg = (id, index, extra = {}) => json({ type: 'channel', id, index, message: { n: index }, ...extra });

test('channel messages reach the page only for channels it passed, in calls not refused', async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  iso.handle(tauriCall(1, 17));
  iso.handle(tauriCall(2, 18));
  await iso.idle();
  const sock = h.sockets[0];
  let seq = 0;
  const from = async (pt) => { sock.onmessage({ data: await sealedFrame(pt, ++seq) }); await iso.idle(); };
  await from(channelMsg(17, 0));
  assert.deepEqual(h.posted.at(-1), { type: 'channel', id: 17, index: 0, message: { n: 0 }, end: false });
  // Call 2 is refused: its channel 18 will never be sent on, and is forgotten.
  await from(json({ type: 'reply', id: 2, ok: false, error: { code: 'denied', message: 'no' } }));
  await from(channelMsg(17, 1, { message: undefined, end: true }));
  assert.equal(h.posted.at(-1).end, true);
  assert.ok(!sock.closed);
  await from(channelMsg(18, 0));
  assert.ok(sock.closed, 'a message for a refused call\'s channel closes the connection');
});

test('a channel message for an id the page never passed closes the connection; a lost connection ends the open ones', async () => {
  const h = harness();
  const iso = await h.start();
  await ready(h);
  iso.handle(tauriCall(1, 5));
  await iso.idle();
  const sock = h.sockets[0];
  sock.onmessage({ data: await sealedFrame(channelMsg(6, 0), 1) });
  await iso.idle();
  assert.ok(sock.closed);
  assert.ok(h.posted.some((m) => m.type === 'channel' && m.id === 5 && m.lost === true), 'the page\'s channel 5 is ended');
});
