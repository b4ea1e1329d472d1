// Property-based fuzzing of the message handlers in node with fast-check:
// the isolation iframe never sends anything but a valid, schema-checked
// request and never throws out; the bridge never throws out and settles a
// call only with a genuine reply from its own iframe.
// FUZZ_SECONDS (set by `make fuzz`) runs each property for that long.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Validator } from '@cfworker/json-schema';
import { createIsolation } from '../src/isolation.js';
import { mountBridge } from './fake-iframe.js';
import { parseRequest as parse } from '../src/shape.js';
import { c, limits } from './contract.js';

const parseRequest = (m) => parse(m, c);
import { decode } from '../src/binary.js';
import { toBase64URL, fromHex } from '../src/frame-crypto.js';

const seconds = Number(process.env.FUZZ_SECONDS || 0);
const budget = seconds > 0 ? { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false } : { numRuns: 300 };

const schemas = {
  'demo.greet': { type: 'object', properties: { name: { type: 'string', maxLength: 20 } }, required: ['name'], additionalProperties: false },
  'demo.bytes': { type: 'object', properties: { data: { type: 'object' } } },
};
const secret = crypto.getRandomValues(new Uint8Array(32));
const session = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex');

async function toCoreKey() {
  const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: fromHex(session), info: new TextEncoder().encode('isogate v1 key to-core') },
    base, { name: 'AES-GCM', length: 256 }, false, ['decrypt']);
}

// Requests near the valid shape, mutated, plus anything at all.
const nearRequest = fc.record({
  type: fc.oneof(fc.constant('invoke'), fc.string()),
  id: fc.oneof(fc.integer({ min: 1, max: 1e6 }), fc.anything()),
  kind: fc.constantFrom('command', 'event', 'listen', 'unlisten', 7),
  name: fc.oneof(fc.constantFrom('demo.greet', 'demo.bytes', 'demo.tick', '../x'), fc.string()),
  args: fc.oneof(fc.anything(), fc.record({ name: fc.string() }), fc.constant(null),
    fc.record({ data: fc.uint8Array({ maxLength: 64 }) })),
}, { requiredKeys: [] });

// Requests that fit the shape and often the schema, so sealing is exercised.
const validRequest = fc.record({
  type: fc.constant('invoke'),
  id: fc.integer({ min: 1, max: 1e6 }),
  kind: fc.constantFrom('command', 'event', 'listen'),
  name: fc.constantFrom('demo.greet', 'demo.bytes', 'demo.tick'),
  args: fc.oneof(fc.record({ name: fc.string({ maxLength: 25 }) }), fc.constant(null), fc.record({ data: fc.uint8Array({ maxLength: 64 }) })),
});

test('the isolation iframe only ever seals valid, schema-checked requests and never throws', async () => {
  const key = await toCoreKey();
  const validators = Object.fromEntries(Object.entries(schemas).map(([n, s]) => [n, new Validator(s, '2020-12', false)]));
  const sent = [];
  let sealed = 0;
  let batched = 0;
  let sock;
  class FakeSocket {
    constructor() { sock = this; setImmediate(() => this.onopen()); }
    send(f) { sent.push(f); }
    close() {}
  }
  const posted = [];
  const iso = await createIsolation({
    config: { session, secret: toBase64URL(secret), ws: 'ws://x/ws', schemas, limits },
    post: (m) => posted.push(m), WebSocket: FakeSocket, setTimeout: () => 0,
  });
  await new Promise((r) => setImmediate(r));
  // Several messages handled in one turn (as they come, or in a batch from
  // the bridge) leave in one frame: batching is exercised too.
  const one = fc.oneof(validRequest, nearRequest, fc.anything());
  const several = fc.array(one, { minLength: 1, maxLength: 4 });
  const turn = fc.oneof(several, several.map((messages) => [{ type: 'batch', messages }]));
  await fc.assert(fc.asyncProperty(turn, async (list) => {
    for (const data of list) iso.handle(data); // must not throw
    await new Promise((r) => setImmediate(r));
    while (sent.length) {
      sealed++;
      const frame = sent.shift();
      const h = frame.subarray(0, 26);
      const iv = new Uint8Array(12);
      iv.set(h.subarray(18), 4);
      const pt = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: h }, key, frame.subarray(26)));
      const whole = decode(pt);
      let list = [whole];
      if (whole.type === 'batch') {
        batched++;
        assert.deepEqual(Object.keys(whole), ['type', 'messages']);
        assert.ok(whole.messages.length > 1, 'a batch of one');
        list = whole.messages;
      }
      for (const m of list) {
        const r = parseRequest(m);
        assert.ok(r.ok, `sealed an invalid request: ${JSON.stringify(m)}`);
        if (m.kind !== 'listen') {
          const view = JSON.parse(JSON.stringify(m.args, (k, v) => (v instanceof Uint8Array ? { $binary: v.length } : v)));
          assert.ok(validators[m.name] && validators[m.name].validate(view).valid, `sealed args that break the schema: ${JSON.stringify(m)}`);
        }
      }
    }
    for (const p of posted.splice(0)) {
      assert.ok(p.type === 'ready' || (p.type === 'reply' && p.ok === false && typeof p.error.code === 'string'), `posted ${JSON.stringify(p)}`);
    }
  }), budget);
  assert.ok(sock);
  assert.ok(sealed > 0, 'the generator never produced a valid request: the property tested nothing');
  assert.ok(batched > 0, 'no batch was ever sealed: batching went untested');
});

test('the bridge never throws on messages from its iframe and settles only on genuine replies', async () => {
  const { bridge, fromFrame, close } = mountBridge();
  await bridge.ready;
  let settled = false;
  const pending = bridge.invoke('demo.greet', { name: 'a' }).then(() => { settled = true; }, () => { settled = true; });
  await new Promise((r) => setImmediate(r));
  const repliesToCall1 = (m) => m !== null && typeof m === 'object' && m.type === 'reply' && m.id === 1;
  const isBatch = (m) => m !== null && typeof m === 'object' && m.type === 'batch' && Array.isArray(m.messages);
  await fc.assert(fc.asyncProperty(fc.anything(), async (data) => {
    // Anything on the channel that is not a reply to call 1 must leave it
    // pending (and must not throw in the bridge: an exception there would
    // surface as an uncaught error and fail the test run).
    if (repliesToCall1(data) || (isBatch(data) && data.messages.some(repliesToCall1))) return;
    try { fromFrame(data); } catch { return; } // not cloneable: cannot be sent at all
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, `call settled on ${JSON.stringify(data)}`);
  }), budget);
  fromFrame({ type: 'reply', id: 1, ok: true, result: 'hi' });
  await pending;
  assert.equal(settled, true);
  close();
});
