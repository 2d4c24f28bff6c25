// Validates src/server/openapi.json, the document keyward serves at
// /openapi.json: it must be valid OpenAPI 3.1 and describe every route of the
// routes table in docs/http-api.md. Needs no running server.
//   cd tests/functional && node --test openapi-document.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';

const docUrl = new URL('../../src/server/openapi.json', import.meta.url);
const docText = readFileSync(docUrl, 'utf8');
const doc = JSON.parse(docText);

// The routes table of docs/http-api.md.
const ROUTES = [
  ['post', '/v1/plans'],
  ['get', '/v1/plans'],
  ['get', '/v1/plans/{id}'],
  ['patch', '/v1/plans/{id}'],
  ['post', '/v1/workspaces'],
  ['get', '/v1/workspaces'],
  ['get', '/v1/workspaces/{id}'],
  ['patch', '/v1/workspaces/{id}'],
  ['post', '/v1/api-keys'],
  ['get', '/v1/api-keys'],
  ['get', '/v1/api-keys/{id}'],
  ['patch', '/v1/api-keys/{id}'],
  ['delete', '/v1/api-keys/{id}'],
  ['post', '/v1/api-keys/{id}/rotate'],
  ['post', '/v1/api-keys/import'],
  ['get', '/v1/api-keys/export'],
  ['post', '/v1/keys/verify'],
  ['get', '/v1/auth'],
  ['get', '/v1/auth/{path}'],
  ['get', '/v1/audit-log'],
  ['get', '/v1/usage'],
  ['get', '/v1/usage/export'],
  ['post', '/v1/portal-sessions'],
  ['get', '/v1/portal-sessions/{id}'],
  ['delete', '/v1/portal-sessions/{id}'],
  ['post', '/v1/console-sessions'],
  ['get', '/v1/session'],
  ['delete', '/v1/session'],
  ['get', '/portal'],
  ['get', '/console'],
  ['get', '/'],
  ['get', '/assets/{file}'],
  ['get', '/healthz'],
  ['get', '/readyz'],
  ['get', '/metrics'],
  ['get', '/openapi.json'],
  ['post', '/v1/webhook-endpoints'],
  ['get', '/v1/webhook-endpoints'],
  ['get', '/v1/webhook-endpoints/{id}'],
  ['patch', '/v1/webhook-endpoints/{id}'],
  ['delete', '/v1/webhook-endpoints/{id}'],
  ['post', '/v1/webhook-endpoints/{id}/roll-secret'],
  ['get', '/v1/webhook-endpoints/{id}/deliveries'],
  ['post', '/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry'],
  ['post', '/v1/leaks'],
  ['post', '/v1/secret-scanning/github'],
];

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function operations() {
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      if (item[method]) ops.push({ method, path, op: item[method] });
    }
  }
  return ops;
}

test('is valid OpenAPI 3.1 (swagger-parser)', async () => {
  assert.equal(doc.openapi.startsWith('3.1.'), true, `openapi is ${doc.openapi}`);
  const api = await SwaggerParser.validate(structuredClone(doc));
  assert.equal(api.info.title, 'keyward');
  assert.equal(api.info.version, '0.1.0');
});

test('describes every route of docs/http-api.md', () => {
  const missing = ROUTES.filter(([m, p]) => !doc.paths[p] || !doc.paths[p][m])
    .map(([m, p]) => `${m.toUpperCase()} ${p}`);
  assert.deepEqual(missing, []);
});

test('describes no route beyond docs/http-api.md', () => {
  const known = new Set(ROUTES.map(([m, p]) => `${m} ${p}`));
  const extra = operations().map(({ method, path }) => `${method} ${path}`)
    .filter((r) => !known.has(r));
  assert.deepEqual(extra, []);
});

