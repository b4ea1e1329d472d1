// The bridge with a fake document and iframe window: batching of calls, and
// which messages settle them. The real thing runs in the Go e2e tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mountBridge } from './fake-iframe.js';
import { batcher } from '../src/batch.js';

const harness = mountBridge;

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

test('a lone call leaves at once; the calls after it in the same task leave as one batch; args are as they were at the call', async () => {
  const h = harness();
  await h.bridge.ready;
  const first = { name: 'Ada' };
  const second = { name: 'Cy' };
  const calls = [h.bridge.invoke('demo.greet', first), h.bridge.invoke('demo.greet', second), h.bridge.invoke('demo.greet', { name: 'Di' })];
  first.name = 'Mallory'; // changed after the calls: must not reach the iframe
  second.name = 'Mallory';
  await turn();
  await turn();
  assert.equal(h.frameWin.posted.length, 2);
  const [alone, batch] = h.frameWin.posted;
  assert.equal(alone.type, 'invoke');
  assert.equal(batch.type, 'batch');
  const sent = [alone, ...batch.messages];
  assert.deepEqual(sent.map((m) => m.args.name), ['Ada', 'Cy', 'Di']);
  assert.deepEqual(sent.map((m) => m.id), [sent[0].id, sent[0].id + 1, sent[0].id + 2], 'in call order');
  h.fromFrame({ type: 'batch', messages: sent.map((m) => ({ type: 'reply', id: m.id, ok: true, result: m.args.name })) });
  assert.deepEqual(await Promise.all(calls), ['Ada', 'Cy', 'Di']);
  h.close();
});

test('calls reach the iframe in the order they were made, when some wait for the iframe and some do not', async () => {
  const names = (h) => h.frameWin.posted.flatMap((m) => (m.type === 'batch' ? m.messages : [m])).map((m) => m.name);
  // Before the iframe is ready: a call made once it is must not pass one
  // made earlier.
  const h = harness({ ready: false });
  const calls = [];
  const later = h.bridge.ready.then(() => { calls.push(h.bridge.emit('second', null)); });
  calls.push(h.bridge.emit('first', null));
  await turn();
  h.fromFrame({ type: 'ready' });
  await later;
  await turn();
  await turn();
  assert.deepEqual(names(h), ['first', 'second']);
  // Later: a call made from a microtask after one that went into the
  // batch must not take the direct path past it.
  h.frameWin.posted.length = 0;
  calls.push(h.bridge.invoke('x', null));
  const b = Promise.resolve().then(() => { calls.push(h.bridge.invoke('b', null)); });
  calls.push(h.bridge.invoke('a', null));
  await b;
  await turn();
  await turn();
  assert.deepEqual(names(h), ['x', 'a', 'b']);
  h.close();
});

test('args with cycles and shared parts are copied and sent once, not walked without end', { timeout: 10000 }, async () => {
  const h = harness();
  await h.bridge.ready;
  const ring = { name: 'a', next: null };
  ring.next = { name: 'b', next: ring };
  let shared = { data: new Uint8Array(4) };
  for (let i = 0; i < 80; i++) shared = { left: shared, right: shared }; // 2^80 paths, 80 objects
  const calls = [h.bridge.invoke('t.first', null), h.bridge.invoke('t.ring', ring), h.bridge.invoke('t.shared', shared)];
  await turn();
  await turn();
  const [, batch] = h.frameWin.posted;
  const [r, sh] = batch.messages;
  assert.equal(r.args.next.next, r.args, 'the cycle arrives as a cycle; the iframe refuses it');
  assert.equal(sh.args.left, sh.args.right);
  h.fromFrame({ type: 'batch', messages: [h.frameWin.posted[0], r, sh].map((m) => ({ type: 'reply', id: m.id, ok: true, result: null })) });
  await Promise.all(calls);
  h.close();
});

