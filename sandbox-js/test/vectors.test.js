// WebCrypto and the Go package crypto must agree byte for byte on the
// known-answer vectors in crypto/testdata.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { deriveKeys, seal, open, fromHex, TO_CORE, TO_FRAME, OpenError } from '../src/frame-crypto.js';

const vectors = JSON.parse(readFileSync(new URL('../../crypto/testdata/vectors.json', import.meta.url)));
const hex = (b) => Buffer.from(b).toString('hex');

test('vector file is not empty', () => assert.ok(vectors.length > 0));

test('negative vectors are there', () => assert.ok(vectors.filter((v) => v.expect === 'reject').length >= 10));

for (const v of vectors) {
  test(`known answer: ${v.name}`, async () => {
    const keys = await deriveKeys(fromHex(v.secret), fromHex(v.session));
    if (v.expect === 'reject') {
      assert.equal(v.direction, TO_FRAME);
      await assert.rejects(open(keys.toFrame, TO_FRAME, fromHex(v.session), fromHex(v.frame).buffer), OpenError, v.why);
      return;
    }
    assert.equal(hex(keys.auth), v.auth);
    if (v.direction === TO_CORE) {
      const frame = await seal(keys.toCore, TO_CORE, fromHex(v.session), v.seq, fromHex(v.plaintext));
      assert.equal(hex(frame), v.frame);
    } else {
      const { seq, plaintext } = await open(keys.toFrame, TO_FRAME, fromHex(v.session), fromHex(v.frame).buffer);
      assert.equal(seq, v.seq);
      assert.equal(hex(plaintext), v.plaintext);
    }
  });
}

test('keys cannot be exported', async () => {
  const v = vectors[0];
  const keys = await deriveKeys(fromHex(v.secret), fromHex(v.session));
  await assert.rejects(crypto.subtle.exportKey('raw', keys.toCore));
  await assert.rejects(crypto.subtle.exportKey('raw', keys.toFrame));
});

test('open rejects every one-bit change of a to-frame vector', async () => {
  const v = vectors.find((x) => x.direction === TO_FRAME);
  const keys = await deriveKeys(fromHex(v.secret), fromHex(v.session));
  const frame = fromHex(v.frame);
  for (let i = 0; i < frame.length; i++) {
    const bad = frame.slice();
    bad[i] ^= 1 << (i % 8);
    await assert.rejects(open(keys.toFrame, TO_FRAME, fromHex(v.session), bad.buffer), OpenError, `byte ${i}`);
  }
});
