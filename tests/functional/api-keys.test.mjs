// API keys: create (secret shown once), read, list, filters, pagination,
// patch, revoke, rotate, validation, the active-key limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  assertError,
  assertNoStore,
  assertKeyObject,
  assertWorkspace,
  checksumOk,
  isoIn,
  poll,
  RFC3339_UTC,
  trackSecrets,
  assertNoSecretIn,
} from './lib/keyward.mjs';

let srv;
let secrets = [];
before(async () => {
  srv = await startServer();
  secrets = trackSecrets(srv);
});
after(async () => {
  await srv?.close();
});

const KEY_RE = /^kw_(live|test)_[0-9A-Za-z]{40}$/;

test('POST /v1/api-keys answers 201 with the key object and the secret', async () => {
  const ws = await srv.createWorkspace('shape');
  const before = Date.now();
  const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'production-server' });
  assert.equal(r.status, 201, r.text);
  assertNoStore(r, 'POST /v1/api-keys');
  const k = r.json;
  assertKeyObject(k);
  assert.match(k.key, KEY_RE);
  assert.ok(k.key.startsWith('kw_live_'));
  assert.ok(checksumOk(k.key), 'the last 6 characters are the CRC32 checksum');
  assert.equal(k.short_prefix, k.key.slice(0, 'kw_live_'.length + 12), 'short prefix: prefix + 12 body characters');
  assert.equal(k.workspace_id, ws.id);
  assert.equal(k.environment, 'live');
  assert.equal(k.name, 'production-server');
  assert.equal(k.status, 'active');
  assert.equal(k.enabled, true);
  assert.deepEqual(k.scopes, []);
  assert.deepEqual(k.ip_allowlist, []);
  assert.deepEqual(k.referrer_allowlist, []);
  assert.deepEqual(k.endpoint_allowlist, []);
  assert.equal(k.rate_limit, null);
  assert.deepEqual(k.meta, {});
  assert.match(k.created_by, /^rk_/);
  assert.equal(k.expires_at, null);
  assert.equal(k.last_used_at, null);
  assert.equal(k.revoked_at, null);
  assert.equal(k.revoked_reason, null);
  assert.equal(k.rotated_from, null);
  const created = Date.parse(k.created_at);
  assert.ok(created >= before - 2000 && created <= Date.now() + 2000);

  const t = await srv.createKey(ws.id, { environment: 'test' });
  assert.match(t.key, /^kw_test_[0-9A-Za-z]{40}$/);
  assert.notEqual(t.key, k.key);
});

test('the secret is shown once: GET and lists never contain it', async () => {
  const ws = await srv.createWorkspace('once');
  const k = await srv.createKey(ws.id, { name: 'shown once' });
  const one = await srv.get(`/v1/api-keys/${k.id}`);
  assert.equal(one.status, 200, one.text);
  assertNoStore(one, 'GET key');
  assertKeyObject(one.json);
  assert.ok(!('key' in one.json), 'GET has no key field');
  assert.ok(!one.text.includes(k.key), 'GET does not contain the secret');
  const { key: _secret, ...withoutSecret } = k;
  assert.deepEqual(one.json, withoutSecret, 'GET answers what create answered, minus the secret');

  const list = await srv.get(`/v1/api-keys?workspace_id=${ws.id}`);
  assert.equal(list.status, 200);
  assertNoStore(list, 'GET list');
  assert.equal(list.json.data.length, 1);
  assert.ok(!('key' in list.json.data[0]));
  assert.ok(!list.text.includes(k.key));
  assert.ok(!list.text.includes(k.key.slice(-20)), 'not even the tail of the secret');
});

test('create accepts every optional field and returns it', async () => {
  const ws = await srv.createWorkspace('full');
  const expires = isoIn(3600);
  const fields = {
    environment: 'test',
    name: 'webhook-consumer',
    scopes: ['orders:read', 'orders:*', '*', 'a.b-c_d'],
    expires_at: expires,
    ip_allowlist: ['203.0.113.0/24', '2001:db8::/32'],
    referrer_allowlist: ['example.com', '*.example.com', 'https://app.example.com/*'],
    endpoint_allowlist: ['GET /v1/products/*', 'GET,POST /v1/orders/**', '/v1/x'],
    rate_limit: { limit: 100, period_seconds: 60 },
    meta: { team: 'payments', tier: 3, nested: { list: [1, 'two', null], ok: true } },
  };
  const k = await srv.createKey(ws.id, fields);
  assertKeyObject(k);
  assert.match(k.key, /^kw_test_/);
  assert.equal(k.environment, 'test');
  assert.deepEqual(k.scopes, fields.scopes);
  assert.equal(Date.parse(k.expires_at), Date.parse(expires));
  assert.deepEqual(k.ip_allowlist, fields.ip_allowlist);
  assert.deepEqual(k.referrer_allowlist, fields.referrer_allowlist);
  assert.deepEqual(k.endpoint_allowlist, fields.endpoint_allowlist);
  assert.deepEqual(k.rate_limit, fields.rate_limit);
  assert.deepEqual(k.meta, fields.meta);
  const again = await srv.get(`/v1/api-keys/${k.id}`);
  assert.deepEqual(again.json.meta, fields.meta);
  assert.deepEqual(again.json.rate_limit, fields.rate_limit);
});

