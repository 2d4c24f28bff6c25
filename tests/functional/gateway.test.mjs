// GET /v1/auth, gateway mode: headers in, status and identity headers out.
// 401 for credential codes, 403 for restrictions, 429 for limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  assertError,
  assertNoStore,
  corruptKey,
  fabricateKey,
  isoIn,
  poll,
} from './lib/keyward.mjs';

let srv;
let other;
let ws;
before(async () => {
  [srv, other] = await Promise.all([startServer(), startServer()]);
  ws = await srv.createWorkspace('gateway', { max_active_keys: 1000 });
});
after(async () => {
  await Promise.all([srv?.close(), other?.close()]);
});

const bearer = (key) => ({ authorization: `Bearer ${key}` });

function assertAllowed(r, key, what = '') {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  assertNoStore(r, `auth ${what}`);
  assert.equal(r.headers.get('x-keyward-key-id'), key.id, what);
  assert.equal(r.headers.get('x-keyward-workspace-id'), key.workspace_id, what);
  assert.equal(r.headers.get('x-keyward-environment'), key.environment, what);
}

function assertRefused(r, status, code, what = '') {
  assertError(r, status, code, `GET /v1/auth ${what}`);
}

test('valid: 200 with the identity headers, via Bearer and via X-API-Key', async () => {
  const k = await srv.createKey(ws.id, { scopes: ['orders:read', 'orders:write'] });
  let r = await srv.auth(bearer(k.key));
  assertAllowed(r, k, 'bearer');
  const scopes = (r.headers.get('x-keyward-scopes') ?? '').split(',').map((s) => s.trim());
  assert.deepEqual(scopes, ['orders:read', 'orders:write']);
  assert.equal(r.headers.get('ratelimit-limit'), null, 'no RateLimit headers without a limit');
  assert.ok(!r.text.includes(k.key));
  r = await srv.auth({ 'x-api-key': k.key });
  assertAllowed(r, k, 'x-api-key');
  r = await srv.auth({ 'X-API-Key': k.key });
  assertAllowed(r, k, 'X-API-Key');
  // No root key is needed: the API key itself is the credential.
  const t = await srv.createKey(ws.id, { environment: 'test' });
  r = await srv.auth(bearer(t.key));
  assertAllowed(r, t, 'test key');
  assert.equal(r.headers.get('x-keyward-environment'), 'test');
});

test('missing: 401 without a credential', async () => {
  assertRefused(await srv.auth({}), 401, 'missing', 'no credential');
  assertRefused(await srv.auth({ 'x-api-key': '' }), 401, 'missing', 'empty x-api-key');
});

test('malformed: 401 for a changed character or garbage', async () => {
  const k = await srv.createKey(ws.id);
  assertRefused(await srv.auth(bearer(corruptKey(k.key))), 401, 'malformed', 'one changed character');
  assertRefused(await srv.auth(bearer('hello')), 401, 'malformed', 'garbage');
  assertRefused(await srv.auth({ 'x-api-key': corruptKey(k.key) }), 401, 'malformed', 'x-api-key changed');
});

test('invalid: 401 for a well-formed key of another deployment', async () => {
  const ows = await other.createWorkspace('other');
  const foreign = await other.createKey(ows.id);
  assertRefused(await srv.auth(bearer(foreign.key)), 401, 'invalid', 'foreign key');
  assertRefused(await srv.auth(bearer(fabricateKey())), 401, 'invalid', 'fabricated key');
  assertAllowed(await other.auth(bearer(foreign.key)), foreign, 'at home');
});

test('revoked: 401 {"error":"revoked"} as seed 004 promises', async () => {
  const k = await srv.createKey(ws.id);
  assertAllowed(await srv.auth(bearer(k.key)), k, 'before revoking');
  assert.equal((await srv.del(`/v1/api-keys/${k.id}`)).status, 200);
  const r = await srv.auth(bearer(k.key));
  assertRefused(r, 401, 'revoked', 'after revoking');
  assert.deepEqual(Object.keys(r.json).sort(), ['error', 'message']);
});