test('a call whose Tauri member cannot be copied rejects alone; the calls batched with it still go', async () => {
  const h = harness();
  await h.bridge.ready;
  const first = h.bridge.invoke('t.first', null); // direct: the ones after it are batched
  const bad = h.call('command', 't.bad', null, null, { target: () => {} });
  const after = h.bridge.invoke('t.after', null);
  await assert.rejects(bad, { name: 'DataCloneError' });
  await turn();
  await turn();
  assert.deepEqual(h.frameWin.posted.map((m) => m.name), ['t.first', 't.after']);
  h.fromFrame({ type: 'batch', messages: h.frameWin.posted.map((m) => ({ type: 'reply', id: m.id, ok: true, result: null })) });
  await Promise.all([first, after]);
  h.close();
});

test('bytes reach the iframe as they were at the call, and the caller keeps its own', async () => {
  const h = harness();
  await h.bridge.ready;
  const alone = new Uint8Array([1, 2, 3]);
  const batched = new Uint8Array([4, 5, 6]);
  const transfers = [];
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (m, transfer) { transfers.push(transfer || []); return post.call(this, m, transfer); };
  let calls;
  try {
    calls = [h.bridge.invoke('t.bytes', { data: alone }), h.bridge.invoke('t.bytes', { data: batched, again: batched })];
    alone[0] = 9;
    batched[0] = 9;
    await turn();
    await turn();
  } finally {
    MessagePort.prototype.postMessage = post;
  }
  assert.equal(transfers.length, 2);
  assert.equal(transfers[0].length, 0, 'a call posted at once is copied by postMessage: nothing of the caller\'s moves');
  assert.equal(transfers[1].length, 1, 'the waiting call\'s own copy moves, once');
  assert.equal(transfers[1][0].byteLength, 0, 'and is detached here: it was moved, not copied');
  assert.equal(alone.byteLength, 3, 'the caller\'s buffer is not taken away');
  assert.equal(batched.byteLength, 3);
  const [m1, m2] = h.frameWin.posted; // a batch of one leaves as itself
  assert.deepEqual([...m1.args.data], [1, 2, 3]);
  assert.deepEqual([...m2.args.data], [4, 5, 6]);
  assert.equal(m2.args.data.buffer, m2.args.again.buffer, 'one buffer, moved once');
  h.fromFrame({ type: 'batch', messages: [m1, m2].map((m) => ({ type: 'reply', id: m.id, ok: true, result: null })) });
  await Promise.all(calls);
  h.close();
});

test('replies settle calls only as replies on the channel, never from inside a nested batch', async () => {
  const h = harness();
  await h.bridge.ready;
  let settled = false;
  const call = h.bridge.invoke('demo.greet', { name: 'Ada' }).then((r) => { settled = true; return r; });
  await turn();
  await turn();
  const id = h.frameWin.posted[0].id;
  const reply = { type: 'reply', id, ok: true, result: 'forged' };
  h.fromFrame({ type: 'batch', messages: [{ type: 'batch', messages: [reply] }] });
  h.fromFrame({ type: 'reply', id: id + 1, ok: true, result: 'not this call' });
  await turn();
  assert.equal(settled, false);
  h.fromFrame({ type: 'batch', messages: [{ ...reply, result: 'genuine' }] });
  assert.equal(await call, 'genuine');
  h.close();
});

test('args that cannot be copied reject the call', async () => {
  const h = harness();
  await h.bridge.ready;
  await assert.rejects(h.bridge.invoke('demo.greet', { f() {} }));
  h.close();
});

test('a frame never holds more messages than the core takes', async () => {
  const { frames } = await import('../src/batch.js');
  const { c } = await import('./contract.js');
  const MAX = c.maxBatchMessages;
  const items = Array.from({ length: 2 * MAX + 1 }, () => ({ body: new TextEncoder().encode('{}') }));
  assert.deepEqual(frames(items, c.maxMessageBytes, MAX).map((g) => g.length), [MAX, MAX, 1]);
});