test('unknown key ids answer 404 on every key route', async () => {
  const id = 'key_doesnotexist00000000';
  assertError(await srv.get(`/v1/api-keys/${id}`), 404, 'not_found', 'GET');
  assertError(await srv.patch(`/v1/api-keys/${id}`, { name: 'x' }), 404, 'not_found', 'PATCH');
  assertError(await srv.del(`/v1/api-keys/${id}`), 404, 'not_found', 'DELETE');
  assertError(await srv.post(`/v1/api-keys/${id}/rotate`, {}), 404, 'not_found', 'rotate');
  assertError(await srv.get('/v1/api-keys/ws_notakey'), 404, 'not_found', 'GET with a ws id');
});

test('invalid create bodies answer 400 and change nothing', async () => {
  const ws = await srv.createWorkspace('validation');
  const base = { workspace_id: ws.id, environment: 'live', name: 'k' };
  const snap = await srv.snapshot();
  const bad = [
    [{ environment: 'live', name: 'k' }, 'missing workspace_id'],
    [{ workspace_id: ws.id, name: 'k' }, 'missing environment'],
    [{ workspace_id: ws.id, environment: 'live' }, 'missing name'],
    [{ ...base, environment: 'staging' }, 'unknown environment'],
    [{ ...base, environment: 5 }, 'environment of the wrong type'],
    [{ ...base, name: '' }, 'empty name'],
    [{ ...base, name: 'n'.repeat(201) }, 'name over 200 bytes'],
    [{ ...base, name: 'tab\there' }, 'control character in name'],
    [{ ...base, name: 'del\u007fhere' }, 'DEL in name'],
    [{ ...base, name: 'nul\u0000here' }, 'NUL in name'],
    [{ ...base, scopes: ['ordérs:read'] }, 'non-ASCII scope'],
    [{ ...base, scopes: ['orders/read'] }, 'slash in scope'],
    [{ ...base, scope: ['orders:read'] }, 'unknown field scope (typo for scopes)'],
    [{ ...base, scopes: 'orders:read' }, 'scopes not an array'],
    [{ ...base, scopes: [1] }, 'scope not a string'],
    [{ ...base, scopes: ['orders read'] }, 'scope with a space'],
    [{ ...base, scopes: [''] }, 'empty scope'],
    [{ ...base, scopes: ['s'.repeat(65)] }, 'scope over 64 characters'],
    [{ ...base, scopes: Array.from({ length: 101 }, (_, i) => `s${i}`) }, '101 scopes'],
    [{ ...base, ip_allowlist: ['not-an-ip'] }, 'ip not an address'],
    [{ ...base, ip_allowlist: ['300.1.2.3'] }, 'ip octet out of range'],
    [{ ...base, ip_allowlist: ['10.0.0.0/33'] }, 'prefix over 32'],
    [{ ...base, ip_allowlist: '10.0.0.0/8' }, 'ip_allowlist not an array'],
    [{ ...base, endpoint_allowlist: ['GET products'] }, 'endpoint path without slash'],
    [{ ...base, endpoint_allowlist: [''] }, 'empty endpoint pattern'],
    [{ ...base, referrer_allowlist: [''] }, 'empty referrer'],
    [{ ...base, rate_limit: { limit: 0, period_seconds: 60 } }, 'rate limit 0'],
    [{ ...base, rate_limit: { limit: 1_000_000_001, period_seconds: 60 } }, 'rate limit over 10^9'],
    [{ ...base, rate_limit: { limit: 10, period_seconds: 0 } }, 'period 0'],
    [{ ...base, rate_limit: { limit: 10, period_seconds: 2678401 } }, 'period over 31 days'],
    [{ ...base, rate_limit: { limit: 10 } }, 'rate limit without period'],
    [{ ...base, rate_limit: { limit: 10, period_seconds: 60, burst: 5 } }, 'unknown rate_limit field'],
    [{ ...base, meta: [1, 2] }, 'meta an array'],
    [{ ...base, meta: 'text' }, 'meta a string'],
    [{ ...base, meta: { blob: 'x'.repeat(9000) } }, 'meta over 8 KiB'],
    [{ ...base, expires_at: '2001-01-01T00:00:00Z' }, 'expires_at in the past'],
    [{ ...base, expires_at: 'tomorrow' }, 'expires_at not a time'],
    [{ ...base, expires_at: 1900000000 }, 'expires_at a number'],
    [{ ...base, enabled: false }, 'enabled is not a create field'],
  ];
  for (const [body, what] of bad) {
    assertError(await srv.post('/v1/api-keys', body), 400, 'invalid_request', what);
  }
  assert.deepEqual(await srv.snapshot(), snap, 'failed creates changed nothing');
});