test('expired: 401 after expires_at', async () => {
  const k = await srv.createKey(ws.id, { expires_at: isoIn(2) });
  assertAllowed(await srv.auth(bearer(k.key)), k, 'before expiry');
  const r = await poll(async () => {
    const x = await srv.auth(bearer(k.key));
    return x.status !== 200 ? x : null;
  }, { timeoutMs: 6000 });
  assert.ok(r, 'refused after expiry');
  assertRefused(r, 401, 'expired', 'after expiry');
});

test('disabled: 401 while enabled is false', async () => {
  const k = await srv.createKey(ws.id);
  await srv.patch(`/v1/api-keys/${k.id}`, { enabled: false });
  assertRefused(await srv.auth(bearer(k.key)), 401, 'disabled', 'disabled');
  await srv.patch(`/v1/api-keys/${k.id}`, { enabled: true });
  assertAllowed(await srv.auth(bearer(k.key)), k, 're-enabled');
});

test('wrong_environment: X-Keyward-Required-Environment', async () => {
  const live = await srv.createKey(ws.id);
  assertRefused(await srv.auth({ ...bearer(live.key), 'x-keyward-required-environment': 'test' }), 401, 'wrong_environment', 'live key, test required');
  assertAllowed(await srv.auth({ ...bearer(live.key), 'x-keyward-required-environment': 'live' }), live, 'live required');
});

test('wrong_environment: a deployment accepting only test refuses a live key, and the other way round', async () => {
  const [testOnly, liveOnly] = await Promise.all([
    startServer({ args: ['--accept-environments', 'test'] }),
    startServer({ env: { KEYWARD_KEYS_ACCEPT_ENVIRONMENTS: 'live' } }),
  ]);
  try {
    for (const [dep, refusedEnv, acceptedEnv] of [
      [testOnly, 'live', 'test'],
      [liveOnly, 'test', 'live'],
    ]) {
      const w = await dep.createWorkspace('envs');
      const refused = await dep.createKey(w.id, { environment: refusedEnv });
      const accepted = await dep.createKey(w.id, { environment: acceptedEnv });
      assertRefused(await dep.auth(bearer(refused.key)), 401, 'wrong_environment', `${refusedEnv} key`);
      assertAllowed(await dep.auth(bearer(accepted.key)), accepted, `${acceptedEnv} key`);
    }
  } finally {
    await Promise.all([testOnly.close(), liveOnly.close()]);
  }
});

