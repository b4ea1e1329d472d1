// The bridge with a fake document and iframe window: batching of calls, and
// which messages settle them. The real thing runs in the Go e2e tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBridge } from '../src/bridge.js';
import { batcher } from '../src/batch.js';

function harness() {
  let onMessage;
  const frameWin = { posted: [], postMessage(m) { this.posted.push(structuredClone(m)); } };
  const fakeDocument = {
    createElement: () => ({ setAttribute() {}, style: {}, contentWindow: frameWin, isConnected: true }),
    documentElement: { appendChild() {} },
  };
  const fakeWindow = { addEventListener: (type, fn) => { onMessage = fn; } };
  const realSetInterval = globalThis.setInterval;
  globalThis.setInterval = () => 0;
  const bridge = createBridge({ frameURL: 'x', document: fakeDocument, window: fakeWindow, fetch: async () => ({ ok: false }) });
  globalThis.setInterval = realSetInterval;
  const fromFrame = (data) => onMessage({ source: frameWin, data });
  fromFrame({ type: 'ready' });
  return { bridge, frameWin, fromFrame, fromOther: (data) => onMessage({ source: {}, data }) };
}

const turn = () => new Promise((r) => setImmediate(r));

test('a lone message leaves as itself; messages of one task leave as one batch', async () => {
  const out = [];
  const post = batcher((m) => out.push(m));
  post({ type: 'a' });
  await turn();
  post({ type: 'b' });
  post({ type: 'c' });
  assert.equal(out.length, 1, 'nothing waits for a timer, but nothing leaves before the task ends either');
  await turn();
  assert.deepEqual(out, [{ type: 'a' }, { type: 'batch', messages: [{ type: 'b' }, { type: 'c' }] }]);
});

test('calls made together reach the iframe in one postMessage, with args as they were at the call', async () => {
  const h = harness();
  await h.bridge.ready;
  const args = { name: 'Ada' };
  const calls = [h.bridge.invoke('demo.greet', args)];
  args.name = 'Mallory'; // changed after the call: must not reach the iframe
  calls.push(h.bridge.invoke('demo.greet', { name: 'Cy' }));
  await turn();
  assert.equal(h.frameWin.posted.length, 1);
  const batch = h.frameWin.posted[0];
  assert.equal(batch.type, 'batch');
  assert.deepEqual(batch.messages.map((m) => m.args.name), ['Ada', 'Cy']);
  h.fromFrame({ type: 'batch', messages: batch.messages.map((m) => ({ type: 'reply', id: m.id, ok: true, result: m.args.name })) });
  assert.deepEqual(await Promise.all(calls), ['Ada', 'Cy']);
});

test('replies settle calls only from the iframe, and not from inside a nested batch', async () => {
  const h = harness();
  await h.bridge.ready;
  let settled = false;
  const call = h.bridge.invoke('demo.greet', { name: 'Ada' }).then((r) => { settled = true; return r; });
  await turn();
  const id = h.frameWin.posted[0].id;
  const reply = { type: 'reply', id, ok: true, result: 'forged' };
  h.fromOther(reply);
  h.fromOther({ type: 'batch', messages: [reply] });
  h.fromFrame({ type: 'batch', messages: [{ type: 'batch', messages: [reply] }] });
  await turn();
  assert.equal(settled, false);
  h.fromFrame({ type: 'batch', messages: [{ ...reply, result: 'genuine' }] });
  assert.equal(await call, 'genuine');
});

test('args that cannot be copied reject the call', async () => {
  const h = harness();
  await h.bridge.ready;
  await assert.rejects(h.bridge.invoke('demo.greet', { f() {} }));
});
