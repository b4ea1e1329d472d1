import { test } from 'node:test';
import assert from 'node:assert/strict';
import { split, encode, decode } from '../src/binary.js';

test('blobs travel raw after the JSON and come back in place', () => {
  const data = new Uint8Array([1, 2, 3, 255]);
  const args = { name: 'x', data, list: [new Uint8Array([9]).buffer, 'y'], 'a/b~c': new Uint8Array(0) };
  const parts = split(args);
  assert.deepEqual(parts.view.data, { $binary: 4 });
  assert.deepEqual(parts.bin.map((b) => b.path), ['/data', '/list/0', '/a~1b~0c']);
  const { plaintext, jsonBytes } = encode({ type: 'invoke', id: 1, args: parts.json }, parts.bin, parts.blobs);
  assert.equal(plaintext[0], 1);
  assert.equal(plaintext.length, 5 + jsonBytes + 5);
  const m = decode(plaintext);
  assert.deepEqual(m.args.data, data);
  assert.deepEqual(m.args.list[0], new Uint8Array([9]));
  assert.deepEqual(m.args['a/b~c'], new Uint8Array(0));
  assert.equal(m.bin, undefined);
});

test('16 MiB of binary costs its own size plus a few bytes', () => {
  const big = new Uint8Array(16 << 20);
  const parts = split({ data: big });
  const { plaintext } = encode({ type: 'invoke', id: 1, kind: 'command', name: 'x', args: parts.json }, parts.bin, parts.blobs);
  assert.ok(plaintext.length / big.length <= 1.01, `${plaintext.length} bytes for ${big.length}`);
});

test('malformed binary messages are refused', () => {
  const good = encode({ type: 'reply', id: 1, ok: true, result: { a: null } }, [{ path: '/a', len: 2 }], [new Uint8Array([1, 2])]).plaintext;
  assert.deepEqual(decode(good).result.a, new Uint8Array([1, 2]));
  assert.throws(() => decode(good.subarray(0, good.length - 1)), /bad table/);
  const extra = new Uint8Array(good.length + 1);
  extra.set(good);
  assert.throws(() => decode(extra), /trailing/);
  const nowhere = encode({ type: 'reply', id: 1, ok: true, result: { a: 5 } }, [{ path: '/a', len: 0 }], [new Uint8Array(0)]).plaintext;
  assert.throws(() => decode(nowhere), /points nowhere/);
});