test('ip_not_allowed: X-Real-IP, right-most X-Forwarded-For, IPv4 and IPv6', async () => {
  const k = await srv.createKey(ws.id, { ip_allowlist: ['203.0.113.0/24', '2001:db8::/32'] });
  const h = bearer(k.key);
  assertAllowed(await srv.auth({ ...h, 'x-real-ip': '203.0.113.5' }), k, 'X-Real-IP v4');
  assertAllowed(await srv.auth({ ...h, 'x-real-ip': '2001:db8::5' }), k, 'X-Real-IP v6');
  assertRefused(await srv.auth({ ...h, 'x-real-ip': '198.51.100.5' }), 403, 'ip_not_allowed', 'X-Real-IP outside');
  assertRefused(await srv.auth({ ...h, 'x-real-ip': '2001:db9::5' }), 403, 'ip_not_allowed', 'X-Real-IP v6 outside');
  // The right-most X-Forwarded-For entry is the one the gateway added; a
  // client can put anything to its left.
  assertAllowed(await srv.auth({ ...h, 'x-forwarded-for': '10.9.9.9, 203.0.113.77' }), k, 'XFF right-most allowed');
  assertAllowed(await srv.auth({ ...h, 'x-forwarded-for': '203.0.113.77' }), k, 'XFF single');
  assertAllowed(await srv.auth({ ...h, 'x-forwarded-for': '1.1.1.1,2001:db8::9' }), k, 'XFF v6 right-most');
  assertRefused(await srv.auth({ ...h, 'x-forwarded-for': '203.0.113.77, 10.9.9.9' }), 403, 'ip_not_allowed', 'spoofed left-most XFF');
  // X-Real-IP alone counts; with X-Forwarded-For the two must agree, so a
  // header a client slipped past its gateway cannot win (issue 9, finding 1).
  assertAllowed(await srv.auth({ ...h, 'x-real-ip': '203.0.113.5' }), k, 'X-Real-IP alone');
  assertAllowed(await srv.auth({ ...h, 'x-real-ip': '203.0.113.5', 'x-forwarded-for': '10.0.0.1, 203.0.113.5' }), k, 'X-Real-IP and XFF agree');
  for (const [real, xff] of [['203.0.113.5', '10.0.0.1'], ['10.0.0.1', '203.0.113.5']]) {
    assertRefused(await srv.auth({ ...h, 'x-real-ip': real, 'x-forwarded-for': xff }), 400, 'invalid_request', `X-Real-IP ${real} against XFF ${xff}`);
  }
  for (const bad of ['010.0.0.1', 'garbage', '203.0.113.5:80', '203.0.113.5 x']) {
    assertRefused(await srv.auth({ ...h, 'x-real-ip': bad }), 400, 'invalid_request', `X-Real-IP ${bad}`);
    assertRefused(await srv.auth({ ...h, 'x-forwarded-for': bad }), 400, 'invalid_request', `XFF ${bad}`);
  }
  assertAllowed(await srv.auth({ ...h, 'x-real-ip': '::ffff:203.0.113.5' }), k, 'IPv4-mapped IPv6 is the same address');
  // Without either header the client is the peer, 127.0.0.1: not allowed.
  assertRefused(await srv.auth(h), 403, 'ip_not_allowed', 'peer address');
  const local = await srv.createKey(ws.id, { ip_allowlist: ['127.0.0.0/8'] });
  assertAllowed(await srv.auth(bearer(local.key)), local, 'peer 127.0.0.1 allowed');
});

test('referrer_not_allowed: the Referer header', async () => {
  const k = await srv.createKey(ws.id, { referrer_allowlist: ['*.example.com', 'https://app.other.org/*'] });
  const h = bearer(k.key);
  assertAllowed(await srv.auth({ ...h, referer: 'https://shop.example.com/page' }), k, 'subdomain');
  assertAllowed(await srv.auth({ ...h, referer: 'https://app.other.org/settings' }), k, 'URL wildcard');
  assertRefused(await srv.auth({ ...h, referer: 'https://evil.com/' }), 403, 'referrer_not_allowed', 'other host');
  assertRefused(await srv.auth({ ...h, referer: 'https://example.com.evil.com/' }), 403, 'referrer_not_allowed', 'suffix trick');
  assertRefused(await srv.auth(h), 403, 'referrer_not_allowed', 'no referrer');
});

