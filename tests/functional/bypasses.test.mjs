// Issue 9: each of the nine findings of the attack on restrictions, through
// POST /v1/keys/verify, GET /v1/auth and the management API, against the
// real binary. (The header and path cases through a real nginx are in
// gateway-nginx.test.mjs; the independent attack suite is
// attack-bounds.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, assertError, isoIn, poll, trackSecrets, assertNoSecretIn, corruptKey, fabricateKey } from './lib/keyward.mjs';

let srv;
let secrets;
let ws;
before(async () => {
  srv = await startServer({ config: { limits: { failed_verifications_per_ip: 5 } } });
  secrets = trackSecrets(srv);
  ws = await srv.createWorkspace('bypasses', { max_active_keys: 1000 });
});
after(async () => {
  assertNoSecretIn(srv.allStdout + srv.allStderr, [...secrets, srv.rootKey], 'the server log');
  await srv?.close();
});

const as = (key) => ({ token: key.key });
const keyIds = async (wsId) => (await srv.listAll(`/v1/api-keys?workspace_id=${wsId}`)).map((k) => k.id).sort();

test('finding 1: addresses are canonical, garbage is refused, and every form shares one failure budget', async () => {
  const k = await srv.createKey(ws.id, { ip_allowlist: ['10.0.0.0/8'] });
  assert.equal((await srv.verify({ key: k.key, ip: '::ffff:10.1.2.3' })).code, 'valid');
  for (const bad of ['010.1.2.3', '10.1.2', 'garbage', '10.1.2.3:80', 'fe80::1%eth0']) {
    assertError(await srv.post('/v1/keys/verify', { key: k.key, ip: bad }), 400, 'invalid_request', bad);
  }
  // Gateway mode from this (trusted, loopback) peer: the same address in two
  // forms is one budget of 5 failures, then 429 before any key is read.
  const forms = ['203.0.113.50', '::ffff:203.0.113.50', '[::ffff:203.0.113.50]', '::ffff:cb00:7132'];
  const statuses = [];
  for (let i = 0; i < 8; i++) {
    const r = await srv.auth({ authorization: `Bearer ${fabricateKey('kw')}`, 'x-real-ip': forms[i % forms.length] });
    statuses.push(r.status);
  }
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
  // A good key from that address is refused too, until the budget refills.
  assert.equal((await srv.auth({ authorization: `Bearer ${k.key}`, 'x-real-ip': '203.0.113.50' })).status, 429);
});

test('finding 2: a forwarded method or URI that conflicts with the gateway\'s is refused, not resolved', async () => {
  const k = await srv.createKey(ws.id, { endpoint_allowlist: ['GET /v1/products/*'] });
  const h = { authorization: `Bearer ${k.key}`, 'x-original-method': 'DELETE', 'x-original-uri': '/v1/admin' };
  const r = await srv.auth({ ...h, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/v1/products/1' });
  assertError(r, 400, 'invalid_request');
  assertError(await srv.auth(h), 403, 'endpoint_not_allowed');
  assert.equal((await srv.auth({ authorization: `Bearer ${k.key}`, 'x-original-method': 'GET', 'x-original-uri': '/v1/products/1' })).status, 200);
});

test('finding 3: a path that two parsers could read differently matches no endpoint allow-list', async () => {
  const k = await srv.createKey(ws.id, { endpoint_allowlist: ['GET /v1/products/*', 'GET /v1/products/admin'] });
  for (const path of ['/v1/products//../admin', '/v1/products/../admin', '/v1/products/%2e%2e/admin', '/v1/products/%61dmin',
    '/v1/products/..%2Fadmin', '/v1/products\\admin', '/v1/products;x/admin', '/v1/products/%252e%252e', '//v1/products/1']) {
    assert.equal((await srv.verify({ key: k.key, method: 'GET', path })).code, 'endpoint_not_allowed', path);
    assertError(await srv.raw('GET', '/v1/auth', { authorization: `Bearer ${k.key}`, 'x-original-method': 'GET', 'x-original-uri': path }),
      403, 'endpoint_not_allowed', path);
  }
  assert.equal((await srv.verify({ key: k.key, method: 'GET', path: '/v1/products/admin' })).code, 'valid');
  // Patterns must be canonical too.
  assertError(await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'x', endpoint_allowlist: ['GET /v1//x'] }),
    400, 'invalid_request');
});

