import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest as parse, parseCoreMessage as parseCore, isJSONValue, contract } from '../src/shape.js';
import { c, limits } from './contract.js';

const parseRequest = (m) => parse(m, c);
const parseCoreMessage = (m) => parseCore(m, c);
const MAX_DEPTH = c.maxDepth;

test('a well-formed invoke passes', () => {
  const r = parseRequest({ type: 'invoke', id: 1, kind: 'command', name: 'demo.greet', args: { name: 'Ada' } });
  assert.equal(r.ok, true);
  assert.deepEqual(r.req.args, { name: 'Ada' });
});

test('unknown types and missing ids are dropped without an answer', () => {
  for (const m of [null, 'x', [], { type: 'reply', id: 1 }, { type: 'invoke' }, { type: 'invoke', id: 0 }, { type: 'invoke', id: 1.5 }]) {
    const r = parseRequest(m);
    assert.equal(r.ok, false);
    assert.equal(r.id, undefined, JSON.stringify(m));
  }
});

test('non-JSON args are refused', () => {
  class C {}
  const cyclic = {};
  cyclic.self = cyclic;
  for (const args of [new Date(), new Map(), new C(), NaN, Infinity, () => 1, Symbol('s'), 10n, [1, , 3], { [Symbol('k')]: 1 }]) {
    const r = parseRequest({ type: 'invoke', id: 2, kind: 'command', name: 'x', args });
    assert.equal(r.ok, false, String(args));
    assert.equal(r.id, 2);
  }
});

test('depth limit: MAX_DEPTH containers pass, one more fails, empty or not', () => {
  const nest = (n, leaf) => { let v = leaf; for (let i = 0; i < n - 1; i++) v = [v]; return [v]; };
  assert.equal(isJSONValue(nest(MAX_DEPTH - 1, 1), MAX_DEPTH), true);
  assert.equal(isJSONValue(nest(MAX_DEPTH, 1), MAX_DEPTH), true);
  assert.equal(isJSONValue(nest(MAX_DEPTH, []), MAX_DEPTH), false);
  assert.equal(isJSONValue(nest(MAX_DEPTH + 1, 1), MAX_DEPTH), false);
});

test('extra fields, bad kinds and bad names are refused', () => {
  const base = { type: 'invoke', id: 3, kind: 'command', name: 'x', args: null };
  for (const m of [{ ...base, key: 1 }, { ...base, kind: 'unlisten' }, { ...base, name: '../etc' }, { ...base, name: 'a'.repeat(129) }, { ...base, name: 7 }]) {
    assert.equal(parseRequest(m).ok, false, JSON.stringify(m));
  }
});

test('replies must carry a proper error', () => {
  assert.equal(parseCoreMessage({ type: 'reply', id: 1, ok: false, error: { code: 1 } }), null);
  assert.equal(parseCoreMessage({ type: 'reply', id: 1, ok: 'yes' }), null);
  assert.deepEqual(parseCoreMessage({ type: 'reply', id: 1, ok: true }), { type: 'reply', id: 1, ok: true, result: null });
  const reasons = { type: 'reply', id: 1, ok: false, error: { code: 'denied', message: 'denied by policy: a; b', reasons: ['a', 'b'] } };
  assert.deepEqual(parseCoreMessage(reasons), reasons);
  for (const error of [{ code: 'denied', message: 'm', reasons: 'a' }, { code: 'denied', message: 'm', reasons: [1] }, { code: 'denied', message: 'm', extra: 1 }]) {
    assert.equal(parseCoreMessage({ type: 'reply', id: 1, ok: false, error }), null, JSON.stringify(error));
  }
});

test('events from the core need a well-formed name', () => {
  assert.deepEqual(parseCoreMessage({ type: 'event', name: 'demo.tick', payload: 3 }), { type: 'event', name: 'demo.tick', payload: 3 });
  assert.equal(parseCoreMessage({ type: 'event', name: '<x>' }), null);
  assert.equal(parseCoreMessage({ type: 'event' }), null);
});

test('listen requests carry no args', () => {
  assert.equal(parseRequest({ type: 'invoke', id: 1, kind: 'listen', name: 'demo.tick', args: null }).ok, true);
  assert.equal(parseRequest({ type: 'invoke', id: 1, kind: 'listen', name: 'demo.tick', args: {} }).ok, false);
});

test('lone surrogates are refused, in values and keys; pairs pass', () => {
  for (const args of [{ name: '\ud800' }, { name: 'a\udc00b' }, ['\udbff'], { ['\ud800']: 1 }]) {
    const r = parseRequest({ type: 'invoke', id: 3, kind: 'command', name: 'x', args });
    assert.equal(r.ok, false, JSON.stringify(args));
    assert.equal(r.id, 3);
  }
  assert.equal(parseRequest({ type: 'invoke', id: 4, kind: 'command', name: 'x', args: { name: '🙂 é \u0000' } }).ok, true);
});

test('the contract comes from the config: without it, or with nonsense, nothing runs', () => {
  assert.throws(() => contract(undefined), /no limits/);
  for (const k of ['maxDepth', 'maxMessageBytes', 'maxBinaryBytes', 'maxBatchMessages']) {
    for (const bad of [undefined, 0, -1, 1.5, '4']) {
      assert.throws(() => contract({ ...limits, [k]: bad }), new RegExp(k), `${k}=${bad}`);
    }
  }
  assert.throws(() => contract({ ...limits, namePattern: 7 }), /namePattern/);
  assert.throws(() => contract({ ...limits, kinds: 'command' }), /kinds/);
});

test('a smaller depth limit from the core is the one held to', () => {
  const four = contract({ ...limits, maxDepth: 4 });
  const r = parse({ type: 'invoke', id: 9, kind: 'command', name: 'x', args: [[[[[1]]]]] }, four);
  assert.equal(r.ok, false);
  assert.equal(r.id, 9);
  assert.match(r.reason, /nested more than 4 deep/);
  assert.equal(parse({ type: 'invoke', id: 9, kind: 'command', name: 'x', args: [[[[1]]]] }, four).ok, true);
});

test('replies and events are held to the depth limit too', () => {
  const four = contract({ ...limits, maxDepth: 4 });
  assert.equal(parseCore({ type: 'reply', id: 1, ok: true, result: [[[[[1]]]]] }, four), null);
  assert.equal(parseCore({ type: 'event', name: 'e', payload: [[[[[1]]]]] }, four), null);
  assert.notEqual(parseCore({ type: 'reply', id: 1, ok: true, result: [[[[1]]]] }, four), null);
});