test('endpoint_not_allowed: X-Forwarded-Method/Uri, X-Original-*, traversal refused', async () => {
  const k = await srv.createKey(ws.id, { endpoint_allowlist: ['GET /v1/products/*', 'GET,POST /v1/orders/**'] });
  const h = bearer(k.key);
  const fwd = (method, uri) => srv.auth({ ...h, 'x-forwarded-method': method, 'x-forwarded-uri': uri });
  assertAllowed(await fwd('GET', '/v1/products/42'), k, 'GET product');
  assertAllowed(await fwd('GET', '/v1/products/42?currency=EUR'), k, 'query dropped');
  assertAllowed(await fwd('POST', '/v1/orders/1/lines/2'), k, 'POST ** across segments');
  assertRefused(await fwd('POST', '/v1/products/42'), 403, 'endpoint_not_allowed', 'wrong method');
  assertRefused(await fwd('GET', '/v1/products/42/secret'), 403, 'endpoint_not_allowed', '* is one segment');
  assertRefused(await fwd('GET', '/v1/admin'), 403, 'endpoint_not_allowed', 'other path');
  assertRefused(await fwd('GET', '/v1/products/../admin'), 403, 'endpoint_not_allowed', '.. traversal');
  assertRefused(await fwd('GET', '/v1/orders/../../admin/users'), 403, 'endpoint_not_allowed', '.. traversal out of **');
  assertRefused(await fwd('GET', '/v1/products/%2e%2e/admin'), 403, 'endpoint_not_allowed', 'encoded traversal');
  assertRefused(await fwd('GET', '/v1/products/%2E%2E'), 403, 'endpoint_not_allowed', 'encoded .. as the last segment');
  assertRefused(await srv.auth(h), 403, 'endpoint_not_allowed', 'no original request');
  assertAllowed(await srv.auth({ ...h, 'x-original-method': 'GET', 'x-original-uri': '/v1/products/7' }), k, 'X-Original-*');
  assertRefused(
    await srv.auth({ ...h, 'x-original-method': 'GET', 'x-original-uri': '/v1/products/../admin' }),
    403,
    'endpoint_not_allowed',
    'X-Original-URI traversal',
  );
});

test('insufficient_scope: X-Keyward-Required-Scopes, comma or space separated', async () => {
  const k = await srv.createKey(ws.id, { scopes: ['orders:*', 'profile:read'] });
  const h = bearer(k.key);
  const need = (s) => srv.auth({ ...h, 'x-keyward-required-scopes': s });
  assertAllowed(await need('orders:read'), k, 'one scope');
  assertAllowed(await need('orders:read,profile:read'), k, 'comma');
  assertAllowed(await need('orders:write profile:read'), k, 'space');
  assertAllowed(await need('orders:write, profile:read'), k, 'comma and space');
  assertRefused(await need('profile:write'), 403, 'insufficient_scope', 'not granted');
  assertRefused(await need('orders:read,admin'), 403, 'insufficient_scope', 'one of two missing');
  assertRefused(await need('orders:read admin'), 403, 'insufficient_scope', 'space separated, one missing');
});

test('rate_limited: 429 with Retry-After and RateLimit-* headers', async () => {
  const k = await srv.createKey(ws.id, { rate_limit: { limit: 2, period_seconds: 60 } });
  const h = bearer(k.key);
  const r1 = await srv.auth(h);
  assertAllowed(r1, k, 'first');
  assert.equal(r1.headers.get('ratelimit-limit'), '2');
  assert.equal(r1.headers.get('ratelimit-remaining'), '1');
  const reset1 = Number(r1.headers.get('ratelimit-reset'));
  assert.ok(Number.isInteger(reset1) && reset1 > 0 && reset1 <= 60, `RateLimit-Reset ${r1.headers.get('ratelimit-reset')}`);
  const r2 = await srv.auth(h);
  assertAllowed(r2, k, 'second');
  assert.equal(r2.headers.get('ratelimit-remaining'), '0');
  const r3 = await srv.auth(h);
  assertRefused(r3, 429, 'rate_limited', 'third');
  const retry = r3.headers.get('retry-after');
  assert.match(retry ?? '', /^\d+$/, `Retry-After ${retry}`);
  assert.ok(Number(retry) >= 1 && Number(retry) <= 60, `Retry-After ${retry}`);
  assert.equal(r3.headers.get('ratelimit-limit'), '2');
  assert.equal(r3.headers.get('ratelimit-remaining'), '0');
  assert.ok(Number(r3.headers.get('ratelimit-reset')) > 0);
  // The verify route shares the same limit.
  assert.equal((await srv.verify({ key: k.key })).code, 'rate_limited');
});

