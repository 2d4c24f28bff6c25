// Self-service: an API key with the scope keys:manage manages the keys of
// its own workspace and environment, and nothing else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, assertError, assertKeyObject, isoIn, poll, trackSecrets, assertNoSecretIn } from './lib/keyward.mjs';

let srv;
let secrets = [];
let wsA;
let wsB;
let manager; // keys:manage in A/live
let aLive;
let aTest;
let bLive;
before(async () => {
  srv = await startServer();
  secrets = trackSecrets(srv);
  wsA = await srv.createWorkspace('workspace A', { max_active_keys: 50 });
  wsB = await srv.createWorkspace('workspace B');
  manager = await srv.createKey(wsA.id, { name: 'manager', scopes: ['keys:manage', 'orders:read', 'orders:write'] });
  aLive = await srv.createKey(wsA.id, { name: 'a live' });
  aTest = await srv.createKey(wsA.id, { name: 'a test', environment: 'test' });
  bLive = await srv.createKey(wsB.id, { name: 'b live' });
});
after(async () => {
  await srv?.close();
});

const as = (key) => ({ token: key.key });

test('GET /v1/api-keys lists only the own workspace and environment', async () => {
  const r = await srv.get('/v1/api-keys', as(manager));
  assert.equal(r.status, 200, r.text);
  const ids = r.json.data.map((k) => k.id);
  assert.ok(ids.includes(manager.id), 'its own key');
  assert.ok(ids.includes(aLive.id), 'a key of its workspace and environment');
  assert.ok(!ids.includes(aTest.id), 'not a key of the other environment');
  assert.ok(!ids.includes(bLive.id), 'not a key of another workspace');
  for (const k of r.json.data) {
    assertKeyObject(k);
    assert.equal(k.workspace_id, wsA.id);
    assert.equal(k.environment, 'live');
  }
  assert.ok(!r.text.includes(manager.key) && !r.text.includes(aLive.key), 'no secrets');
  // Asking for another workspace or environment does not widen the view.
  for (const q of [`?workspace_id=${wsB.id}`, '?environment=test']) {
    const x = await srv.get(`/v1/api-keys${q}`, as(manager));
    if (x.status === 200) {
      const xs = x.json.data.map((k) => k.id);
      assert.ok(!xs.includes(bLive.id) && !xs.includes(aTest.id), `${q}: ${x.text}`);
    } else {
      assert.ok([403, 404].includes(x.status), `${q}: ${x.status} ${x.text}`);
    }
  }
});

test('GET /v1/api-keys/{id}: own key 200; another workspace or environment 404', async () => {
  const r = await srv.get(`/v1/api-keys/${aLive.id}`, as(manager));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.id, aLive.id);
  assertError(await srv.get(`/v1/api-keys/${bLive.id}`, as(manager)), 404, 'not_found', 'other workspace');
  assertError(await srv.get(`/v1/api-keys/${aTest.id}`, as(manager)), 404, 'not_found', 'other environment');
});

test('PATCH, DELETE, rotate of another workspace key answer 404 and change nothing', async () => {
  const before = (await srv.get(`/v1/api-keys/${bLive.id}`)).json;
  assertError(await srv.patch(`/v1/api-keys/${bLive.id}`, { name: 'hijacked' }, as(manager)), 404, 'not_found', 'PATCH');
  assertError(await srv.del(`/v1/api-keys/${bLive.id}`, as(manager)), 404, 'not_found', 'DELETE');
  assertError(await srv.post(`/v1/api-keys/${bLive.id}/rotate`, {}, as(manager)), 404, 'not_found', 'rotate');
  assertError(await srv.del(`/v1/api-keys/${aTest.id}`, as(manager)), 404, 'not_found', 'DELETE other environment');
  assert.deepEqual((await srv.get(`/v1/api-keys/${bLive.id}`)).json, before);
  assert.equal((await srv.verify({ key: bLive.key })).code, 'valid');
  assert.equal((await srv.verify({ key: aTest.key })).code, 'valid');
});

