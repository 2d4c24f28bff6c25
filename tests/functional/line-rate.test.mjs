// Verification at line rate, seen from outside: revocation reaching a second
// process on the same database, usage counted without storage writes per
// request, the deployment's default rate limit and the per-IP limit on bad keys.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, assertError, fabricateKey, poll } from './lib/keyward.mjs';

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function start(options) {
  const srv = await startServer(options);
  servers.push(srv);
  return srv;
}
const bearer = (key) => ({ authorization: `Bearer ${key}` });

test('a revocation on one process reaches another on the same database within a second', async () => {
  const a = await start();
  const b = await start({ dataDir: a.dataDir, rootKey: false });
  b.rootKey = a.rootKey;
  const ws = await a.createWorkspace('two nodes');
  const key = await a.createKey(ws.id, { name: 'shared' });
  // Node b caches the key as valid.
  for (let i = 0; i < 3; i++) assert.equal((await b.auth(bearer(key.key))).status, 200);
  const del = await a.del(`/v1/api-keys/${key.id}`);
  assert.equal(del.status, 200, del.text);
  const revokedAt = Date.now();
  await poll(async () => (await b.auth(bearer(key.key))).status === 401, { timeoutMs: 3000, intervalMs: 20 });
  const took = Date.now() - revokedAt;
  assert.ok(took < 1000, `node b kept accepting the revoked key for ${took} ms`);
  const r = await b.auth(bearer(key.key));
  assertError(r, 401, 'revoked');
  // And a key created on b verifies on a.
  const fresh = await b.createKey(ws.id, { name: 'from b' });
  assert.equal((await a.auth(bearer(fresh.key))).status, 200);
});

test('usage: counted per key and code, queryable by workspace and key, last_used_at and request counts', async () => {
  const srv = await start();
  const ws = await srv.createWorkspace('usage');
  const k1 = await srv.createKey(ws.id, { name: 'one', rate_limit: { limit: 3, period_seconds: 3600 } });
  const k2 = await srv.createKey(ws.id, { name: 'two' });
  for (let i = 0; i < 5; i++) await srv.auth(bearer(k1.key)); // 3 valid, 2 rate_limited
  for (let i = 0; i < 2; i++) await srv.auth(bearer(k2.key));
  await srv.del(`/v1/api-keys/${k2.id}`);
  await srv.auth(bearer(k2.key)); // revoked: counted, not billable
  await poll(async () => {
    const list = await srv.get(`/v1/api-keys?workspace_id=${ws.id}`);
    const one = list.json.data.find((k) => k.id === k1.id);
    const two = list.json.data.find((k) => k.id === k2.id);
    const usage = await srv.get(`/v1/usage?workspace_id=${ws.id}&granularity=minute`);
    // Counters are written once a second: wait until every call above has landed.
    return one.requests_24h === 3 && one.last_used_at !== null && two.requests_24h === 2 && usage.json.total === 8;
  }, { timeoutMs: 5000 });
  const list = await srv.get(`/v1/api-keys?workspace_id=${ws.id}`);
  const two = list.json.data.find((k) => k.id === k2.id);
  assert.equal(two.requests_24h, 2);
  assert.equal(two.requests_30d, 2);
  const got = await srv.get(`/v1/api-keys/${k1.id}`);
  assert.equal(got.json.requests_24h, 3);

  const all = await srv.get(`/v1/usage?workspace_id=${ws.id}&granularity=minute`);
  assert.equal(all.status, 200, all.text);
  assert.equal(all.json.valid, 5);
  assert.equal(all.json.total, 8);
  assert.equal(all.json.retention_days, 90);
  const codes = {};
  for (const b of all.json.data) for (const [c, n] of Object.entries(b.by_code)) codes[c] = (codes[c] ?? 0) + n;
  assert.deepEqual(codes, { valid: 5, rate_limited: 2, revoked: 1 });

  // The revoked key's usage stays queryable on its own.
  const revoked = await srv.get(`/v1/usage?key_id=${k2.id}&granularity=day`);
  assert.equal(revoked.status, 200, revoked.text);
  assert.equal(revoked.json.valid, 2);
  assert.equal(revoked.json.total, 3);
  assert.equal(revoked.json.workspace_id, ws.id);
  assert.match(revoked.json.data[0].start, /T00:00:00Z$/);

  // Usage survives a restart (it was written in batches, and at the stop).
  await srv.auth(bearer(k1.key)); // rate limited: counted in memory only until the stop flush
  await srv.restart();
  const after = await srv.get(`/v1/usage?workspace_id=${ws.id}&granularity=hour`);
  assert.equal(after.json.total, 9);
});