test('finding 4: a restricted managing key cannot create, patch or re-enable past itself', async () => {
  const manager = await srv.createKey(ws.id, {
    name: 'manager', scopes: ['keys:manage'], ip_allowlist: ['127.0.0.0/8'], expires_at: isoIn(86400), rate_limit: { limit: 100, period_seconds: 60 },
  });
  const before = await keyIds(ws.id);
  const wide = { workspace_id: ws.id, environment: 'live', name: 'wide', scopes: ['keys:manage'] };
  for (const [extra, field] of [[{ ip_allowlist: ['0.0.0.0/0'] }, 'ip_allowlist'], [{ expires_at: isoIn(10 * 86400) }, 'expires_at'],
    [{ expires_at: null }, 'expires_at'], [{ rate_limit: { limit: 1000, period_seconds: 60 } }, 'rate_limit'], [{ rate_limit: null }, 'rate_limit']]) {
    const r = await srv.post('/v1/api-keys', { ...wide, ...extra }, as(manager));
    assertError(r, 403, 'forbidden', JSON.stringify(extra));
    assert.match(r.json.message, new RegExp(field));
  }
  assert.deepEqual(await keyIds(ws.id), before, 'nothing was stored');
  // Left out means "as the caller".
  const child = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'child' }, as(manager));
  assert.equal(child.status, 201, child.text);
  assert.deepEqual(child.json.ip_allowlist, ['127.0.0.0/8']);
  assert.equal(Date.parse(child.json.expires_at), Date.parse(manager.expires_at));
  assert.deepEqual(child.json.rate_limit, { limit: 100, period_seconds: 60 });
  // Its own restrictions are not its to change.
  for (const body of [{ ip_allowlist: [] }, { expires_at: null }, { rate_limit: null }, { scopes: [] }, { enabled: false }]) {
    assertError(await srv.patch(`/v1/api-keys/${manager.id}`, body, as(manager)), 403, 'forbidden', JSON.stringify(body));
  }
  const self = (await srv.get(`/v1/api-keys/${manager.id}`)).json;
  assert.deepEqual(self.ip_allowlist, ['127.0.0.0/8']);
  assert.notEqual(self.expires_at, null);
  // It cannot enable what the operator disabled, and the key stays disabled.
  assert.equal((await srv.patch(`/v1/api-keys/${child.json.id}`, { enabled: false })).status, 200);
  assertError(await srv.patch(`/v1/api-keys/${child.json.id}`, { enabled: true }, as(manager)), 403, 'forbidden');
  assert.equal((await srv.verify({ key: child.json.key })).code, 'disabled');
  // What it disabled itself, it may enable.
  assert.equal((await srv.patch(`/v1/api-keys/${child.json.id}`, { enabled: true })).status, 200);
  assert.equal((await srv.patch(`/v1/api-keys/${child.json.id}`, { enabled: false }, as(manager))).status, 200);
  assert.equal((await srv.patch(`/v1/api-keys/${child.json.id}`, { enabled: true }, as(manager))).status, 200);
  // Racing wide creates: none lands.
  const racing = await Promise.all(Array.from({ length: 10 }, () => srv.post('/v1/api-keys', { ...wide, ip_allowlist: ['0.0.0.0/0'] }, as(manager))));
  assert.ok(racing.every((r) => r.status === 403));
});

test('finding 5: the slot rule: a grace goes one over the limit once, and revival needs a slot', async () => {
  const small = await srv.createWorkspace('slots', { max_active_keys: 3 });
  const keys = [];
  for (let i = 0; i < 3; i++) keys.push(await srv.createKey(small.id, { name: `k${i}` }));
  const a = await srv.post(`/v1/api-keys/${keys[0].id}/rotate`, { grace_seconds: 3600 });
  assert.equal(a.status, 201, a.text);
  assertError(await srv.post(`/v1/api-keys/${a.json.id}/rotate`, { grace_seconds: 3600 }), 409, 'conflict', 'chained rotation');
  assertError(await srv.post(`/v1/api-keys/${keys[1].id}/rotate`, { grace_seconds: 3600 }), 409, 'key_limit_reached', 'second grace');
  // Concurrent graces on the other keys: still at most one over.
  await Promise.all(keys.slice(1).map((k) => srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 3600 })));
  const working = [];
  for (const k of await srv.listAll(`/v1/api-keys?workspace_id=${small.id}`)) if (k.status === 'active') working.push(k.id);
  assert.equal(working.length, 4, 'limit 3, one over during one grace');
  // PATCH expires_at null on an expired key revived it past the limit.
  const tight = await srv.createWorkspace('revive', { max_active_keys: 1 });
  const soon = await srv.createKey(tight.id, { expires_at: isoIn(1) });
  await poll(async () => (await srv.verify({ key: soon.key })).code === 'expired');
  await srv.createKey(tight.id);
  assertError(await srv.patch(`/v1/api-keys/${soon.id}`, { expires_at: null }), 409, 'key_limit_reached');
  assert.equal((await srv.verify({ key: soon.key })).code, 'expired');
});

test('finding 6: a rotation keeps the expiry, and an expired key is not rotated', async () => {
  const exp = isoIn(86400);
  const k = await srv.createKey(ws.id, { expires_at: exp });
  const r = await srv.post(`/v1/api-keys/${k.id}/rotate`, {});
  assert.equal(r.status, 201, r.text);
  assert.equal(Date.parse(r.json.expires_at), Date.parse(exp));
  const soon = await srv.createKey(ws.id, { expires_at: isoIn(1) });
  await poll(async () => (await srv.verify({ key: soon.key })).code === 'expired');
  assertError(await srv.post(`/v1/api-keys/${soon.id}/rotate`, {}), 409, 'conflict');
  assert.equal((await srv.listAll(`/v1/api-keys?workspace_id=${ws.id}`)).filter((x) => x.rotated_from === soon.id).length, 0);
});