test('refused gateway checks do not consume the rate limit', async () => {
  const k = await srv.createKey(ws.id, { rate_limit: { limit: 1, period_seconds: 60 }, scopes: ['a'] });
  const h = bearer(k.key);
  for (let i = 0; i < 3; i++) {
    assertRefused(await srv.auth({ ...h, 'x-keyward-required-scopes': 'b' }), 403, 'insufficient_scope', `scope ${i}`);
  }
  assertAllowed(await srv.auth(h), k, 'first allowed');
  assertRefused(await srv.auth(h), 429, 'rate_limited', 'second');
});

test('a root key is not an API key for the gateway', async () => {
  const r = await srv.auth(bearer(srv.rootKey));
  assert.equal(r.status, 401, r.text);
  assert.ok(['malformed', 'invalid'].includes(r.json?.error), r.text);
});

test('/v1/auth/{path}: the appended path and the method are the original request (Envoy ext_authz)', async () => {
  const k = await srv.createKey(ws.id, { endpoint_allowlist: ['GET /v1/products/*', 'GET,POST /v1/orders/**'] });
  const h = bearer(k.key);
  assertAllowed(await srv.api('GET', '/v1/auth/v1/products/42', { token: null, headers: h }), k, 'GET appended path');
  assertAllowed(await srv.api('GET', '/v1/auth/v1/products/42?currency=EUR', { token: null, headers: h }), k, 'with a query');
  assertAllowed(await srv.api('POST', '/v1/auth/v1/orders/1/lines', { token: null, headers: h }), k, 'POST taken as the method');
  assertRefused(await srv.api('DELETE', '/v1/auth/v1/orders/1', { token: null, headers: h }), 403, 'endpoint_not_allowed', 'DELETE');
  assertRefused(await srv.api('POST', '/v1/auth/v1/products/42', { token: null, headers: h }), 403, 'endpoint_not_allowed', 'POST product');
  assertRefused(await srv.api('GET', '/v1/auth/v1/admin', { token: null, headers: h }), 403, 'endpoint_not_allowed', 'other path');
  // Traversal in the appended path, sent byte for byte.
  for (const p of ['/v1/auth/v1/products/../admin', '/v1/auth/v1/products/%2e%2e/admin', '/v1/auth/v1/orders/../../admin']) {
    assertRefused(await srv.raw('GET', p, h), 403, 'endpoint_not_allowed', `raw ${p}`);
  }
  // X-Forwarded-Uri naming another request conflicts with the path: refused.
  assertRefused(
    await srv.api('GET', '/v1/auth/v1/products/42', { token: null, headers: { ...h, 'x-forwarded-uri': '/v1/admin' } }),
    400,
    'invalid_request',
    'X-Forwarded-Uri against the path',
  );
  // Credential codes work the same way.
  assertRefused(await srv.api('GET', '/v1/auth/v1/products/42', { token: null }), 401, 'missing', 'no key');
  assertRefused(await srv.api('GET', '/v1/auth/v1/products/42', { token: null, headers: bearer(corruptKey(k.key)) }), 401, 'malformed', 'bad key');
});

test('/v1/auth with traversal sent byte for byte in X-Forwarded-Uri', async () => {
  const k = await srv.createKey(ws.id, { endpoint_allowlist: ['GET /v1/public/**'] });
  const h = { ...bearer(k.key), 'x-forwarded-method': 'GET' };
  assertAllowed(await srv.raw('GET', '/v1/auth', { ...h, 'x-forwarded-uri': '/v1/public/a/b' }), k, 'inside');
  for (const uri of ['/v1/public/../private', '/v1/public/./../private/x', '/v1/public/%2E%2E/private', '/v1/public/.%2e/private']) {
    assertRefused(await srv.raw('GET', '/v1/auth', { ...h, 'x-forwarded-uri': uri }), 403, 'endpoint_not_allowed', uri);
  }
});

test('/v1/auth accepts any method', async () => {
  const k = await srv.createKey(ws.id);
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
    assertAllowed(await srv.api(method, '/v1/auth', { token: null, headers: bearer(k.key) }), k, method);
  }
  assertRefused(await srv.api('POST', '/v1/auth', { token: null }), 401, 'missing', 'POST without a key');
});