test('an IP block with host bits set is refused, naming the intended block', async () => {
  const ws = await srv.createWorkspace('cidr');
  const base = { workspace_id: ws.id, environment: 'live', name: 'k' };
  let r = await srv.post('/v1/api-keys', { ...base, ip_allowlist: ['10.0.0.1/8'] });
  assertError(r, 400, 'invalid_request', '10.0.0.1/8');
  assert.ok(r.json.message.includes('10.0.0.0/8'), `message names 10.0.0.0/8: ${r.json.message}`);
  r = await srv.post('/v1/api-keys', { ...base, ip_allowlist: ['2001:db8::1/32'] });
  assertError(r, 400, 'invalid_request', '2001:db8::1/32');
  assert.ok(r.json.message.includes('2001:db8::/32'), `message names 2001:db8::/32: ${r.json.message}`);
  // Bare addresses of both families are accepted.
  const k = await srv.createKey(ws.id, { ip_allowlist: ['198.51.100.7', '2001:db8::7'] });
  assert.equal(k.ip_allowlist.length, 2);
  assert.ok(k.ip_allowlist[0].startsWith('198.51.100.7'));
  assert.ok(k.ip_allowlist[1].startsWith('2001:db8::7'));
});

test('creating a key in an unknown workspace fails and creates nothing', async () => {
  const snap = await srv.snapshot();
  const r = await srv.post('/v1/api-keys', { workspace_id: 'ws_doesnotexist0000', environment: 'live', name: 'k' });
  assert.ok([400, 404].includes(r.status), `answered ${r.status} ${r.text}`);
  assert.ok(['not_found', 'invalid_request'].includes(r.json?.error), r.text);
  assert.deepEqual(await srv.snapshot(), snap);
});

test('PATCH /v1/api-keys/{id} changes each field', async () => {
  const ws = await srv.createWorkspace('patching');
  const k = await srv.createKey(ws.id, { name: 'before', rate_limit: { limit: 5, period_seconds: 10 }, expires_at: isoIn(3600) });
  const steps = [
    [{ name: 'after' }, (j) => assert.equal(j.name, 'after')],
    [{ scopes: ['orders:read', 'keys:manage'] }, (j) => assert.deepEqual(j.scopes, ['orders:read', 'keys:manage'])],
    [{ ip_allowlist: ['192.0.2.0/24'] }, (j) => assert.deepEqual(j.ip_allowlist, ['192.0.2.0/24'])],
    [{ referrer_allowlist: ['*.example.org'] }, (j) => assert.deepEqual(j.referrer_allowlist, ['*.example.org'])],
    [{ endpoint_allowlist: ['GET /v1/things/**'] }, (j) => assert.deepEqual(j.endpoint_allowlist, ['GET /v1/things/**'])],
    [{ rate_limit: { limit: 7, period_seconds: 30 } }, (j) => assert.deepEqual(j.rate_limit, { limit: 7, period_seconds: 30 })],
    [{ meta: { owner: 'ops' } }, (j) => assert.deepEqual(j.meta, { owner: 'ops' })],
    [{ enabled: false }, (j) => (assert.equal(j.enabled, false), assert.equal(j.status, 'disabled'))],
    [{ enabled: true }, (j) => (assert.equal(j.enabled, true), assert.equal(j.status, 'active'))],
    [{ rate_limit: null }, (j) => assert.equal(j.rate_limit, null)],
    [{ expires_at: null }, (j) => assert.equal(j.expires_at, null)],
    [{ ip_allowlist: [] }, (j) => assert.deepEqual(j.ip_allowlist, [])],
  ];
  for (const [body, check] of steps) {
    const r = await srv.patch(`/v1/api-keys/${k.id}`, body);
    assert.equal(r.status, 200, `PATCH ${JSON.stringify(body)}: ${r.text}`);
    assertNoStore(r, 'PATCH key');
    assertKeyObject(r.json);
    assert.ok(!('key' in r.json) && !r.text.includes(k.key), 'PATCH never returns the secret');
    check(r.json);
    check((await srv.get(`/v1/api-keys/${k.id}`)).json);
  }
  const final = (await srv.get(`/v1/api-keys/${k.id}`)).json;
  assert.equal(final.name, 'after', 'fields not in a PATCH stay');
  assert.deepEqual(final.meta, { owner: 'ops' });
  const exp = isoIn(7200);
  const r = await srv.patch(`/v1/api-keys/${k.id}`, { expires_at: exp });
  assert.equal(r.status, 200, r.text);
  assert.equal(Date.parse(r.json.expires_at), Date.parse(exp));
});

