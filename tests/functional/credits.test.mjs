// Plans and credits on the real binary over HTTP: the operator's 10,000-
// credit plan refusing request 10,001 with 429 quota_exceeded while 64
// connections race for the last credits; the month exported per key (over
// HTTP and with `keyward usage export`) matching GET /v1/usage; a SIGKILL
// giving back at most one flush interval's credits; plans from the
// configuration; and, on PostgreSQL, two nodes never spending past the
// allowance together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, runCli, makeTempDir, poll, sleep, ENGINE } from './lib/keyward.mjs';

const PLANS = `
[plans]
default = "ten_k"

[plans.ten_k]
name = "10k"
monthly_credits = 10000
max_active_keys = 10

[plans.search]
name = "Search"
monthly_credits = 1000
costs = { "GET /v1/search" = 5 }
`;

// Spends through /v1/auth on `connections` connections at once until each is
// refused; the count of valid answers, and the refusals seen.
async function spendUntilRefused(srv, keys, connections) {
  let valid = 0;
  const refusals = [];
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const key = keys[i % keys.length];
      for (;;) {
        const r = await srv.auth({ authorization: `Bearer ${key}` });
        if (r.status === 200) {
          valid++;
          continue;
        }
        refusals.push(r);
        return;
      }
    }),
  );
  return { valid, refusals };
}

test('a 10,000-credit plan answers 10,000 valid and then 429 quota_exceeded, with 64 connections racing', async (t) => {
  const srv = await startServer({ config: PLANS });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('acme');
  assert.equal(ws.plan_id, 'plan_ten_k', 'new workspaces get the default plan');
  assert.equal(ws.monthly_credits, 10000);
  const keys = [];
  for (let i = 0; i < 3; i++) keys.push((await srv.createKey(ws.id, { name: `k${i}` })).key);
  const { valid, refusals } = await spendUntilRefused(srv, keys, 64);
  assert.equal(valid, 10000, 'exactly the allowance is spent');
  assert.equal(refusals.length, 64);
  for (const r of refusals) {
    assert.equal(r.status, 429);
    assert.equal(r.json.error, 'quota_exceeded');
    assert.match(r.headers.get('ratelimit-policy'), /"credits";q=10000;w=\d+/);
    assert.match(r.headers.get('ratelimit'), /"credits";r=0;t=\d+/);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
  }
  // Test traffic is its own allowance.
  const testKey = (await srv.createKey(ws.id, { environment: 'test' })).key;
  assert.equal((await srv.auth({ authorization: `Bearer ${testKey}` })).status, 200);
  // Refused requests are free: the usage shows 10,000 credits, not more.
  const usage = await poll(async () => {
    const u = (await srv.get(`/v1/usage?workspace_id=${ws.id}&granularity=month&environment=live`)).json;
    // The refusals may reach storage a flush after the last valid answer.
    if (u.credits !== 10000 || u.data[0]?.by_code.quota_exceeded !== 64) return null;
    // The test key's one request may reach storage a flush later still.
    const all = (await srv.get(`/v1/usage?workspace_id=${ws.id}&granularity=month`)).json;
    return all.credits === 10001 ? u : null;
  });
  assert.equal(usage.valid, 10000);
  assert.equal(usage.data[0].by_code.quota_exceeded, 64);
  assert.equal(usage.allowance.environments.live.remaining, 0);

  // The month's usage per key, exported, matches GET /v1/usage per key.
  const exported = await srv.get(`/v1/usage/export?workspace_id=${ws.id}&format=json`);
  assert.equal(exported.status, 200, exported.text);
  assert.equal(exported.headers.get('transfer-encoding'), 'chunked');
  const perKey = new Map();
  for (const row of exported.json.rows) {
    perKey.set(row.key_id, (perKey.get(row.key_id) ?? 0) + row.credits);
    assert.equal(row.refused, row.by_code.quota_exceeded ?? 0);
  }
  const list = (await srv.get(`/v1/api-keys?workspace_id=${ws.id}`)).json.data;
  for (const k of list) {
    const u = (await srv.get(`/v1/usage?key_id=${k.id}&granularity=month`)).json;
    assert.equal(perKey.get(k.id) ?? 0, u.credits, `export and usage agree for ${k.id}`);
  }
  assert.equal([...perKey.values()].reduce((a, b) => a + b, 0), 10001);  // 10,000 live + 1 test

  const csv = await srv.get(`/v1/usage/export?workspace_id=${ws.id}&format=csv&environment=live`);
  assert.equal(csv.status, 200);
  const lines = csv.text.trim().split('\n');
  const header = lines[0].split(',');
  assert.deepEqual(header.slice(0, 7), ['day', 'workspace_id', 'key_id', 'environment', 'valid', 'refused', 'credits']);
  const credits = lines.slice(1).reduce((sum, l) => sum + Number(l.split(',')[6]), 0);
  assert.equal(credits, 10000);

  // The same from the command line, to a file, with a summary line.
  const out = path.join(makeTempDir(), 'usage.csv');
  const cli = await runCli(['usage', 'export', '--workspace', ws.id, '--environment', 'live', '--output', out], {
    env: { KEYWARD_URL: srv.url, KEYWARD_ROOT_KEY: srv.rootKey },
  });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(fs.readFileSync(out, 'utf8'), csv.text);
  assert.match(cli.stderr, /exported/);
});

