// POST /v1/keys/verify: every verification code, the answer's shape, the
// check order, and who may call it.
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
let other; // a second deployment with its own data: its keys are unknown to srv
let ws;
before(async () => {
  [srv, other] = await Promise.all([startServer(), startServer()]);
  ws = await srv.createWorkspace('verify', { max_active_keys: 1000 });
});
after(async () => {
  await Promise.all([srv?.close(), other?.close()]);
});

const FOUND_FIELDS = ['valid', 'code', 'key_id', 'workspace_id', 'environment', 'name', 'scopes', 'meta', 'expires_at'];

async function verifyRaw(body, opts) {
  const r = await srv.post('/v1/keys/verify', body, opts);
  assert.equal(r.status, 200, `verify answered ${r.status}: ${r.text}`);
  assertNoStore(r, 'verify');
  return r;
}

function assertNotFoundShape(v, code) {
  assert.equal(v.valid, false);
  assert.equal(v.code, code);
  for (const k of Object.keys(v)) assert.ok(['valid', 'code', 'message'].includes(k), `only valid, code, message for ${code}; got ${k}`);
  if ('message' in v) assert.equal(typeof v.message, 'string');
}

function assertFoundRefusal(v, code, key) {
  assert.equal(v.valid, false, JSON.stringify(v));
  assert.equal(v.code, code, JSON.stringify(v));
  assert.equal(v.key_id, key.id, 'a found key is named in the answer');
  assert.equal(v.workspace_id, key.workspace_id);
}

test('valid: the full answer', async () => {
  const exp = isoIn(3600);
  const k = await srv.createKey(ws.id, { name: 'svc', scopes: ['orders:read'], meta: { plan: 'pro', n: 1 }, expires_at: exp });
  const r = await verifyRaw({ key: k.key });
  const v = r.json;
  for (const f of FOUND_FIELDS) assert.ok(f in v, `verify answer has ${f}: ${r.text}`);
  assert.equal(v.valid, true);
  assert.equal(v.code, 'valid');
  assert.equal(v.key_id, k.id);
  assert.equal(v.workspace_id, ws.id);
  assert.equal(v.environment, 'live');
  assert.equal(v.name, 'svc');
  assert.deepEqual(v.scopes, ['orders:read']);
  assert.deepEqual(v.meta, { plan: 'pro', n: 1 });
  assert.equal(Date.parse(v.expires_at), Date.parse(exp));
  assert.ok(!('ratelimit' in v) || v.ratelimit === null, 'no ratelimit without a limit');
  assert.ok(!r.text.includes(k.key), 'the answer does not echo the secret');

  const t = await srv.createKey(ws.id, { environment: 'test' });
  const tv = await srv.verify({ key: t.key });
  assert.equal(tv.code, 'valid');
  assert.equal(tv.environment, 'test');
  assert.equal(tv.expires_at, null);
});

test('missing: an empty key', async () => {
  assertNotFoundShape(await srv.verify({ key: '' }), 'missing');
});

test('malformed: one changed character, a wrong prefix, garbage', async () => {
  const k = await srv.createKey(ws.id);
  const bad = corruptKey(k.key);
  assert.notEqual(bad, k.key);
  assert.equal(bad.length, k.key.length);
  assertNotFoundShape(await srv.verify({ key: bad }), 'malformed');
  assertNotFoundShape(await srv.verify({ key: 'not-a-key' }), 'malformed');
  assertNotFoundShape(await srv.verify({ key: k.key.replace(/^kw_/, 'sk_') }), 'malformed');
  assertNotFoundShape(await srv.verify({ key: k.key.slice(0, -1) }), 'malformed');
  assertNotFoundShape(await srv.verify({ key: k.key + 'A' }), 'malformed');
  assertNotFoundShape(await srv.verify({ key: fabricateKey('kw', 'staging') }), 'malformed');
  assertNotFoundShape(await srv.verify({ key: k.key.slice(0, 20) + '!' + k.key.slice(21) }), 'malformed');
  // The real key still works.
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
});

