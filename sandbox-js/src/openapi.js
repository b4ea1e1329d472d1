// Requests of kind "http" held to the policy's OpenAPI document before they
// are sealed, as the core holds them again with kin-openapi: the operation
// (method and path template), its path, query and header parameters, and a
// JSON body. The core sends the operations in the frame config
// (httpapi.FrameSpec); without an OpenAPI document there are none and only
// the request's shape is checked here.

import { Validator } from '@cfworker/json-schema';

// compileOperations prepares spec ({draft, operations}) once per iframe.
export function compileOperations(spec) {
  if (!spec) return null;
  const v = (schema) => (schema ? new Validator(schema, spec.draft, false) : null);
  return spec.operations.map((op) => ({
    method: op.method,
    path: op.path,
    pattern: new RegExp(op.pattern),
    names: (op.path.match(/\{[^/]+?\}/g) || []).map((p) => p.slice(1, -1)),
    params: (op.params || []).map((p) => ({ ...p, validator: v(p.schema) })),
    body: op.body ? { required: op.body.required, validator: v(op.body.schema) } : null,
  }));
}

// coerce turns a parameter's text into the type its schema names, as
// kin-openapi does (a value that does not convert stays text and fails).
function coerce(text, schema) {
  const t = schema && (Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type);
  switch (t) {
    case 'integer':
    case 'number': {
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}

function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

// checkHTTP returns null when req (kind http) fits an operation, else
// {code, reason}.
export function checkHTTP(ops, req) {
  if (ops === null) return null;
  const { path, query, headers, body } = req.args;
  let op = null;
  let m = null;
  for (const o of ops) {
    if (o.method !== req.name) continue;
    m = o.pattern.exec(path);
    if (m) {
      op = o;
      break;
    }
  }
  if (op === null) return { code: 'unknown_command', reason: `no operation of the API's OpenAPI document is ${req.name} ${path}` };
  const pathValues = {};
  op.names.forEach((n, i) => { pathValues[n] = decode(m[i + 1]); });
  const q = new URLSearchParams(query);
  for (const p of op.params) {
    let value;
    if (p.in === 'path') value = pathValues[p.name];
    else if (p.in === 'query') {
      const all = q.getAll(p.name);
      if (all.length === 0) value = undefined;
      else if (p.schema && p.schema.type === 'array') value = all.map((x) => coerce(x, p.schema.items));
      else if (all.length > 1) return { code: 'invalid_args', reason: `parameter "${p.name}" in query is given more than once` };
      else value = all[0];
    } else if (p.in === 'header') value = headers[p.name.toLowerCase()];
    if (value === undefined || value === null) {
      if (p.required) return { code: 'invalid_args', reason: `parameter "${p.name}" in ${p.in} is required` };
      continue;
    }
    if (!Array.isArray(value)) value = coerce(value, p.schema);
    if (p.validator && !p.validator.validate(value).valid) return { code: 'invalid_args', reason: `parameter "${p.name}" in ${p.in} does not fit its schema` };
  }
  const bytes = body instanceof ArrayBuffer ? new Uint8Array(body) : body;
  if (op.body) {
    if (!bytes || bytes.byteLength === 0) {
      if (op.body.required) return { code: 'invalid_args', reason: 'request body: the operation requires one' };
      return null;
    }
    const ct = (headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (op.body.validator && (ct === 'application/json' || ct.endsWith('+json'))) {
      let value;
      try {
        value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      } catch {
        return { code: 'invalid_args', reason: 'request body: not the JSON its content-type says' };
      }
      if (!op.body.validator.validate(value).valid) return { code: 'invalid_args', reason: 'request body: does not fit its schema' };
    }
  }
  return null;
}
