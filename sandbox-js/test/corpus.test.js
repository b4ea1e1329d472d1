// The shared corpus of message cases (testdata/messages, see
// core/contract_test.go for the format): the iframe's checks give each case
// the outcome the core's decoder gives it. "fatal" here means the message
// is dropped unanswered, as it has no usable id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { checkRequest } from '../src/isolation.js';
import { unbatch } from '../src/batch.js';
import { contract } from '../src/shape.js';
import { limits } from './contract.js';

const dir = new URL('../../testdata/messages/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();

test('the corpus is not empty', () => assert.ok(files.length > 20));

for (const f of files) {
  const raw = readFileSync(new URL(f, dir));
  const cut = raw.indexOf('\n\n');
  const head = raw.subarray(0, cut).toString();
  const body = raw.subarray(cut + 2).toString().replace(/\n$/, '');
  const c = { expect: [], limits: {}, only: '' };
  for (const line of head.split('\n')) {
    const [k, v] = [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)];
    if (k === 'expect') c.expect = v.split(/\s+/).filter(Boolean);
    else if (k === 'only') c.only = v;
    else if (k === 'limits') for (const kv of v.split(/\s+/)) { const [n, x] = kv.split('='); c.limits[n] = Number(x); }
  }
  if (c.only === 'core') continue;
  test(`corpus: ${f}`, () => {
    const rules = contract({ ...limits, ...c.limits });
    const got = [];
    // {"$bytes": hex} stands for raw bytes, as core/contract_test.go reads it.
    const bytes = (k, v) => (v !== null && typeof v === 'object' && typeof v.$bytes === 'string' && Object.keys(v).length === 1
      ? new Uint8Array(Buffer.from(v.$bytes, 'hex')) : v);
    unbatch(JSON.parse(body, bytes), (m) => {
      const r = checkRequest(m, rules);
      got.push(r.ok ? 'ok' : r.id === undefined ? 'fatal' : r.code);
    });
    assert.deepEqual(got, c.expect);
  });
}