test('every operation has a unique camelCase operationId, a tag and a response', () => {
  const seen = new Set();
  for (const { method, path, op } of operations()) {
    const where = `${method.toUpperCase()} ${path}`;
    assert.match(op.operationId ?? '', /^[a-z][A-Za-z0-9]*$/, `${where}: operationId`);
    assert.equal(seen.has(op.operationId), false, `${where}: duplicate operationId`);
    seen.add(op.operationId);
    assert.ok(Array.isArray(op.tags) && op.tags.length > 0, `${where}: tags`);
    assert.ok(op.responses && Object.keys(op.responses).length > 0, `${where}: responses`);
  }
});

// swagger-parser checks little beyond the JSON schema for 3.1 documents, so
// the path templates are checked here.
test('every path template parameter is declared, required, in: path', async () => {
  const api = await SwaggerParser.dereference(structuredClone(doc));
  for (const { method, path, op } of operations()) {
    const deref = api.paths[path][method];
    const params = [...(api.paths[path].parameters ?? []), ...(deref.parameters ?? [])]
      .filter((p) => p.in === 'path');
    const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    assert.deepEqual(params.map((p) => p.name).sort(), names.sort(),
                     `${method.toUpperCase()} ${path}: path parameters`);
    for (const p of params) assert.equal(p.required, true, `${path}: ${p.name} required`);
    assert.ok(op.operationId);
  }
});

test('request bodies refuse unknown fields', async () => {
  const api = await SwaggerParser.dereference(structuredClone(doc));
  for (const [path, item] of Object.entries(api.paths)) {
    for (const method of METHODS) {
      const schema = item[method]?.requestBody?.content?.['application/json']?.schema;
      if (!schema) continue;
      // GitHub's secret-scanning alerts are GitHub's format, not keyward's:
      // a field GitHub adds later must not break the partner endpoint.
      if (path === '/v1/secret-scanning/github') {
        assert.equal(schema.type, 'array', path);
        continue;
      }
      assert.equal(schema.additionalProperties, false,
                   `${method.toUpperCase()} ${path}: additionalProperties`);
    }
  }
});

test('routes without a credential say so', () => {
  for (const p of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/v1/auth', '/v1/auth/{path}',
    '/portal', '/console', '/', '/assets/{file}']) {
    assert.deepEqual(doc.paths[p].get.security, [], `${p}: security`);
  }
  // A root or managing key, or a browser session of the pages.
  assert.deepEqual(doc.security, [{ bearerAuth: [] }, { sessionCookie: [] }]);
  assert.equal(doc.components.securitySchemes.sessionCookie.in, 'cookie');
  assert.equal(doc.components.securitySchemes.bearerAuth.scheme, 'bearer');
});

test('/metrics answers text/plain', () => {
  assert.ok(doc.paths['/metrics'].get.responses['200'].content['text/plain']);
});

test('error codes match the contract', () => {
  const verify = ['valid', 'missing', 'malformed', 'invalid', 'revoked', 'expired', 'disabled',
    'wrong_environment', 'ip_not_allowed', 'referrer_not_allowed', 'endpoint_not_allowed',
    'insufficient_scope', 'rate_limited', 'quota_exceeded'];
  const api = ['unauthorized', 'invalid_json', 'invalid_request', 'not_found',
    'method_not_allowed', 'conflict', 'key_limit_reached', 'key_revoked', 'payload_too_large',
    'unsupported_media_type', 'unprocessable', 'internal', 'storage_unavailable', 'insufficient_scope'];
  const s = doc.components.schemas;
  assert.deepEqual(s.VerificationCode.enum, verify);
  const errors = new Set(s.ErrorCode.enum);
  for (const c of [...api, ...verify.filter((c) => c !== 'valid')]) {
    assert.ok(errors.has(c), `ErrorCode lacks ${c}`);
  }
  assert.deepEqual(s.Error.required, ['error', 'message']);
});

test('can be embedded as a C++ raw string', () => {
  assert.equal(docText.includes(')OPENAPI"'), false);
});