test('usage: bad queries answer 400 or 404', async () => {
  const srv = await start();
  const ws = await srv.createWorkspace('usage errors');
  assertError(await srv.get('/v1/usage'), 400, 'invalid_request');
  assertError(await srv.get(`/v1/usage?workspace_id=${ws.id}&granularity=week`), 400, 'invalid_request');
  assertError(await srv.get(`/v1/usage?workspace_id=${ws.id}&from=yesterday`), 400, 'invalid_request');
  assertError(await srv.get(`/v1/usage?workspace_id=${ws.id}&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`),
              400, 'invalid_request');
  assertError(await srv.get(`/v1/usage?workspace_id=${ws.id}&granularity=minute&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z`),
              400, 'invalid_request');
  assertError(await srv.get('/v1/usage?workspace_id=ws_nope'), 404, 'not_found');
  assertError(await srv.get('/v1/usage?key_id=key_nope'), 404, 'not_found');
  assertError(await srv.get(`/v1/usage?workspace_id=${ws.id}&bogus=1`), 400, 'invalid_request');
});

test('the deployment default rate limit applies to keys without their own', async () => {
  const srv = await start({ config: { limits: { rate_limit: 2, rate_period_seconds: 60 } } });
  const ws = await srv.createWorkspace('default limit');
  const plain = await srv.createKey(ws.id, { name: 'plain' });
  const own = await srv.createKey(ws.id, { name: 'own', rate_limit: { limit: 5, period_seconds: 60 } });
  const first = await srv.auth(bearer(plain.key));
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('ratelimit-limit'), '2');
  assert.equal((await srv.auth(bearer(plain.key))).status, 200);
  const third = await srv.auth(bearer(plain.key));
  assertError(third, 429, 'rate_limited');
  assert.ok(Number(third.headers.get('retry-after')) >= 1);
  for (let i = 0; i < 5; i++) assert.equal((await srv.auth(bearer(own.key))).status, 200, `own limit, call ${i}`);
  assertError(await srv.auth(bearer(own.key)), 429, 'rate_limited');
  const v = await srv.verify({ key: plain.key });
  assert.equal(v.code, 'rate_limited');
  assert.deepEqual(Object.keys(v.ratelimit).sort(), ['limit', 'remaining', 'reset']);
});

test('an address sending many bad keys is answered 429 before its keys are looked at', async () => {
  const srv = await start({ config: { limits: { failed_verifications_per_ip: 5 } } });
  const ws = await srv.createWorkspace('bad keys');
  const good = await srv.createKey(ws.id, { name: 'good' });
  const attacker = { 'x-real-ip': '203.0.113.9' };
  for (let i = 0; i < 5; i++) {
    const r = await srv.auth({ ...attacker, ...bearer(fabricateKey('kw', 'live')) });
    assertError(r, 401, 'invalid');
  }
  // Now even a good key from that address is refused, with a Retry-After.
  const blocked = await srv.auth({ ...attacker, ...bearer(good.key) });
  assertError(blocked, 429, 'rate_limited');
  assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
  // Other addresses are unaffected.
  assert.equal((await srv.auth({ 'x-real-ip': '198.51.100.7', ...bearer(good.key) })).status, 200);
  // Malformed keys count too.
  const other = { 'x-real-ip': '203.0.113.10' };
  for (let i = 0; i < 5; i++) assertError(await srv.auth({ ...other, ...bearer('kw_live_nope') }), 401, 'malformed');
  assertError(await srv.auth({ ...other, ...bearer(good.key) }), 429, 'rate_limited');
});

test('cache and verification counters appear in /metrics', async () => {
  const srv = await start();
  const ws = await srv.createWorkspace('metrics');
  const k = await srv.createKey(ws.id);
  for (let i = 0; i < 10; i++) await srv.auth(bearer(k.key));
  const m = await srv.get('/metrics');
  assert.match(m.text, /keyward_verifications_total\{code="valid"\} 10/);
  assert.match(m.text, /keyward_key_cache_hits_total \d+/);
  assert.match(m.text, /keyward_key_cache_entries \d+/);
  const hits = Number(m.text.match(/keyward_key_cache_hits_total (\d+)/)[1]);
  // The first lookup misses; the key's own creation, read back from the
  // change log (at once on PostgreSQL, through NOTIFY), may drop it once more.
  assert.ok(hits >= 8, `expected cache hits, got ${hits}`);
});
