// Workspaces: create, read, list, patch, validation, pagination, audit, the
// rotation policy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  assertError,
  assertNoStore,
  assertWorkspace,
  assertKeyObject,
  fabricateKey,
  RFC3339_UTC,
} from './lib/keyward.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.close();
});

test('POST /v1/workspaces creates a workspace with the deployment default limit', async () => {
  const before = Date.now();
  const r = await srv.post('/v1/workspaces', { name: 'Acme Corp' });
  assert.equal(r.status, 201, r.text);
  assertNoStore(r, 'POST /v1/workspaces');
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  const ws = r.json;
  assertWorkspace(ws);
  assert.equal(ws.name, 'Acme Corp');
  assert.equal(ws.max_active_keys, 20, 'the default limit is 20');
  assert.equal(ws.max_active_keys_override, null);
  assert.equal(ws.active_keys, 0);
  const created = Date.parse(ws.created_at);
  assert.ok(created >= before - 2000 && created <= Date.now() + 2000, `created_at ${ws.created_at} is now`);
});

test('POST /v1/workspaces with max_active_keys sets the override', async () => {
  const ws = await srv.createWorkspace('amser merchant', { max_active_keys: 5 });
  assertWorkspace(ws);
  assert.equal(ws.max_active_keys, 5);
  assert.equal(ws.max_active_keys_override, 5);
});

test('GET /v1/workspaces/{id} returns the workspace', async () => {
  const ws = await srv.createWorkspace('readable', { max_active_keys: 7 });
  const r = await srv.get(`/v1/workspaces/${ws.id}`);
  assert.equal(r.status, 200, r.text);
  assertNoStore(r, 'GET workspace');
  assertWorkspace(r.json);
  assert.deepEqual(r.json, ws);
});

test('GET /v1/workspaces/{id} of an unknown id answers 404 not_found', async () => {
  assertError(await srv.get('/v1/workspaces/ws_doesnotexist0000'), 404, 'not_found', 'unknown ws');
  assertError(await srv.get('/v1/workspaces/nonsense'), 404, 'not_found', 'non-ws id');
  assertError(await srv.patch('/v1/workspaces/ws_doesnotexist0000', { name: 'x' }), 404, 'not_found', 'PATCH unknown ws');
});

test('PATCH /v1/workspaces/{id} renames, sets and clears the limit', async () => {
  const ws = await srv.createWorkspace('old name');
  let r = await srv.patch(`/v1/workspaces/${ws.id}`, { name: 'new name' });
  assert.equal(r.status, 200, r.text);
  assertNoStore(r, 'PATCH workspace');
  assertWorkspace(r.json);
  assert.equal(r.json.id, ws.id);
  assert.equal(r.json.name, 'new name');
  assert.equal(r.json.max_active_keys, 20);
  assert.equal(r.json.created_at, ws.created_at);

  r = await srv.patch(`/v1/workspaces/${ws.id}`, { max_active_keys: 3 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, 'new name', 'an absent field stays as it is');
  assert.equal(r.json.max_active_keys, 3);
  assert.equal(r.json.max_active_keys_override, 3);

  r = await srv.patch(`/v1/workspaces/${ws.id}`, { max_active_keys: null });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.max_active_keys, 20, 'null goes back to the deployment default');
  assert.equal(r.json.max_active_keys_override, null);

  r = await srv.get(`/v1/workspaces/${ws.id}`);
  assert.equal(r.json.name, 'new name');
  assert.equal(r.json.max_active_keys_override, null);
});

test('workspace active_keys counts keys that occupy a slot', async () => {
  const ws = await srv.createWorkspace('counting');
  const k1 = await srv.createKey(ws.id);
  await srv.createKey(ws.id, { environment: 'test' });
  let r = await srv.get(`/v1/workspaces/${ws.id}`);
  assert.equal(r.json.active_keys, 2);
  assert.equal((await srv.del(`/v1/api-keys/${k1.id}`)).status, 200);
  r = await srv.get(`/v1/workspaces/${ws.id}`);
  assert.equal(r.json.active_keys, 1, 'a revoked key frees its slot');
});