test('invalid: a well-formed key this deployment never issued', async () => {
  const ows = await other.createWorkspace('elsewhere');
  const foreign = await other.createKey(ows.id);
  assertNotFoundShape(await srv.verify({ key: foreign.key }), 'invalid');
  assertNotFoundShape(await srv.verify({ key: fabricateKey('kw', 'live') }), 'invalid');
  assertNotFoundShape(await srv.verify({ key: fabricateKey('kw', 'test') }), 'invalid');
  // ...and it is valid where it was issued.
  assert.equal((await other.verify({ key: foreign.key })).code, 'valid');
});

test('revoked', async () => {
  const k = await srv.createKey(ws.id);
  assert.equal((await srv.verify({ key: k.key })).code, 'valid', 'valid (and perhaps cached) before revoking');
  assert.equal((await srv.del(`/v1/api-keys/${k.id}`)).status, 200);
  assertFoundRefusal(await srv.verify({ key: k.key }), 'revoked', k);
});

test('expired: a key past its expires_at', async () => {
  const k = await srv.createKey(ws.id, { expires_at: isoIn(2) });
  assert.equal((await srv.verify({ key: k.key })).code, 'valid', 'valid before expiry');
  const v = await poll(async () => {
    const x = await srv.verify({ key: k.key });
    return x.code === 'expired' ? x : null;
  }, { timeoutMs: 6000 });
  assert.ok(v, 'expired within a few seconds');
  assertFoundRefusal(v, 'expired', k);
  assert.equal((await srv.get(`/v1/api-keys/${k.id}`)).json.status, 'expired');
  // Clearing expires_at of an expired key brings it back.
  const p = await srv.patch(`/v1/api-keys/${k.id}`, { expires_at: null });
  assert.equal(p.status, 200, p.text);
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
});

test('disabled: PATCH enabled:false, and back', async () => {
  const k = await srv.createKey(ws.id);
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
  await srv.patch(`/v1/api-keys/${k.id}`, { enabled: false });
  assertFoundRefusal(await srv.verify({ key: k.key }), 'disabled', k);
  await srv.patch(`/v1/api-keys/${k.id}`, { enabled: true });
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
});

test('wrong_environment: the body asks for another environment', async () => {
  const live = await srv.createKey(ws.id);
  const tst = await srv.createKey(ws.id, { environment: 'test' });
  assertFoundRefusal(await srv.verify({ key: live.key, environment: 'test' }), 'wrong_environment', live);
  assertFoundRefusal(await srv.verify({ key: tst.key, environment: 'live' }), 'wrong_environment', tst);
  assert.equal((await srv.verify({ key: live.key, environment: 'live' })).code, 'valid');
  assert.equal((await srv.verify({ key: tst.key, environment: 'test' })).code, 'valid');
});

test('wrong_environment: a deployment that accepts only test refuses a live key', async () => {
  const testOnly = await startServer({ args: ['--accept-environments', 'test'] });
  try {
    const w = await testOnly.createWorkspace('test only');
    const live = await testOnly.createKey(w.id, { environment: 'live' });
    const tst = await testOnly.createKey(w.id, { environment: 'test' });
    assertFoundRefusal(await testOnly.verify({ key: live.key }), 'wrong_environment', live);
    assert.equal((await testOnly.verify({ key: tst.key })).code, 'valid');
  } finally {
    await testOnly.close();
  }
});