test('create in its own workspace and environment, with scopes it holds', async () => {
  const r = await srv.post('/v1/api-keys', { workspace_id: wsA.id, environment: 'live', name: 'made by manager', scopes: ['orders:read'] }, as(manager));
  assert.equal(r.status, 201, r.text);
  assertKeyObject(r.json);
  assert.match(r.json.key, /^kw_live_/);
  assert.equal(r.json.created_by, manager.id, 'created_by is the managing key');
  assert.equal((await srv.verify({ key: r.json.key })).code, 'valid');
  const audit = await srv.get(`/v1/audit-log?target=${r.json.id}`);
  const entry = audit.json.data.find((e) => e.action === 'key.create');
  assert.ok(entry, audit.text);
  assert.equal(entry.actor, manager.id, 'the audit actor is the managing key');
  assert.ok(!audit.text.includes(r.json.key) && !audit.text.includes(manager.key));
});

test('scopes beyond its own answer 403 insufficient_scope and create nothing', async () => {
  const snap = await srv.snapshot();
  for (const scopes of [['admin'], ['orders:*'], ['*'], ['orders:read', 'billing:read']]) {
    const r = await srv.post('/v1/api-keys', { workspace_id: wsA.id, environment: 'live', name: 'too much', scopes }, as(manager));
    assertError(r, 403, 'insufficient_scope', `create with ${scopes}`);
  }
  assertError(await srv.patch(`/v1/api-keys/${aLive.id}`, { scopes: ['billing:admin'] }, as(manager)), 403, 'insufficient_scope', 'PATCH scopes');
  assert.deepEqual(await srv.snapshot(), snap);
  // Scopes it holds are fine on PATCH.
  const ok = await srv.patch(`/v1/api-keys/${aLive.id}`, { scopes: ['orders:write'] }, as(manager));
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.scopes, ['orders:write']);
});

test('create in another workspace or environment is refused', async () => {
  const snap = await srv.snapshot();
  for (const body of [
    { workspace_id: wsB.id, environment: 'live', name: 'sneaky' },
    { workspace_id: wsA.id, environment: 'test', name: 'sneaky' },
  ]) {
    const r = await srv.post('/v1/api-keys', body, as(manager));
    assert.ok([403, 404].includes(r.status), `${JSON.stringify(body)}: ${r.status} ${r.text}`);
  }
  assert.deepEqual(await srv.snapshot(), snap, 'nothing created');
});

test('rotate and revoke within its own workspace', async () => {
  const k = await srv.createKey(wsA.id, { name: 'to rotate', scopes: ['orders:read'] });
  const rot = await srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 30 }, as(manager));
  assert.equal(rot.status, 201, rot.text);
  assert.equal(rot.json.rotated_from, k.id);
  const del = await srv.del(`/v1/api-keys/${rot.json.id}`, as(manager));
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.status, 'revoked');
  assert.equal((await srv.verify({ key: rot.json.key })).code, 'revoked');
});

test('workspace, audit-log and verify routes answer 403 insufficient_scope', async () => {
  const snap = await srv.snapshot();
  const calls = [
    ['GET', '/v1/workspaces'],
    ['POST', '/v1/workspaces', { name: 'not allowed' }],
    ['GET', `/v1/workspaces/${wsA.id}`],
    ['PATCH', `/v1/workspaces/${wsA.id}`, { max_active_keys: 1000 }],
    ['GET', '/v1/audit-log'],
    ['GET', `/v1/audit-log?workspace_id=${wsA.id}`],
    ['POST', '/v1/keys/verify', { key: aLive.key }],
  ];
  for (const [method, p, body] of calls) {
    assertError(await srv.api(method, p, { body, token: manager.key }), 403, 'insufficient_scope', `${method} ${p}`);
  }
  assert.deepEqual(await srv.snapshot(), snap);
});

test('a key without keys:manage cannot manage keys', async () => {
  const plain = await srv.createKey(wsA.id, { name: 'plain', scopes: ['orders:read'] });
  const snap = await srv.snapshot();
  for (const [method, p, body] of [
    ['GET', '/v1/api-keys'],
    ['GET', `/v1/api-keys/${aLive.id}`],
    ['POST', '/v1/api-keys', { workspace_id: wsA.id, environment: 'live', name: 'x' }],
    ['DELETE', `/v1/api-keys/${aLive.id}`],
    ['GET', '/v1/workspaces'],
  ]) {
    const r = await srv.api(method, p, { body, token: plain.key });
    assertError(r, 403, 'insufficient_scope', `plain key ${method} ${p}`);
  }
  assert.deepEqual(await srv.snapshot(), snap);
});