test('invalid PATCH bodies answer 400 and change nothing', async () => {
  const ws = await srv.createWorkspace('bad patches');
  const k = await srv.createKey(ws.id, { name: 'stable', scopes: ['a'] });
  const snap = await srv.snapshot();
  const bad = [
    [{ scope: ['x'] }, 'unknown field'],
    [{ name: '' }, 'empty name'],
    [{ name: 'bell\u0007' }, 'control character in name'],
    [{ name: null }, 'null name'],
    [{ enabled: null }, 'null enabled'],
    [{ enabled: 'no' }, 'enabled a string'],
    [{ scopes: 'a' }, 'scopes a string'],
    [{ ip_allowlist: ['10.0.0.1/8'] }, 'host bits set'],
    [{ endpoint_allowlist: ['GET nope'] }, 'bad endpoint'],
    [{ rate_limit: { limit: 0, period_seconds: 1 } }, 'bad rate limit'],
    [{ meta: 3 }, 'meta not an object'],
    [{ expires_at: '2000-01-01T00:00:00Z' }, 'expires_at in the past'],
    [{ environment: 'test' }, 'environment cannot change'],
    [{ workspace_id: ws.id }, 'workspace_id cannot change'],
  ];
  for (const [body, what] of bad) {
    assertError(await srv.patch(`/v1/api-keys/${k.id}`, body), 400, 'invalid_request', what);
  }
  assert.deepEqual(await srv.snapshot(), snap, 'failed patches changed nothing');
});

test('DELETE revokes for good; again answers the same; a revoked key cannot change', async () => {
  const ws = await srv.createWorkspace('revoking');
  const k = await srv.createKey(ws.id, { name: 'doomed' });
  const r1 = await srv.api('DELETE', `/v1/api-keys/${k.id}`, { body: { reason: 'leaked in a paste bin' } });
  assert.equal(r1.status, 200, r1.text);
  assertNoStore(r1, 'DELETE');
  assert.deepEqual(Object.keys(r1.json).sort(), ['id', 'revoked_at', 'status']);
  assert.equal(r1.json.id, k.id);
  assert.equal(r1.json.status, 'revoked');
  assert.match(r1.json.revoked_at, RFC3339_UTC);
  const r2 = await srv.del(`/v1/api-keys/${k.id}`);
  assert.equal(r2.status, 200, r2.text);
  assert.deepEqual(r2.json, r1.json, 'a second DELETE answers the first revocation');

  const got = (await srv.get(`/v1/api-keys/${k.id}`)).json;
  assert.equal(got.status, 'revoked');
  assert.equal(got.revoked_at, r1.json.revoked_at);
  assert.equal(got.revoked_reason, 'leaked in a paste bin');

  const snap = await srv.snapshot();
  assertError(await srv.patch(`/v1/api-keys/${k.id}`, { name: 'alive again' }), 409, 'key_revoked', 'PATCH revoked');
  assertError(await srv.patch(`/v1/api-keys/${k.id}`, { enabled: true }), 409, 'key_revoked', 'enable revoked');
  assertError(await srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 60 }), 409, 'key_revoked', 'rotate revoked');
  assert.deepEqual(await srv.snapshot(), snap, 'refused changes to a revoked key changed nothing');
  const v = await srv.verify({ key: k.key });
  assert.equal(v.code, 'revoked');
});

test('DELETE with an unknown body field answers 400 and does not revoke', async () => {
  const ws = await srv.createWorkspace('delete body');
  const k = await srv.createKey(ws.id);
  assertError(await srv.api('DELETE', `/v1/api-keys/${k.id}`, { body: { reasn: 'typo' } }), 400, 'invalid_request', 'typo');
  assert.equal((await srv.get(`/v1/api-keys/${k.id}`)).json.status, 'active');
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
});

test('the active-key limit: 5 like amser, 409 key_limit_reached, revoking frees a slot', async () => {
  const ws = await srv.createWorkspace('amser merchant', { max_active_keys: 5 });
  const keys = [];
  for (let i = 0; i < 5; i++) keys.push(await srv.createKey(ws.id, { name: `k${i}`, environment: i % 2 ? 'test' : 'live' }));
  let w = (await srv.get(`/v1/workspaces/${ws.id}`)).json;
  assert.equal(w.active_keys, 5);
  const snap = await srv.snapshot();
  const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'sixth' });
  assertError(r, 409, 'key_limit_reached', 'sixth key');
  assert.match(r.json.message, /revoke/i, 'the message says to revoke a key');
  assert.deepEqual(await srv.snapshot(), snap, 'the refused create changed nothing');

  // A disabled key still holds its slot.
  await srv.patch(`/v1/api-keys/${keys[0].id}`, { enabled: false });
  assertError(
    await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'sixth' }),
    409,
    'key_limit_reached',
    'sixth key with one disabled',
  );

  assert.equal((await srv.del(`/v1/api-keys/${keys[1].id}`)).status, 200);
  w = (await srv.get(`/v1/workspaces/${ws.id}`)).json;
  assert.equal(w.active_keys, 4);
  const sixth = await srv.createKey(ws.id, { name: 'sixth' });
  assert.equal(sixth.status, 'active');
  assertError(
    await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'seventh' }),
    409,
    'key_limit_reached',
    'full again',
  );

  // Raising the limit lets one more in.
  const p = await srv.patch(`/v1/workspaces/${ws.id}`, { max_active_keys: 6 });
  assert.equal(p.status, 200, p.text);
  await srv.createKey(ws.id, { name: 'seventh' });
  w = (await srv.get(`/v1/workspaces/${ws.id}`)).json;
  assertWorkspace(w);
  assert.equal(w.active_keys, 6);
});