test('finding 7: a host wildcard matches whole labels, never the path or query', async () => {
  const k = await srv.createKey(ws.id, { referrer_allowlist: ['https://*.example.com/*'] });
  for (const referrer of ['https://evil.com/.example.com/', 'https://evil.com/?.example.com/', 'https://evil.com\\@a.example.com/']) {
    assert.equal((await srv.verify({ key: k.key, referrer })).code, 'referrer_not_allowed', referrer);
  }
  assert.equal((await srv.verify({ key: k.key, referrer: 'https://app.example.com/page' })).code, 'valid');
});

test('finding 8: the longest patterns against the longest URI cost no noticeable CPU', async () => {
  let p = '/';
  while (p.length + 2 <= 256 - 'GET '.length - 2) p += '*a';
  const patterns = Array.from({ length: 32 }, (_, i) => `GET ${p}${String(i).padStart(2, '0')}`);
  assert.ok(patterns.every((x) => x.length <= 256));
  const k = await srv.createKey(ws.id, { endpoint_allowlist: patterns });
  assertError(await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'x', endpoint_allowlist: [...patterns, 'GET /x'] }),
    400, 'invalid_request', '33 patterns');
  const uri = `/${'a'.repeat(8000)}`;
  const started = Date.now();
  const calls = Array.from({ length: 8 }, () => srv.raw('GET', '/v1/auth', { authorization: `Bearer ${k.key}`, 'x-original-method': 'GET', 'x-original-uri': uri }));
  const health = await srv.get('/healthz', { token: null });
  const answers = await Promise.all(calls);
  for (const r of answers) assertError(r, 403, 'endpoint_not_allowed');
  assert.equal(health.status, 200);
  // Before the fix one such call took 1.4 s of CPU; 8 now take milliseconds.
  assert.ok(Date.now() - started < 3000, `8 calls took ${Date.now() - started} ms`);
});

test('finding 9a: management calls by a managing key are not usage', async () => {
  const manager = await srv.createKey(ws.id, { name: 'quiet manager', scopes: ['keys:manage'] });
  for (let i = 0; i < 5; i++) assert.equal((await srv.get(`/v1/api-keys/${manager.id}`, as(manager))).status, 200);
  await srv.verify({ key: manager.key });
  await poll(async () => (await srv.get(`/v1/usage?key_id=${manager.id}&granularity=minute`)).json.total >= 1);
  const usage = (await srv.get(`/v1/usage?key_id=${manager.id}&granularity=minute`)).json;
  assert.equal(usage.valid, 1, 'only the one verification counts');
  assert.equal(usage.total, 1);
});

test('finding 9b: a cursor from another workspace answers exactly as an unknown one', async () => {
  const other = await srv.createWorkspace('other cursor');
  const foreign = await srv.createKey(other.id);
  const manager = await srv.createKey(ws.id, { name: 'cursor manager', scopes: ['keys:manage'] });
  const a = await srv.get(`/v1/api-keys?cursor=${foreign.id}`, as(manager));
  const b = await srv.get(`/v1/api-keys?cursor=key_AAAAAAAAAAAAAAAAAAAA`, as(manager));
  assert.equal(a.status, b.status);
  assert.equal(a.json.error, b.json.error);
  assert.equal(a.json.message.replace(foreign.id, 'ID'), b.json.message.replace('key_AAAAAAAAAAAAAAAAAAAA', 'ID'));
  const c = await srv.get(`/v1/api-keys?workspace_id=${ws.id}&cursor=${foreign.id}`);
  assert.equal(c.status, b.status, 'for a root key filtering by workspace too');
});

test('finding 9c: failed root-key guesses are limited per address, and a mistyped root key is called a root key', async () => {
  const guessFrom = (ip, token) => srv.api('GET', '/v1/workspaces', { token, headers: { 'x-real-ip': ip } });
  const statuses = [];
  for (let i = 0; i < 7; i++) statuses.push((await guessFrom('198.51.100.9', corruptKey(srv.rootKey))).status);
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
  assert.equal((await guessFrom('198.51.100.9', srv.rootKey)).status, 429, 'locked out, even with the right key');
  assert.equal((await guessFrom('198.51.100.10', srv.rootKey)).status, 200, 'another address is not');
  const typo = await guessFrom('198.51.100.11', srv.rootKey.replace('kw_root_', 'kw_rot_'));
  assertError(typo, 401, 'unauthorized');
  assert.match(typo.json.message, /root key/);
  assert.doesNotMatch(typo.json.message, /the API key/);
});

test('finding 9d: the old and new key of a rotation share one rate limit', async () => {
  const k = await srv.createKey(ws.id, { rate_limit: { limit: 4, period_seconds: 3600 } });
  const r = await srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 3600 });
  assert.equal(r.status, 201, r.text);
  let valid = 0;
  for (let i = 0; i < 5; i++) {
    for (const key of [k.key, r.json.key]) if ((await srv.verify({ key })).code === 'valid') valid++;
  }
  assert.equal(valid, 4);
});