test('a SIGKILL gives back at most the credits spent since the last flush', async (t) => {
  const srv = await startServer({});
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('acme', { monthly_credits: 1000 });
  const key = (await srv.createKey(ws.id)).key;
  const spend = async (n) => {
    for (let i = 0; i < n; i++) {
      const r = await srv.auth({ authorization: `Bearer ${key}` });
      assert.equal(r.status, 200, r.text);
    }
  };
  await spend(300);
  await poll(async () => (await srv.get(`/v1/usage?workspace_id=${ws.id}&granularity=month`)).json.credits === 300);
  await spend(50);  // then killed before the next flush, or just after
  await srv.stop('SIGKILL');
  await srv.restart();
  // The dead node's lease lapses after 10 s; then the rest can be spent.
  await sleep(11_000);
  const { valid } = await spendUntilRefused(srv, [key], 4);
  assert.ok(valid >= 650 && valid <= 700, `after the kill ${valid} more were spent; at most the 50 unflushed may come back`);
});

test('plans from the configuration are stored, shown and changed only there', async (t) => {
  const srv = await startServer({ config: PLANS });
  t.after(() => srv.close());
  const plans = (await srv.get('/v1/plans')).json.data;
  assert.deepEqual(plans.map((p) => p.id).sort(), ['plan_search', 'plan_ten_k']);
  const search = plans.find((p) => p.id === 'plan_search');
  assert.equal(search.source, 'config');
  assert.deepEqual(search.costs, { 'GET /v1/search': 5 });
  const r = await srv.patch('/v1/plans/plan_search', { monthly_credits: 5 });
  assert.equal(r.status, 409);
  assert.equal(r.json.error, 'conflict');
  // An API plan next to them, and a workspace moved onto it.
  const mine = await srv.post('/v1/plans', { name: 'Mine', monthly_credits: 2 });
  assert.equal(mine.status, 201);
  const ws = await srv.createWorkspace('acme', { plan_id: 'plan_search' });
  const key = (await srv.createKey(ws.id)).key;
  const auth = (uri) =>
    srv.auth({ authorization: `Bearer ${key}`, 'x-original-method': 'GET', 'x-original-uri': uri });
  assert.equal((await auth('/v1/search')).status, 200);
  assert.equal((await srv.get(`/v1/workspaces/${ws.id}`)).json.credits.environments.live.remaining, 995);
  assert.equal((await srv.patch(`/v1/workspaces/${ws.id}`, { plan_id: mine.json.id })).status, 200);
  const after = await auth('/v1/other');
  assert.equal(after.status, 429, `the new plan (2 credits, 5 spent) applies at once: ${after.headers.get('ratelimit-policy')} ${after.headers.get('ratelimit')} ${after.text}`);
  // A restart with the same configuration changes nothing.
  await srv.restart();
  const again = (await srv.get('/v1/plans/plan_search')).json;
  assert.equal(again.updated_at, search.updated_at);
});

test('two nodes on one PostgreSQL never spend past the allowance together', { skip: ENGINE !== 'postgres' && 'PostgreSQL only' }, async (t) => {
  const a = await startServer({});
  t.after(() => a.close());
  const b = await startServer({ database: a.database, rootKey: false });
  t.after(() => b.close());
  b.rootKey = a.rootKey;
  const ws = await a.createWorkspace('acme', { monthly_credits: 2000 });
  const key = (await a.createKey(ws.id)).key;
  // Both nodes spend at once until each is refused; a node refused while the
  // other still holds credits asks again until neither has any.
  const results = await Promise.all([spendUntilRefused(a, [key], 32), spendUntilRefused(b, [key], 32)]);
  let valid = results[0].valid + results[1].valid;
  for (const srv of [a, b, a, b]) valid += (await spendUntilRefused(srv, [key], 1)).valid;
  assert.equal(valid, 2000, `the two nodes spent ${valid} of 2000`);
  await poll(async () => (await a.get(`/v1/usage?workspace_id=${ws.id}&granularity=month`)).json.credits === 2000);
  // A larger allowance set on one node is spent from on the other at once
  // (the change log carries it, as it carries a revocation).
  assert.equal((await b.auth({ authorization: `Bearer ${key}` })).status, 429);
  const plan = await a.post('/v1/plans', { name: 'More', monthly_credits: 2100 });
  assert.equal((await a.patch(`/v1/workspaces/${ws.id}`, { plan_id: plan.json.id, monthly_credits: null })).status, 200);
  const started = Date.now();
  await poll(async () => (await b.auth({ authorization: `Bearer ${key}` })).status === 200, { timeoutMs: 3000, intervalMs: 20 });
  assert.ok(Date.now() - started < 1500, `node b saw the new plan after ${Date.now() - started} ms`);
});