test('a managing key that does not itself verify answers 401', async () => {
  const revoked = await srv.createKey(wsA.id, { name: 'revoked manager', scopes: ['keys:manage'] });
  await srv.del(`/v1/api-keys/${revoked.id}`);
  const disabled = await srv.createKey(wsA.id, { name: 'disabled manager', scopes: ['keys:manage'] });
  await srv.patch(`/v1/api-keys/${disabled.id}`, { enabled: false });
  const fenced = await srv.createKey(wsA.id, { name: 'fenced manager', scopes: ['keys:manage'], ip_allowlist: ['203.0.113.0/24'] });
  const local = await srv.createKey(wsA.id, { name: 'local manager', scopes: ['keys:manage'], ip_allowlist: ['127.0.0.1'] });
  for (const [k, what] of [
    [revoked, 'revoked'],
    [disabled, 'disabled'],
    [fenced, 'outside its IP allow-list'],
  ]) {
    const r = await srv.get('/v1/api-keys', { token: k.key });
    assertError(r, 401, 'unauthorized', what);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
  }
  assert.equal((await srv.get('/v1/api-keys', { token: local.key })).status, 200, 'inside its IP allow-list');
});

test('rotating a key with scopes beyond its own is refused (no escalation through rotate)', async () => {
  const powerful = await srv.createKey(wsA.id, { name: 'powerful', scopes: ['admin:all'] });
  const snap = await srv.snapshot();
  const r = await srv.post(`/v1/api-keys/${powerful.id}/rotate`, { grace_seconds: 60 }, as(manager));
  assert.ok(!(r.json && typeof r.json.key === 'string'), `the manager got the secret of a key with scopes it does not hold: ${r.status}`);
  assertError(r, 403, 'insufficient_scope', 'rotate of a more powerful key');
  assertError(await srv.patch(`/v1/api-keys/${powerful.id}`, { name: 'mine now' }, as(manager)), 403, 'insufficient_scope', 'PATCH of a more powerful key');
  assertError(await srv.patch(`/v1/api-keys/${powerful.id}`, { ip_allowlist: [] }, as(manager)), 403, 'insufficient_scope', 'PATCH restrictions of a more powerful key');
  assert.deepEqual(await srv.snapshot(), snap);
  // Revoking it is allowed.
  const del = await srv.del(`/v1/api-keys/${powerful.id}`, as(manager));
  assert.equal(del.status, 200, del.text);
  assert.equal((await srv.verify({ key: powerful.key })).code, 'revoked');
});

test('a managing key within its referrer restriction may call; outside it answers 401', async () => {
  const m = await srv.createKey(wsA.id, { name: 'referrer manager', scopes: ['keys:manage'], referrer_allowlist: ['dashboard.example.com'] });
  const outside = await srv.get('/v1/api-keys', { token: m.key, headers: { referer: 'https://evil.example.org/' } });
  assertError(outside, 401, 'unauthorized', 'other referrer');
  assertError(await srv.get('/v1/api-keys', { token: m.key }), 401, 'unauthorized', 'no referrer');
  const inside = await srv.get('/v1/api-keys', { token: m.key, headers: { referer: 'https://dashboard.example.com/settings/api-keys' } });
  assert.equal(inside.status, 200, `with an allowed Referer: ${inside.status} ${inside.text}`);
});

test('an expired managing key answers 401', async () => {
  const m = await srv.createKey(wsA.id, { name: 'short-lived manager', scopes: ['keys:manage'], expires_at: isoIn(2) });
  assert.equal((await srv.get('/v1/api-keys', { token: m.key })).status, 200);
  const r = await poll(async () => {
    const x = await srv.get('/v1/api-keys', { token: m.key });
    return x.status !== 200 ? x : null;
  }, { timeoutMs: 6000 });
  assert.ok(r, 'refused after expiry');
  assertError(r, 401, 'unauthorized', 'expired manager');
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