test('GET /v1/workspaces lists newest first and pages with cursors', async () => {
  const made = [];
  for (let i = 0; i < 7; i++) made.push((await srv.createWorkspace(`page-${i}`)).id);
  const r = await srv.get('/v1/workspaces');
  assert.equal(r.status, 200, r.text);
  assertNoStore(r, 'GET /v1/workspaces');
  assert.ok(Array.isArray(r.json.data));
  assert.ok('next_cursor' in r.json);
  for (const ws of r.json.data) assertWorkspace(ws);
  const ids = r.json.data.map((w) => w.id);
  for (const id of made) assert.ok(ids.includes(id), `${id} listed`);
  for (let i = 1; i < r.json.data.length; i++) {
    assert.ok(Date.parse(r.json.data[i - 1].created_at) >= Date.parse(r.json.data[i].created_at), 'newest first');
  }
  // The newest workspace comes first.
  assert.equal(ids[0], made[made.length - 1]);

  // Page through with limit 2: each workspace exactly once.
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const q = `/v1/workspaces?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const p = await srv.get(q);
    assert.equal(p.status, 200, p.text);
    assert.ok(p.json.data.length <= 2, 'never more than limit');
    if (p.json.next_cursor !== null) {
      assert.equal(p.json.data.length, 2, 'a page before the last is full');
      assert.equal(typeof p.json.next_cursor, 'string');
    }
    seen.push(...p.json.data.map((w) => w.id));
    cursor = p.json.next_cursor;
    pages++;
  } while (cursor !== null && pages < 100);
  assert.equal(cursor, null, 'the last page has next_cursor null');
  assert.deepEqual(seen, ids, 'paging sees every workspace once, in order');
  assert.equal(new Set(seen).size, seen.length);
});

test('list limits: 0 and 5000 answer 400, 1 and 1000 are fine; a bad cursor answers 400', async () => {
  await srv.createWorkspace('limits');
  assertError(await srv.get('/v1/workspaces?limit=0'), 400, 'invalid_request', 'limit=0');
  assertError(await srv.get('/v1/workspaces?limit=5000'), 400, 'invalid_request', 'limit=5000');
  assertError(await srv.get('/v1/workspaces?limit=1001'), 400, 'invalid_request', 'limit=1001');
  assertError(await srv.get('/v1/workspaces?limit=-1'), 400, 'invalid_request', 'limit=-1');
  assertError(await srv.get('/v1/workspaces?limit=ten'), 400, 'invalid_request', 'limit=ten');
  let r = await srv.get('/v1/workspaces?limit=1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.length, 1);
  assert.equal(typeof r.json.next_cursor, 'string', 'more workspaces than 1: a cursor');
  r = await srv.get('/v1/workspaces?limit=1000');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.next_cursor, null);
  assertError(await srv.get('/v1/workspaces?cursor=%25%25not-a-cursor%25%25'), 400, 'invalid_request', 'bad cursor');
});

test('invalid workspace bodies answer 400 and change nothing', async () => {
  const ws = await srv.createWorkspace('untouched', { max_active_keys: 4 });
  const snap = await srv.snapshot();
  const bad = [
    [{}, 'missing name'],
    [{ name: '' }, 'empty name'],
    [{ name: 'x'.repeat(201) }, 'name over 200 bytes'],
    [{ name: 'bad\u0001name' }, 'control character'],
    [{ name: 'line\nbreak' }, 'newline'],
    [{ name: 42 }, 'name of the wrong type'],
    [{ name: 'ok', max_active_keys: 0 }, 'max_active_keys 0'],
    [{ name: 'ok', max_active_keys: -5 }, 'negative max_active_keys'],
    [{ name: 'ok', max_active_keys: '5' }, 'max_active_keys as a string'],
    [{ name: 'ok', max_active_keys: 2.5 }, 'fractional max_active_keys'],
    [{ name: 'ok', nmae: 'typo' }, 'unknown field'],
  ];
  for (const [body, what] of bad) {
    assertError(await srv.post('/v1/workspaces', body), 400, 'invalid_request', `POST ${what}`);
  }
  assertError(
    await srv.api('POST', '/v1/workspaces', { raw: '{"name": "x",', headers: { 'content-type': 'application/json' } }),
    400,
    'invalid_json',
    'truncated JSON',
  );
  const badPatch = [
    [{ name: '' }, 'empty name'],
    [{ name: null }, 'null name'],
    [{ max_active_keys: 0 }, 'limit 0'],
    [{ max_active_keys: 'many' }, 'limit string'],
    [{ colour: 'red' }, 'unknown field'],
  ];
  for (const [body, what] of badPatch) {
    assertError(await srv.patch(`/v1/workspaces/${ws.id}`, body), 400, 'invalid_request', `PATCH ${what}`);
  }
  assert.deepEqual(await srv.snapshot(), snap, 'failed writes changed nothing');
  const r = await srv.get(`/v1/workspaces/${ws.id}`);
  assert.equal(r.json.name, 'untouched');
  assert.equal(r.json.max_active_keys, 4);
});

test('name limits: 200 bytes and UTF-8 are accepted', async () => {
  const ws = await srv.createWorkspace('x'.repeat(200));
  assert.equal(ws.name.length, 200);
  const utf = await srv.createWorkspace('Ümlaut & 日本');
  assert.equal(utf.name, 'Ümlaut & 日本');
  // 67 three-byte characters = 201 bytes: over the limit.
  assertError(await srv.post('/v1/workspaces', { name: '日'.repeat(67) }), 400, 'invalid_request', '201 bytes');
});

test('workspace create and update are audited with actor and ip', async () => {
  const ws = await srv.createWorkspace('audited');
  await srv.patch(`/v1/workspaces/${ws.id}`, { name: 'audited 2', max_active_keys: 9 });
  const r = await srv.get(`/v1/audit-log?workspace_id=${ws.id}`);
  assert.equal(r.status, 200, r.text);
  const entries = r.json.data;
  const create = entries.find((e) => e.action === 'workspace.create' && e.target === ws.id);
  const update = entries.find((e) => e.action === 'workspace.update' && e.target === ws.id);
  assert.ok(create, `workspace.create in ${r.text}`);
  assert.ok(update, `workspace.update in ${r.text}`);
  for (const e of [create, update]) {
    assert.match(e.id, /^evt_/);
    assert.match(e.at, RFC3339_UTC);
    assert.match(e.actor, /^rk_/, 'the actor is the root key id');
    assert.match(e.ip, /127\.0\.0\.1/);
    assert.equal(e.workspace_id, ws.id);
  }
  // Newest first.
  assert.ok(entries.indexOf(update) < entries.indexOf(create));
});

test('rotation policy: [keys] rotate_after_days marks old keys rotation_due, a workspace override wins, and max_key_lifetime_days caps new keys', async (t) => {
  const DAY = 86_400_000;
  const pol = await startServer({ config: { keys: { rotate_after_days: 90, max_key_lifetime_days: 365 } } });
  t.after(() => pol.close());
  // Without the configuration there is no policy.
  const plainWs = await srv.createWorkspace('no policy');
  assert.equal(plainWs.rotate_after_days, null);
  assert.equal(plainWs.rotate_after_days_override, null);

  const deflt = await pol.createWorkspace('deployment policy');
  assertWorkspace(deflt);
  assert.equal(deflt.rotate_after_days, 90, "the deployment's");
  assert.equal(deflt.rotate_after_days_override, null);
  const strict = await pol.createWorkspace('strict', { rotate_after_days: 30 });
  assert.equal(strict.rotate_after_days, 30);
  assert.equal(strict.rotate_after_days_override, 30);

  // Keys made elsewhere, adopted with their age (and no expiry: imports are not capped).
  const daysAgo = (n) => new Date(Date.now() - n * DAY).toISOString().replace(/\.\d+Z$/, 'Z');
  const secrets = { old: fabricateKey(), mid: fabricateKey(), strictMid: fabricateKey() };
  const r = await pol.post('/v1/api-keys/import', {
    keys: [
      { workspace_id: deflt.id, environment: 'live', key: secrets.old, name: 'old', created_at: daysAgo(100) },
      { workspace_id: deflt.id, environment: 'live', key: secrets.mid, name: 'mid', created_at: daysAgo(40) },
      { workspace_id: strict.id, environment: 'live', key: secrets.strictMid, name: 'strict mid', created_at: daysAgo(40) },
    ],
  });
  assert.equal(r.status, 200, r.text);
  const [old, mid, strictMid] = r.json.results.map((row) => {
    assert.equal(row.status, 'imported', JSON.stringify(row));
    return row.id;
  });
  assert.equal((await pol.get(`/v1/api-keys/${old}`)).json.expires_at, null, 'an import keeps no expiry');
  const fresh = await pol.createKey(deflt.id);
  assertKeyObject(fresh);
  assert.equal(fresh.rotation_due, false, 'a new key is not due');

  const due = async (query = '') => (await pol.listAll(`/v1/api-keys?rotation_due=true${query}`)).map((k) => k.id).sort();
  const dueOf = async (id) => (await pol.get(`/v1/api-keys/${id}`)).json.rotation_due;
  assert.deepEqual(await due(), [old, strictMid].sort());
  assert.deepEqual(await due(`&workspace_id=${deflt.id}`), [old]);
  assert.equal(await dueOf(old), true);
  assert.equal(await dueOf(mid), false);
  for (const k of await pol.listAll(`/v1/api-keys?workspace_id=${deflt.id}`)) {
    assertKeyObject(k);
    assert.equal(k.rotation_due, k.id === old, `${k.name} in the list`);
  }
  // Advice, not expiry: a due key verifies.
  assert.equal((await pol.verify({ key: secrets.old })).code, 'valid');
  assertError(await pol.get('/v1/api-keys?rotation_due=false'), 400, 'invalid_request', 'rotation_due=false');

  // The override: null falls back to the deployment's, a longer one wins too.
  let p = await pol.patch(`/v1/workspaces/${strict.id}`, { rotate_after_days: null });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.rotate_after_days, 90);
  assert.equal(p.json.rotate_after_days_override, null);
  assert.equal(await dueOf(strictMid), false);
  p = await pol.patch(`/v1/workspaces/${deflt.id}`, { rotate_after_days: 3650 });
  assert.equal(p.status, 200, p.text);
  assert.equal(await dueOf(old), false);
  assert.deepEqual(await due(), []);
  for (const bad of [0, 3651, '30', 1.5]) {
    assertError(await pol.patch(`/v1/workspaces/${deflt.id}`, { rotate_after_days: bad }), 400, 'invalid_request', `rotate_after_days ${bad}`);
  }
  p = await pol.patch(`/v1/workspaces/${deflt.id}`, { rotate_after_days: 20 });
  assert.deepEqual(await due(), [old, mid].sort());

  // Workspace settings are the operator's: a managing key cannot touch them.
  const manager = await pol.createKey(deflt.id, { scopes: ['keys:manage', 'orders:read'] });
  for (const body of [{ rotate_after_days: 3650 }, { rotate_after_days: null }]) {
    const m = await pol.patch(`/v1/workspaces/${deflt.id}`, body, { token: manager.key });
    assert.equal(m.status, 403, `a managing key patching ${JSON.stringify(body)}: ${m.text}`);
  }
  const m = await pol.post('/v1/workspaces', { name: 'mine', rotate_after_days: 1 }, { token: manager.key });
  assert.equal(m.status, 403, m.text);
  assert.equal((await pol.get(`/v1/workspaces/${deflt.id}`)).json.rotate_after_days_override, 20);

  // max_key_lifetime_days: a new key without expires_at gets now + 365 days.
  const within = (iso, ms) => Math.abs(Date.parse(iso) - (Date.now() + ms)) < 60_000;
  assert.ok(within(fresh.expires_at, 365 * DAY), `expires_at ${fresh.expires_at} is a year away`);
  assert.ok(within(manager.expires_at, 365 * DAY));
  const far = new Date(Date.now() + 400 * DAY).toISOString();
  const refused = await pol.post('/v1/api-keys', { workspace_id: deflt.id, environment: 'live', name: 'long', expires_at: far });
  assertError(refused, 400, 'invalid_request', 'a create past the limit');
  assert.match(refused.json.message, /max_key_lifetime_days/);
  assert.match(refused.json.message, /no later than \d{4}-\d\d-\d\dT/);
  assertError(await pol.post(`/v1/api-keys/${mid}/rotate`, { expires_at: far }), 400, 'invalid_request', 'a rotation past the limit');
  assertError(await pol.patch(`/v1/api-keys/${fresh.id}`, { expires_at: null }), 400, 'invalid_request', 'an update to no expiry');
  assertError(await pol.patch(`/v1/api-keys/${fresh.id}`, { expires_at: far }), 400, 'invalid_request', 'an update past the limit');
  // Nor does a managing key get past it by rotating an uncapped key.
  const rot = await pol.post(`/v1/api-keys/${mid}/rotate`, { expires_at: far }, { token: manager.key });
  assertError(rot, 400, 'invalid_request', 'a managing key rotating past the limit');
  const soon = new Date(Date.now() + 100 * DAY).toISOString().replace(/\.\d+Z$/, 'Z');
  const rotated = await pol.post(`/v1/api-keys/${mid}/rotate`, { expires_at: soon }, { token: manager.key });
  assert.equal(rotated.status, 201, rotated.text);
  assert.equal(rotated.json.expires_at, soon);
  // The replacement of a key without expiry, made by a root key, gets the limit.
  const rootRotated = await pol.post(`/v1/api-keys/${old}/rotate`, {});
  assert.equal(rootRotated.status, 201, rootRotated.text);
  assert.ok(within(rootRotated.json.expires_at, 365 * DAY), `the replacement expires ${rootRotated.json.expires_at}`);
  assert.equal(rotated.json.rotation_due, false, 'the replacement counts from its own creation');
  assert.equal((await pol.get(`/v1/api-keys/${fresh.id}`)).json.expires_at, fresh.expires_at, 'refusals changed nothing');
});
