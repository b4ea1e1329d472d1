// The iframe holds http requests to the OpenAPI operations the core sends it
// with the same outcomes the core's kin-openapi check gives: the shared
// cases of testdata/messages/openapi-cases.json (httpapi's test runs them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileOperations, checkHTTP } from '../src/openapi.js';

const file = JSON.parse(readFileSync(new URL('../../testdata/messages/openapi-cases.json', import.meta.url)));
const ops = compileOperations(file.frame);

test('the shared OpenAPI cases are there', () => assert.ok(file.cases.length >= 10));

for (const c of file.cases) {
  test(`openapi: ${c.method} ${c.path}?${c.query} ${c.body}`, () => {
    const headers = c.contentType ? { 'content-type': c.contentType } : {};
    const body = c.body ? new TextEncoder().encode(c.body) : null;
    const r = checkHTTP(ops, { kind: 'http', name: c.method, args: { path: c.path, query: c.query, headers, body } });
    assert.equal(r === null ? 'ok' : r.code, c.expect, r && r.reason);
  });
}

test('without an OpenAPI document only the shape is checked', () => {
  assert.equal(checkHTTP(compileOperations(undefined), { kind: 'http', name: 'DELETE', args: { path: '/x', query: '', headers: {}, body: null } }), null);
});