test('an event sent before the listen reply reaches the handler; a denied listen takes it out', async () => {
  const h = harness();
  await h.bridge.ready;
  const got = [];
  const listening = h.bridge.listen('app.saved', (e) => got.push(e.payload));
  await turn();
  await turn();
  const id = h.frameWin.posted[0].id;
  h.fromFrame({ type: 'event', name: 'app.saved', payload: 1 }); // the core allowed it and sent at once
  h.fromFrame({ type: 'reply', id, ok: true, result: null });
  await listening;
  assert.deepEqual(got, [1]);

  const denied = h.bridge.listen('app.secret', (e) => got.push(e.payload));
  await turn();
  await turn();
  h.fromFrame({ type: 'reply', id: h.frameWin.posted[1].id, ok: false, error: { code: 'denied', message: 'denied by policy: no', reasons: ['no'] } });
  await assert.rejects(denied, (e) => e.code === 'denied' && e.reasons.length === 1 && e.reasons[0] === 'no');
  h.fromFrame({ type: 'event', name: 'app.secret', payload: 2 });
  await turn();
  assert.deepEqual(got, [1], 'a handler whose listen was denied got an event');
  h.close();
});

test('a navigated iframe settles calls in flight as unavailable and a new one is asked for', async () => {
  const asked = [];
  const h = harness({ fetch: (url, init) => { asked.push([url, init.method]); return new Promise(() => {}); } }); // never answers: no retry timer
  await h.bridge.ready;
  const call = h.bridge.invoke('demo.greet', { name: 'Ada' });
  await turn();
  await turn();
  h.iframe.onload(); // a second load: the page navigated the iframe
  await assert.rejects(call, (e) => e.code === 'unavailable');
  assert.equal(h.iframe.isConnected, false, 'the navigated iframe stays in the page');
  assert.deepEqual(asked, [['/__isogate/frame', 'POST']]);
  h.close();
});

test('a streamed result is a ReadableStream at its place; cancelling it asks the iframe to cancel the call', async () => {
  const h = harness();
  await h.bridge.ready;
  const call = h.bridge.invoke('demo.greet', { name: 'Ada' });
  await turn();
  await turn();
  const id = h.frameWin.posted[0].id;
  h.fromFrame({ type: 'reply', id, ok: true, result: { name: 'x', data: null }, stream: '/data' });
  const r = await call;
  assert.ok(r.data instanceof ReadableStream);
  h.fromFrame({ type: 'data', id, payload: new Uint8Array([1, 2]), end: false });
  h.fromFrame({ type: 'data', id, payload: new Uint8Array([3]), end: true });
  assert.deepEqual([...new Uint8Array(await new Response(r.data).arrayBuffer())], [1, 2, 3]);

  const call2 = h.bridge.invoke('demo.greet', { name: 'Bo' });
  await turn();
  await turn();
  const id2 = h.frameWin.posted.at(-1).id;
  h.fromFrame({ type: 'reply', id: id2, ok: true, result: null, stream: '' });
  const body = await call2;
  await body.cancel();
  await turn();
  await turn();
  assert.deepEqual(h.frameWin.posted.at(-1), { type: 'cancel', id: id2 });
  h.fromFrame({ type: 'data', id: id2, payload: new Uint8Array([1]), end: true }); // late: dropped
  h.close();
});

test('a stream that ends with an error fails its reader with the code', async () => {
  const h = harness();
  await h.bridge.ready;
  const call = h.bridge.invoke('demo.greet', { name: 'Ada' });
  await turn();
  await turn();
  const id = h.frameWin.posted[0].id;
  h.fromFrame({ type: 'reply', id, ok: true, result: null, stream: '' });
  const body = await call;
  h.fromFrame({ type: 'data', id, payload: null, end: true, error: { code: 'too_large', message: 'over' } });
  await assert.rejects(new Response(body).arrayBuffer(), (e) => e.code === 'too_large');
  h.close();
});