test('an expired key no longer holds a slot', async () => {
  const ws = await srv.createWorkspace('expiring slot', { max_active_keys: 1 });
  const k = await srv.createKey(ws.id, { expires_at: isoIn(2) });
  assertError(
    await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'second' }),
    409,
    'key_limit_reached',
    'before expiry',
  );
  const expired = await poll(async () => (await srv.get(`/v1/api-keys/${k.id}`)).json.status === 'expired', { timeoutMs: 6000 });
  assert.ok(expired, 'the key reaches status expired');
  const second = await srv.createKey(ws.id, { name: 'second' });
  assert.equal(second.status, 'active');
});

test('pagination: 25 keys, pages of 10, each key once, newest first, next_cursor null at the end', async () => {
  const ws = await srv.createWorkspace('many keys', { max_active_keys: 100 });
  const ids = [];
  for (let i = 0; i < 25; i++) ids.push((await srv.createKey(ws.id, { name: `key ${i}` })).id);
  const seen = [];
  const sizes = [];
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const q = `/v1/api-keys?workspace_id=${ws.id}&limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await srv.get(q);
    assert.equal(r.status, 200, r.text);
    for (const k of r.json.data) {
      assertKeyObject(k);
      assert.ok(!('key' in k));
    }
    sizes.push(r.json.data.length);
    seen.push(...r.json.data);
    cursor = r.json.next_cursor;
    if (cursor === null) break;
    assert.equal(typeof cursor, 'string');
  }
  assert.equal(cursor, null);
  assert.deepEqual(sizes, [10, 10, 5]);
  const seenIds = seen.map((k) => k.id);
  assert.equal(new Set(seenIds).size, 25, 'no key twice');
  assert.deepEqual([...seenIds].sort(), [...ids].sort(), 'every key seen');
  for (let i = 1; i < seen.length; i++) assert.ok(Date.parse(seen[i - 1].created_at) >= Date.parse(seen[i].created_at), 'newest first');
  assert.equal(seenIds[0], ids[24], 'the newest key first');
  assert.equal(seenIds[24], ids[0], 'the oldest key last');

  // The default limit is 50: all 25 in one page.
  const all = await srv.get(`/v1/api-keys?workspace_id=${ws.id}`);
  assert.equal(all.json.data.length, 25);
  assert.equal(all.json.next_cursor, null);
  // With 55 keys the default page holds 50.
  for (let i = 25; i < 55; i++) ids.push((await srv.createKey(ws.id, { name: `key ${i}` })).id);
  const first = await srv.get(`/v1/api-keys?workspace_id=${ws.id}`);
  assert.equal(first.json.data.length, 50, 'default limit 50');
  assert.equal(typeof first.json.next_cursor, 'string');
  const rest = await srv.get(`/v1/api-keys?workspace_id=${ws.id}&cursor=${encodeURIComponent(first.json.next_cursor)}`);
  assert.equal(rest.json.data.length, 5);
  assert.equal(rest.json.next_cursor, null);
  const big = await srv.get(`/v1/api-keys?workspace_id=${ws.id}&limit=1000`);
  assert.equal(big.json.data.length, 55, 'limit 1000: no silent cap');

  assertError(await srv.get(`/v1/api-keys?workspace_id=${ws.id}&limit=0`), 400, 'invalid_request', 'limit=0');
  assertError(await srv.get(`/v1/api-keys?workspace_id=${ws.id}&limit=5000`), 400, 'invalid_request', 'limit=5000');
  assertError(await srv.get(`/v1/api-keys?cursor=bogus!cursor`), 400, 'invalid_request', 'bad cursor');
  assertError(await srv.get('/v1/audit-log?limit=0'), 400, 'invalid_request', 'audit limit=0');
  assertError(await srv.get('/v1/audit-log?limit=5000'), 400, 'invalid_request', 'audit limit=5000');
});

test('list filters: workspace_id, environment, status', async () => {
  const a = await srv.createWorkspace('filter a');
  const b = await srv.createWorkspace('filter b');
  const aLive = await srv.createKey(a.id, { name: 'a live' });
  const aTest = await srv.createKey(a.id, { name: 'a test', environment: 'test' });
  const aRevoked = await srv.createKey(a.id, { name: 'a revoked' });
  const aDisabled = await srv.createKey(a.id, { name: 'a disabled', environment: 'test' });
  const bLive = await srv.createKey(b.id, { name: 'b live' });
  await srv.del(`/v1/api-keys/${aRevoked.id}`);
  await srv.patch(`/v1/api-keys/${aDisabled.id}`, { enabled: false });

  const ids = async (q) => {
    const r = await srv.get(q);
    assert.equal(r.status, 200, `${q}: ${r.text}`);
    return r.json.data.map((k) => k.id).sort();
  };
  assert.deepEqual(await ids(`/v1/api-keys?workspace_id=${a.id}`), [aLive.id, aTest.id, aRevoked.id, aDisabled.id].sort());
  assert.deepEqual(await ids(`/v1/api-keys?workspace_id=${b.id}`), [bLive.id]);
  assert.deepEqual(await ids(`/v1/api-keys?workspace_id=${a.id}&environment=test`), [aTest.id, aDisabled.id].sort());
  assert.deepEqual(await ids(`/v1/api-keys?workspace_id=${a.id}&environment=live`), [aLive.id, aRevoked.id].sort());
  assert.deepEqual(await ids(`/v1/api-keys?workspace_id=${a.id}&status=active`), [aLive.id, aTest.id].sort());
  assert.deepEqual(await ids(`/v1/api-keys?workspace_id=${a.id}&status=revoked`), [aRevoked.id]);
  assert.deepEqual(await ids(`/v1/api-keys?workspace_id=${a.id}&status=disabled`), [aDisabled.id]);
  assert.deepEqual(await ids(`/v1/api-keys?workspace_id=${a.id}&environment=live&status=active`), [aLive.id]);
  const all = await ids('/v1/api-keys?limit=1000');
  for (const id of [aLive.id, aTest.id, aRevoked.id, aDisabled.id, bLive.id]) assert.ok(all.includes(id));
  assertError(await srv.get(`/v1/api-keys?status=sleeping`), 400, 'invalid_request', 'unknown status');
});

test('rotate: a new key with the old settings, both valid during the grace, then the old one expires', async () => {
  const ws = await srv.createWorkspace('rotation');
  const settings = {
    name: 'billing-service',
    scopes: ['orders:read', 'invoices:*'],
    ip_allowlist: ['203.0.113.0/24', '2001:db8::/32'],
    referrer_allowlist: ['*.example.com'],
    endpoint_allowlist: ['GET /v1/orders/**'],
    rate_limit: { limit: 1000, period_seconds: 60 },
    meta: { team: 'billing', cost_center: 42 },
  };
  const old = await srv.createKey(ws.id, settings);
  const t0 = Date.now();
  const r = await srv.post(`/v1/api-keys/${old.id}/rotate`, { grace_seconds: 2 });
  assert.equal(r.status, 201, r.text);
  assertNoStore(r, 'rotate');
  const fresh = r.json;
  assertKeyObject(fresh);
  assert.match(fresh.key, KEY_RE);
  assert.notEqual(fresh.key, old.key);
  assert.notEqual(fresh.id, old.id);
  assert.equal(fresh.rotated_from, old.id);
  assert.equal(fresh.status, 'active');
  assert.equal(fresh.workspace_id, ws.id);
  assert.equal(fresh.environment, 'live');
  for (const f of Object.keys(settings)) assert.deepEqual(fresh[f], old[f], `the new key keeps ${f}`);
  assert.ok(fresh.old_key && typeof fresh.old_key === 'object', 'old_key present');
  assert.equal(fresh.old_key.id, old.id);
  const oldExp = Date.parse(fresh.old_key.expires_at);
  assert.ok(oldExp >= t0 + 1000 && oldExp <= Date.now() + 3000, `old key expires after ~2 s: ${fresh.old_key.expires_at}`);
  assert.ok(!JSON.stringify(fresh.old_key).includes(old.key));

  const req = { ip: '203.0.113.9', referrer: 'https://shop.example.com/cart', method: 'GET', path: '/v1/orders/7', scopes: ['orders:read'] };
  assert.equal((await srv.verify({ key: old.key, ...req })).code, 'valid', 'old key valid during the grace');
  const nv = await srv.verify({ key: fresh.key, ...req });
  assert.equal(nv.code, 'valid', 'new key valid');
  assert.equal(nv.key_id, fresh.id);
  const oldGet = (await srv.get(`/v1/api-keys/${old.id}`)).json;
  assert.equal(Date.parse(oldGet.expires_at), oldExp, 'GET shows the old key expiring');

  const expired = await poll(async () => (await srv.verify({ key: old.key, ...req })).code === 'expired', { timeoutMs: 6000 });
  assert.ok(expired, 'the old key answers expired after the grace');
  assert.equal((await srv.verify({ key: fresh.key, ...req })).code, 'valid', 'the new key stays valid');
  assert.equal((await srv.get(`/v1/api-keys/${old.id}`)).json.status, 'expired');

  const audit = await srv.get(`/v1/audit-log?workspace_id=${ws.id}`);
  const rot = audit.json.data.find((e) => e.action === 'key.rotate');
  assert.ok(rot, 'key.rotate audited');
  assert.ok([old.id, fresh.id].includes(rot.target));
  assert.ok(!audit.text.includes(fresh.key) && !audit.text.includes(old.key));
});

test('rotate with the default grace of 0 expires the old key at once; new expires_at is honoured', async () => {
  const ws = await srv.createWorkspace('rotation 0');
  const old = await srv.createKey(ws.id, { name: 'quick' });
  const exp = isoIn(3600);
  const r = await srv.post(`/v1/api-keys/${old.id}/rotate`, { expires_at: exp });
  assert.equal(r.status, 201, r.text);
  assert.equal(Date.parse(r.json.expires_at), Date.parse(exp));
  assert.equal(r.json.name, 'quick');
  assert.equal((await srv.verify({ key: old.key })).code, 'expired');
  assert.equal((await srv.verify({ key: r.json.key })).code, 'valid');
  // A rotate with no body at all is also fine.
  const r2 = await srv.api('POST', `/v1/api-keys/${r.json.id}/rotate`);
  assert.equal(r2.status, 201, r2.text);
  assert.equal(r2.json.rotated_from, r.json.id);
});

test('rotate validation: grace out of range, unknown field, past expires_at answer 400 and change nothing', async () => {
  const ws = await srv.createWorkspace('rotation bad');
  const k = await srv.createKey(ws.id);
  const snap = await srv.snapshot();
  for (const [body, what] of [
    [{ grace_seconds: -1 }, 'negative grace'],
    [{ grace_seconds: 2592001 }, 'grace over 30 days'],
    [{ grace_seconds: 'soon' }, 'grace a string'],
    [{ grace: 10 }, 'unknown field'],
    [{ expires_at: '2000-01-01T00:00:00Z' }, 'past expires_at'],
  ]) {
    assertError(await srv.post(`/v1/api-keys/${k.id}/rotate`, body), 400, 'invalid_request', what);
  }
  assert.deepEqual(await srv.snapshot(), snap);
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
  const ok = await srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 2592000 });
  assert.equal(ok.status, 201, `grace 2592000 is allowed: ${ok.text}`);
});

test('audit log records key create, update, revoke, rotate with actor, ip, and never a secret', async () => {
  const ws = await srv.createWorkspace('audit keys');
  const k = await srv.createKey(ws.id, { name: 'audited key', meta: { a: 1 } });
  await srv.patch(`/v1/api-keys/${k.id}`, { name: 'renamed' });
  const rot = await srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 60 });
  assert.equal(rot.status, 201);
  await srv.del(`/v1/api-keys/${rot.json.id}`);
  const r = await srv.get(`/v1/audit-log?workspace_id=${ws.id}`);
  assert.equal(r.status, 200, r.text);
  assertNoStore(r, 'audit');
  const actions = r.json.data.map((e) => e.action);
  for (const a of ['workspace.create', 'key.create', 'key.update', 'key.rotate', 'key.revoke']) {
    assert.ok(actions.includes(a), `${a} in ${actions}`);
  }
  for (const e of r.json.data) {
    for (const f of ['id', 'at', 'actor', 'action', 'target', 'workspace_id', 'ip', 'details']) assert.ok(f in e, `audit entry has ${f}`);
    assert.match(e.actor, /^rk_/);
    assert.match(e.ip, /127\.0\.0\.1/);
    assert.equal(e.workspace_id, ws.id);
    assert.equal(typeof e.details, 'object');
  }
  const create = r.json.data.find((e) => e.action === 'key.create' && e.target === k.id);
  assert.ok(create, 'key.create targets the key');
  const upd = r.json.data.find((e) => e.action === 'key.update');
  assert.equal(upd.target, k.id);
  const rev = r.json.data.find((e) => e.action === 'key.revoke');
  assert.equal(rev.target, rot.json.id);
  assert.ok(!r.text.includes(k.key), 'no secret in the audit log');
  assert.ok(!r.text.includes(rot.json.key), 'no secret in the audit log');
  assert.ok(!r.text.includes(k.key.slice(-20)));

  // target filter
  const t = await srv.get(`/v1/audit-log?target=${k.id}`);
  assert.equal(t.status, 200);
  assert.ok(t.json.data.length >= 2);
  for (const e of t.json.data) assert.equal(e.target, k.id);
});

test('boundary values are accepted: 100 scopes, 64-character scope, 200-byte name, largest rate limit, meta near 8 KiB', async () => {
  const ws = await srv.createWorkspace('boundaries');
  const scopes = Array.from({ length: 99 }, (_, i) => `scope:${i}`);
  scopes.push('s'.repeat(64));
  const meta = { blob: 'm'.repeat(8000) };
  const k = await srv.createKey(ws.id, {
    name: 'n'.repeat(200),
    scopes,
    rate_limit: { limit: 1_000_000_000, period_seconds: 2678400 },
    meta,
  });
  assert.equal(k.scopes.length, 100);
  assert.equal(k.name.length, 200);
  assert.deepEqual(k.rate_limit, { limit: 1_000_000_000, period_seconds: 2678400 });
  assert.deepEqual(k.meta, meta);
  const small = await srv.createKey(ws.id, { rate_limit: { limit: 1, period_seconds: 1 } });
  assert.deepEqual(small.rate_limit, { limit: 1, period_seconds: 1 });
});

test('writes to unknown ids change nothing', async () => {
  const snap = await srv.snapshot();
  const id = 'key_doesnotexist11111111';
  await srv.patch(`/v1/api-keys/${id}`, { name: 'x' });
  await srv.del(`/v1/api-keys/${id}`);
  await srv.post(`/v1/api-keys/${id}/rotate`, { grace_seconds: 5 });
  await srv.patch('/v1/workspaces/ws_doesnotexist0000', { name: 'x' });
  assert.deepEqual(await srv.snapshot(), snap);
});

test('the limit holds under concurrent creates: exactly max_active_keys succeed', async () => {
  const ws = await srv.createWorkspace('race', { max_active_keys: 5 });
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `racer ${i}` })),
  );
  const created = answers.filter((r) => r.status === 201);
  const refused = answers.filter((r) => r.status === 409);
  assert.equal(created.length, 5, `201s: ${created.length}, statuses ${answers.map((r) => r.status)}`);
  assert.equal(refused.length, 15);
  for (const r of refused) assert.equal(r.json.error, 'key_limit_reached');
  const w = (await srv.get(`/v1/workspaces/${ws.id}`)).json;
  assert.equal(w.active_keys, 5);
  const listed = await srv.listAll(`/v1/api-keys?workspace_id=${ws.id}`);
  assert.equal(listed.length, 5);
  assert.equal(new Set(created.map((r) => r.json.key)).size, 5, 'five distinct secrets');
});

test('audit log pages: every entry once across pages', async () => {
  const ws = await srv.createWorkspace('audit pages');
  for (let i = 0; i < 4; i++) await srv.createKey(ws.id, { name: `audit ${i}` });
  const all = await srv.listAll(`/v1/audit-log?workspace_id=${ws.id}`);
  assert.equal(all.length, 5, 'workspace.create + 4 key.create');
  const paged = await srv.listAll(`/v1/audit-log?workspace_id=${ws.id}`, { limit: 2 });
  assert.deepEqual(paged.map((e) => e.id), all.map((e) => e.id));
  assert.equal(all[all.length - 1].action, 'workspace.create', 'oldest last');
  const r = await srv.get(`/v1/audit-log?workspace_id=${ws.id}&limit=2`);
  assert.equal(r.json.data.length, 2);
  assert.equal(typeof r.json.next_cursor, 'string');
  assertError(await srv.get('/v1/audit-log?cursor=evt_nonsense'), 400, 'invalid_request', 'bad audit cursor');
});

test('no secret handed out in this file appears in the audit log, lists or the server log', async () => {
  assert.ok(secrets.length >= 5, `secrets tracked: ${secrets.length}`);
  const audit = await srv.listAll('/v1/audit-log');
  assert.ok(audit.length > 0);
  const auditText = JSON.stringify(audit);
  assertNoSecretIn(auditText, [...secrets, srv.rootKey], 'the audit log');
  assertNoSecretIn(JSON.stringify(await srv.listAll('/v1/api-keys')), secrets, 'the key list');
  assertNoSecretIn(srv.allStdout + srv.allStderr, [...secrets, srv.rootKey], 'the server log');
});

test('rotation never extends the life of a key that expires sooner than the grace', async () => {
  const ws = await srv.createWorkspace('rotation expiry');
  const exp = isoIn(120);
  const k = await srv.createKey(ws.id, { expires_at: exp });
  const r = await srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 3600 });
  assert.equal(r.status, 201, r.text);
  assert.equal(Date.parse(r.json.old_key.expires_at), Date.parse(exp), 'the old key keeps its earlier expiry');
  assert.equal(Date.parse((await srv.get(`/v1/api-keys/${k.id}`)).json.expires_at), Date.parse(exp));
});

test('a key is rotated at most once: a second rotate answers 409 conflict naming the replacement', async () => {
  const ws = await srv.createWorkspace('rotate once');
  const old = await srv.createKey(ws.id, { name: 'once' });
  const first = await srv.post(`/v1/api-keys/${old.id}/rotate`, { grace_seconds: 600 });
  assert.equal(first.status, 201, first.text);
  const before = (await srv.get(`/v1/api-keys?workspace_id=${ws.id}`)).json.data.length;
  const second = await srv.post(`/v1/api-keys/${old.id}/rotate`, { grace_seconds: 600 });
  assertError(second, 409, 'conflict');
  assert.match(second.json.message, new RegExp(first.json.id));
  assert.equal((await srv.get(`/v1/api-keys?workspace_id=${ws.id}`)).json.data.length, before,
               'the refused rotation created no key');
  // One grace per slot: the replacement cannot be rotated while the key it
  // replaced still works; once that one is gone, it can.
  const early = await srv.post(`/v1/api-keys/${first.json.id}/rotate`, {});
  assertError(early, 409, 'conflict');
  assert.match(early.json.message, new RegExp(old.id));
  assert.equal((await srv.del(`/v1/api-keys/${old.id}`)).status, 200);
  const third = await srv.post(`/v1/api-keys/${first.json.id}/rotate`, {});
  assert.equal(third.status, 201, third.text);
});