test('ip_not_allowed: IPv4 and IPv6 blocks and addresses', async () => {
  const k = await srv.createKey(ws.id, { ip_allowlist: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'] });
  for (const ip of ['203.0.113.1', '203.0.113.254', '2001:db8::1', '2001:db8:ffff::42', '198.51.100.7']) {
    assert.equal((await srv.verify({ key: k.key, ip })).code, 'valid', `${ip} is allowed`);
  }
  for (const ip of ['203.0.114.1', '198.51.100.8', '10.0.0.1', '2001:db9::1', '::1']) {
    assertFoundRefusal(await srv.verify({ key: k.key, ip }), 'ip_not_allowed', k);
  }
  assertFoundRefusal(await srv.verify({ key: k.key }), 'ip_not_allowed', k);
  const v6 = await srv.createKey(ws.id, { ip_allowlist: ['2001:db8:abcd::/48'] });
  assert.equal((await srv.verify({ key: v6.key, ip: '2001:db8:abcd:12::1' })).code, 'valid');
  assert.equal((await srv.verify({ key: v6.key, ip: '2001:db8:abce::1' })).code, 'ip_not_allowed');
  assert.equal((await srv.verify({ key: v6.key, ip: '203.0.113.1' })).code, 'ip_not_allowed');
});

test('referrer_not_allowed: hosts, subdomain wildcards and URL wildcards', async () => {
  const k = await srv.createKey(ws.id, { referrer_allowlist: ['example.com', '*.example.com', 'https://app.other.org/*'] });
  for (const referrer of [
    'https://example.com/',
    'https://shop.example.com/cart?x=1',
    'http://a.b.example.com/',
    'https://APP.EXAMPLE.COM/x',
    'https://app.other.org/dashboard',
  ]) {
    assert.equal((await srv.verify({ key: k.key, referrer })).code, 'valid', `${referrer} is allowed`);
  }
  for (const referrer of [
    'https://evil.com/',
    'https://example.com.evil.com/',
    'https://notexample.com/',
    'http://app.other.org/dashboard',
    'https://other.org/',
    'https://shop.example.com@evil.com/',
    'https://evil.com/https://shop.example.com/',
    'https://evil.com/?next=.example.com',
    'https://evil.com#.example.com',
    'https://app.other.org.evil.com/x',
  ]) {
    assertFoundRefusal(await srv.verify({ key: k.key, referrer }), 'referrer_not_allowed', k);
  }
  assertFoundRefusal(await srv.verify({ key: k.key }), 'referrer_not_allowed', k);
});

test('endpoint_not_allowed: methods, * and **, normalised paths', async () => {
  const k = await srv.createKey(ws.id, { endpoint_allowlist: ['GET /v1/products/*', 'GET,POST /v1/orders/**', '/v1/any'] });
  const ok = [
    ['GET', '/v1/products/42'],
    ['GET', '/v1/products/42?expand=reviews'],
    ['POST', '/v1/orders/1/items'],
    ['GET', '/v1/orders/1'],
    ['DELETE', '/v1/any'],
    ['PUT', '/v1/any'],
  ];
  for (const [method, path] of ok) {
    assert.equal((await srv.verify({ key: k.key, method, path })).code, 'valid', `${method} ${path} is allowed`);
  }
  const refused = [
    ['GET', '/v1/products/42/reviews'],
    ['POST', '/v1/products/42'],
    ['DELETE', '/v1/orders/1'],
    ['GET', '/v1/admin'],
    ['GET', '/v1/products/../admin'],
    ['GET', '/v1/products/../../etc/passwd'],
    ['GET', '/v1/products/%2e%2e'],
    ['GET', '/v1/products/%2e%2e/admin'],
    ['GET', '/v1/any/more'],
  ];
  for (const [method, path] of refused) {
    assertFoundRefusal(await srv.verify({ key: k.key, method, path }), 'endpoint_not_allowed', k);
  }
  assertFoundRefusal(await srv.verify({ key: k.key }), 'endpoint_not_allowed', k);
});

test('insufficient_scope: required scopes against granted ones and wildcards', async () => {
  const k = await srv.createKey(ws.id, { scopes: ['orders:*', 'profile:read'] });
  assert.equal((await srv.verify({ key: k.key, scopes: ['orders:read'] })).code, 'valid');
  assert.equal((await srv.verify({ key: k.key, scopes: ['orders:read', 'orders:write', 'profile:read'] })).code, 'valid');
  assert.equal((await srv.verify({ key: k.key, scopes: [] })).code, 'valid');
  for (const scopes of [['profile:write'], ['orders:read', 'billing:read'], ['admin'], ['orders']]) {
    assertFoundRefusal(await srv.verify({ key: k.key, scopes }), 'insufficient_scope', k);
  }
  const star = await srv.createKey(ws.id, { scopes: ['*'] });
  assert.equal((await srv.verify({ key: star.key, scopes: ['anything:at-all', 'x'] })).code, 'valid');
  const none = await srv.createKey(ws.id);
  assert.equal((await srv.verify({ key: none.key, scopes: ['orders:read'] })).code, 'insufficient_scope');
});

test('rate_limited: limit 2 per 60 s, the third call is refused; ratelimit in the answer', async () => {
  const k = await srv.createKey(ws.id, { rate_limit: { limit: 2, period_seconds: 60 } });
  const v1 = await srv.verify({ key: k.key });
  assert.equal(v1.code, 'valid');
  assert.ok(v1.ratelimit, `ratelimit present: ${JSON.stringify(v1)}`);
  assert.equal(v1.ratelimit.limit, 2);
  assert.equal(v1.ratelimit.remaining, 1);
  assert.ok(Number.isFinite(v1.ratelimit.reset) && v1.ratelimit.reset > 0 && v1.ratelimit.reset <= 60, `reset ${v1.ratelimit.reset}`);
  const v2 = await srv.verify({ key: k.key });
  assert.equal(v2.code, 'valid');
  assert.equal(v2.ratelimit.remaining, 0);
  const v3 = await srv.verify({ key: k.key });
  assertFoundRefusal(v3, 'rate_limited', k);
  assert.equal(v3.ratelimit.limit, 2);
  assert.equal(v3.ratelimit.remaining, 0);
  assert.ok(v3.ratelimit.reset > 0 && v3.ratelimit.reset <= 60);
  // Another key is not affected.
  const k2 = await srv.createKey(ws.id, { rate_limit: { limit: 2, period_seconds: 60 } });
  assert.equal((await srv.verify({ key: k2.key })).code, 'valid');
});

test('failed verifications never consume the rate limit', async () => {
  const k = await srv.createKey(ws.id, { rate_limit: { limit: 2, period_seconds: 60 }, scopes: ['a'] });
  for (let i = 0; i < 4; i++) assert.equal((await srv.verify({ key: k.key, scopes: ['b'] })).code, 'insufficient_scope');
  assert.equal((await srv.verify({ key: k.key, environment: 'test' })).code, 'wrong_environment');
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
  assert.equal((await srv.verify({ key: k.key })).code, 'rate_limited');
});

test('check order: revoked before expired before disabled before restrictions', async () => {
  const exp = isoIn(2);
  const a = await srv.createKey(ws.id, { expires_at: exp, ip_allowlist: ['10.0.0.0/8'] });
  await srv.patch(`/v1/api-keys/${a.id}`, { enabled: false });
  const b = await srv.createKey(ws.id, { expires_at: exp, ip_allowlist: ['10.0.0.0/8'] });
  await srv.patch(`/v1/api-keys/${b.id}`, { enabled: false });
  await srv.del(`/v1/api-keys/${b.id}`);
  assert.equal((await srv.verify({ key: a.key, ip: '192.0.2.1' })).code, 'disabled', 'disabled before ip');
  assert.ok(await poll(async () => (await srv.verify({ key: a.key })).code === 'expired', { timeoutMs: 6000 }), 'a expires');
  assert.equal((await srv.verify({ key: a.key, ip: '192.0.2.1' })).code, 'expired', 'expired before disabled');
  assert.equal((await srv.verify({ key: b.key, ip: '192.0.2.1' })).code, 'revoked', 'revoked before expired');
  assert.equal((await srv.get(`/v1/api-keys/${b.id}`)).json.status, 'revoked', 'status: revoked wins');
  assert.equal((await srv.get(`/v1/api-keys/${a.id}`)).json.status, 'expired', 'status: expired wins over disabled');

  const c = await srv.createKey(ws.id, {
    ip_allowlist: ['10.0.0.0/8'],
    referrer_allowlist: ['example.com'],
    endpoint_allowlist: ['GET /x'],
    scopes: ['s'],
  });
  const all = { key: c.key, ip: '10.1.1.1', referrer: 'https://example.com/', method: 'GET', path: '/x', scopes: ['s'] };
  assert.equal((await srv.verify(all)).code, 'valid');
  assert.equal((await srv.verify({ ...all, environment: 'test', ip: '1.1.1.1' })).code, 'wrong_environment');
  assert.equal((await srv.verify({ ...all, ip: '1.1.1.1', referrer: 'https://bad.org/' })).code, 'ip_not_allowed');
  assert.equal((await srv.verify({ ...all, referrer: 'https://bad.org/', path: '/y' })).code, 'referrer_not_allowed');
  assert.equal((await srv.verify({ ...all, path: '/y', scopes: ['t'] })).code, 'endpoint_not_allowed');
  assert.equal((await srv.verify({ ...all, scopes: ['t'] })).code, 'insufficient_scope');
});

test('verify body validation: 400 for wrong types and unknown fields', async () => {
  const k = await srv.createKey(ws.id);
  assertError(await srv.post('/v1/keys/verify', { key: 42 }), 400, 'invalid_request', 'key a number');
  assertError(await srv.post('/v1/keys/verify', { key: k.key, scope: ['x'] }), 400, 'invalid_request', 'unknown field');
  assertError(await srv.post('/v1/keys/verify', { key: k.key, scopes: 'x' }), 400, 'invalid_request', 'scopes a string');
  assertError(
    await srv.api('POST', '/v1/keys/verify', { raw: '{"key":', headers: { 'content-type': 'application/json' } }),
    400,
    'invalid_json',
    'truncated',
  );
});

test('verify needs a root key: 401 without one, 401 with a garbage token', async () => {
  const k = await srv.createKey(ws.id);
  let r = await srv.post('/v1/keys/verify', { key: k.key }, { token: null });
  assertError(r, 401, 'unauthorized', 'no token');
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
  r = await srv.post('/v1/keys/verify', { key: k.key }, { token: 'garbage' });
  assertError(r, 401, 'unauthorized', 'garbage token');
  r = await srv.post('/v1/keys/verify', { key: k.key }, { token: fabricateKey('kw', 'root') });
  assertError(r, 401, 'unauthorized', 'unknown root key');
  r = await srv.post('/v1/keys/verify', { key: k.key }, { token: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
  assertError(r, 401, 'unauthorized', 'Basic auth');
});

test('changes take effect at once, even for a key verified a moment ago', async () => {
  const k = await srv.createKey(ws.id, { scopes: ['a'] });
  const req = { key: k.key, ip: '203.0.113.5', scopes: ['a'] };
  assert.equal((await srv.verify(req)).code, 'valid');
  await srv.patch(`/v1/api-keys/${k.id}`, { ip_allowlist: ['198.51.100.0/24'] });
  assert.equal((await srv.verify(req)).code, 'ip_not_allowed');
  await srv.patch(`/v1/api-keys/${k.id}`, { ip_allowlist: [], scopes: ['b'] });
  assert.equal((await srv.verify(req)).code, 'insufficient_scope');
  await srv.patch(`/v1/api-keys/${k.id}`, { scopes: ['a'], name: 'renamed', meta: { v: 2 } });
  const v = await srv.verify(req);
  assert.equal(v.code, 'valid');
  assert.equal(v.name, 'renamed');
  assert.deepEqual(v.meta, { v: 2 });
  await srv.patch(`/v1/api-keys/${k.id}`, { rate_limit: { limit: 1, period_seconds: 60 } });
  assert.equal((await srv.verify(req)).code, 'valid');
  assert.equal((await srv.verify(req)).code, 'rate_limited');
  await srv.patch(`/v1/api-keys/${k.id}`, { rate_limit: null });
  assert.equal((await srv.verify(req)).code, 'valid', 'clearing the rate limit lifts it');
  await srv.patch(`/v1/api-keys/${k.id}`, { expires_at: isoIn(3600) });
  assert.notEqual((await srv.verify(req)).expires_at, null);
});

test('the rate limit holds under concurrency: 50 parallel checks, limit 10, exactly 10 valid', async () => {
  const k = await srv.createKey(ws.id, { rate_limit: { limit: 10, period_seconds: 60 } });
  const answers = await Promise.all(Array.from({ length: 50 }, () => srv.verify({ key: k.key })));
  const codes = answers.map((v) => v.code);
  assert.equal(codes.filter((c) => c === 'valid').length, 10, codes.join(','));
  assert.equal(codes.filter((c) => c === 'rate_limited').length, 40);
});
