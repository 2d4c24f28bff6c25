// examples/*.toml, each the configuration that makes keyward the key backend
// of one seed product, run as shipped: the server gets the file with
// --config, and only its data directory, database and listen address from
// the command line (startServer's --data, --database and --listen). Each test
// checks what its file says it configures, against the real server: the
// keys' prefix and environments, which environments the deployment accepts,
// the page's limit of active keys, plans (rate limit, costs), the rotation
// policy and the old key shapes ([[keys.legacy]]).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, checksumOk, fabricateKey } from './lib/keyward.mjs';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

function example(file) {
  const at = path.join(EXAMPLES, file);
  assert.ok(fs.existsSync(at), `${at} is missing`);
  return at;
}

// The server of examples/<file>, the file passed as is.
function serve(file, more = []) {
  return startServer({ args: ['--config', example(file), ...more] });
}

const bearer = (key) => ({ authorization: `Bearer ${key}` });

// What GET /v1/auth answers for headers: 'valid' or the refusal's code
// (with the status each code must have).
async function authCode(srv, headers) {
  const r = await srv.auth(headers);
  if (r.status === 200) return 'valid';
  const code = r.json?.error ?? `HTTP ${r.status}`;
  const want = code === 'rate_limited' || code === 'quota_exceeded' ? 429 : 401;
  assert.equal(r.status, want, `GET /v1/auth answered ${r.status} for ${code}: ${r.text}`);
  return code;
}

// A new key of env in ws: checks its shape (prefix_env_, 40 characters with
// the checksum) and that the page's prefix is what it starts with.
async function newKey(srv, ws, env, prefix, extra = {}) {
  const k = await srv.createKey(ws.id, { environment: env, name: `${env} key`, ...extra });
  assert.match(k.key, new RegExp(`^${prefix}_${env}_[0-9A-Za-z]{40}$`), `a ${env} key: ${k.key.slice(0, 20)}…`);
  assert.ok(checksumOk(k.key), 'the checksum of a created key');
  assert.equal(k.environment, env);
  return k;
}

// Fills ws up to n active keys of env (it holds `has` already), then checks
// that one more answers 409 key_limit_reached. Returns the keys made.
async function fillToLimit(srv, ws, n, has, env = 'live') {
  const made = [];
  for (let i = has; i < n; i++) made.push(await srv.createKey(ws.id, { environment: env, name: `key ${i + 1}` }));
  const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: env, name: `key ${n + 1}` });
  assert.equal(r.status, 409, `key ${n + 1} of a workspace limited to ${n}: ${r.status} ${r.text}`);
  assert.equal(r.json?.error, 'key_limit_reached');
  return made;
}

async function importKeys(srv, rows) {
  const r = await srv.post('/v1/api-keys/import', { keys: rows });
  assert.equal(r.status, 200, `import: ${r.status} ${r.text}`);
  assert.equal(r.json.imported, rows.length, `every row imported: ${r.text}`);
  return r.json;
}

const sha256Hex = (text) => crypto.createHash('sha256').update(text).digest('hex');

function randomBase62(n) {
  const abc = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let out = '';
  for (const b of crypto.randomBytes(n)) out += abc[b % 62];
  return out;
}

// ---------------------------------------------------------------------------

test('amser: amsr_live_/amsr_test_ keys, both accepted, 5 active keys per merchant, its 21-character keys imported', async (t) => {
  const srv = await serve('amser.toml');
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('a merchant');
  assert.equal(ws.max_active_keys, 5, '"Each merchant can have a maximum of 5 active API keys at a time"');

  const live = await newKey(srv, ws, 'live', 'amsr');
  const testKey = await newKey(srv, ws, 'test', 'amsr');
  for (const [k, env] of [[live, 'live'], [testKey, 'test']]) {
    const a = await srv.auth(bearer(k.key));
    assert.equal(a.status, 200, `${env}: ${a.text}`);
    assert.equal(a.headers.get('x-keyward-environment'), env);
  }

  // The 6th active key is refused; "revoke an unused key first" makes room.
  const made = await fillToLimit(srv, ws, 5, 2);
  assert.equal((await srv.del(`/v1/api-keys/${made[0].id}`)).status, 200);
  assert.equal(await authCode(srv, bearer(made[0].key)), 'revoked');
  await newKey(srv, ws, 'live', 'amsr');

  // The page's own example keys, imported: by the key itself and by SHA-256
  // ("amser stores only the hash").
  const old = await srv.createWorkspace('a merchant from before');
  const oldLive = 'amsr_live_k3m7x9p2q4r8s1t5v0w6y';
  const oldTest = 'amsr_test_a1b2c3d4e5f6g7h8i9j0k';
  assert.equal(await authCode(srv, bearer(oldLive)), 'invalid', 'the shape is known, the key not yet');
  await importKeys(srv, [
    { workspace_id: old.id, environment: 'live', key: oldLive, name: 'production-server' },
    { workspace_id: old.id, environment: 'test', hash: { algorithm: 'sha256', encoding: 'hex', value: sha256Hex(oldTest) } },
  ]);
  for (const [k, env] of [[oldLive, 'live'], [oldTest, 'test']]) {
    const a = await srv.auth(bearer(k));
    assert.equal(a.status, 200, `${k}: ${a.text}`);
    assert.equal(a.headers.get('x-keyward-environment'), env);
  }
  const listed = (await srv.get(`/v1/api-keys?workspace_id=${old.id}&environment=live`)).json.data;
  assert.deepEqual(listed.map((k) => k.short_prefix), ['amsr_live_k3m7'], 'short_prefix_length = 4');
  assert.equal(await authCode(srv, bearer(`amsr_live_${randomBase62(21)}`)), 'invalid', 'a key of the shape never imported');
  assert.equal(await authCode(srv, bearer(`${oldLive}x`)), 'malformed', '22 characters is not the shape');
});

test('ampersend: sk_live_/sk_test_ keys, production accepts live only, a revoked key answers 401', async (t) => {
  const srv = await serve('ampersend.toml');
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('a user account');
  const live = await newKey(srv, ws, 'live', 'sk');
  const testKey = await newKey(srv, ws, 'test', 'sk');
  assert.equal(await authCode(srv, bearer(live.key)), 'valid');
  // "a test key cannot call production"
  assert.equal(await authCode(srv, bearer(testKey.key)), 'wrong_environment');
  // "Revocation is immediate; any call with the revoked key returns 401."
  assert.equal((await srv.del(`/v1/api-keys/${live.id}`)).status, 200);
  assert.equal(await authCode(srv, bearer(live.key)), 'revoked');
});

test('Amps AI: sk_live_/sk_sandbox_ keys in x-api-key; the live and the sandbox deployment each accept their own', async (t) => {
  const srv = await serve('amps.toml');
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('a customer account');
  const live = await newKey(srv, ws, 'live', 'sk');
  const sandbox = await newKey(srv, ws, 'sandbox', 'sk');
  const a = await srv.auth({ 'x-api-key': live.key });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.headers.get('x-keyward-environment'), 'live');
  assert.equal(await authCode(srv, { 'x-api-key': sandbox.key }), 'wrong_environment');

  // The sandbox deployment: the same file, as its header comment runs it.
  await srv.restart({ args: ['--config', example('amps.toml'), '--accept-environments', 'sandbox'] });
  const s = await srv.auth({ 'x-api-key': sandbox.key });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.headers.get('x-keyward-environment'), 'sandbox');
  assert.equal(await authCode(srv, { 'x-api-key': live.key }), 'wrong_environment');
});

test('example-api: sk_live_/sk_test_ keys, both accepted; a key 90 days old is due for rotation and still works', async (t) => {
  const srv = await serve('example-api.toml');
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('an account');
  assert.equal(ws.rotate_after_days, 90, '"Rotate API keys every 90 days"');
  assert.equal(ws.max_active_keys, 20);
  const live = await newKey(srv, ws, 'live', 'sk');
  const testKey = await newKey(srv, ws, 'test', 'sk');
  assert.equal(await authCode(srv, bearer(live.key)), 'valid');
  assert.equal(await authCode(srv, bearer(testKey.key)), 'valid');

  const day = 86_400_000;
  const old = fabricateKey('sk', 'live'); // a key of keyward's format, issued 91 days ago
  const young = fabricateKey('sk', 'live'); // and one 89 days ago
  await importKeys(srv, [
    { workspace_id: ws.id, environment: 'live', key: old, created_at: new Date(Date.now() - 91 * day).toISOString(), name: 'old' },
    { workspace_id: ws.id, environment: 'live', key: young, created_at: new Date(Date.now() - 89 * day).toISOString(), name: 'young' },
  ]);
  const due = (await srv.get(`/v1/api-keys?workspace_id=${ws.id}&rotation_due=true`)).json.data;
  assert.deepEqual(due.map((k) => k.name), ['old'], 'only the key past 90 days is due');
  const all = (await srv.get(`/v1/api-keys?workspace_id=${ws.id}`)).json.data;
  assert.equal(all.find((k) => k.id === live.id).rotation_due, false);
  assert.equal(await authCode(srv, bearer(old)), 'valid', 'a due key keeps working');
});

test('Amazon Scraper API: asa_live_ keys, asa_test_ refused, 20 keys per workspace, the free plan (2/s, 5 credits a product request), 24-character keys imported', async (t) => {
  const srv = await serve('amazon-scraper-api.toml');
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('a workspace');
  assert.equal(ws.plan_id, 'plan_free', 'new workspaces are on the free tier');
  assert.equal(ws.max_active_keys, 20, '"You can have up to 20 active keys per workspace."');
  assert.equal(ws.rotate_after_days, 90, '"quarterly is a reasonable cadence"');

  const live = await newKey(srv, ws, 'live', 'asa');
  // "The 12 characters after the prefix ... form the shortprefix"
  assert.equal(live.short_prefix, live.key.slice(0, 'asa_live_'.length + 12));
  const testKey = await newKey(srv, ws, 'test', 'asa');
  assert.equal(await authCode(srv, bearer(testKey.key)), 'wrong_environment', 'test keys "never touch Amazon"');

  const keys = await fillToLimit(srv, ws, 20, 2);

  // The free plan's 2 requests per second, per key: a burst of 2, then one
  // every 0.5 s; 6 at once get at most 2 more than the time they took allows.
  const started = Date.now();
  const burst = await Promise.all(Array.from({ length: 6 }, () => srv.auth(bearer(live.key))));
  const elapsed = Date.now() - started;
  const passed = burst.filter((r) => r.status === 200).length;
  const limited = burst.filter((r) => r.status === 429 && r.json?.error === 'rate_limited');
  assert.ok(passed >= 2 && passed <= 2 + Math.floor(elapsed / 500), `${passed} of 6 passed in ${elapsed} ms`);
  assert.equal(passed + limited.length, 6, burst.map((r) => `${r.status} ${r.text}`).join('\n'));
  assert.ok(limited.length >= 1, `none of 6 requests in ${elapsed} ms was refused`);
  assert.match(limited[0].headers.get('ratelimit-policy') ?? '', /"requests";q=2;w=1\b/);

  // "A basic Amazon product or search request costs 5 credits", anything
  // else 1: a workspace of its own allowance (a Custom plan) of 12 credits,
  // a key per request so that the rate limit stays out of the way.
  const custom = await srv.createWorkspace('a custom plan', { monthly_credits: 12 });
  const spend = async (uri) => {
    const k = await srv.createKey(custom.id, { name: uri });
    return srv.auth({ ...bearer(k.key), 'x-original-method': 'GET', 'x-original-uri': uri });
  };
  const left = (r) => Number(/"credits";r=(\d+)/.exec(r.headers.get('ratelimit') ?? '')?.[1]);
  let r = await spend('/api/v1/amazon/product?query=B09HN3Q81F');
  assert.equal(r.status, 200, r.text);
  assert.equal(left(r), 7, `a product request costs 5 of 12: ${r.headers.get('ratelimit')}`);
  r = await spend('/api/v1/account');
  assert.equal(left(r), 6, 'another request costs 1');
  r = await spend('/api/v1/amazon/search?query=lamp');
  assert.equal(left(r), 1, 'a search request costs 5');
  r = await spend('/api/v1/amazon/product?query=B09HN3Q81F');
  assert.equal(r.status, 429, r.text);
  assert.equal(r.json?.error, 'quota_exceeded');

  // "Revoked keys return 401 Unauthorized with {"error":"revoked"}."
  assert.equal((await srv.del(`/v1/api-keys/${keys[0].id}`)).status, 200);
  const revoked = await srv.auth(bearer(keys[0].key));
  assert.equal(revoked.status, 401);
  assert.equal(revoked.json?.error, 'revoked');

  // The keys customers hold: asa_live_ and 24 characters, the first 12
  // shown.
  const old = await srv.createWorkspace('a workspace from before');
  const oldKey = `asa_live_Tq0x4k9Pd8Mn${randomBase62(12)}`;
  await importKeys(srv, [{ workspace_id: old.id, environment: 'live', key: oldKey }]);
  const a = await srv.auth(bearer(oldKey));
  assert.equal(a.status, 200, a.text);
  const imported = (await srv.get(`/v1/api-keys?workspace_id=${old.id}`)).json.data;
  assert.deepEqual(imported.map((k) => k.short_prefix), ['asa_live_Tq0x4k9Pd8Mn']);
  assert.equal(await authCode(srv, bearer(oldKey.slice(0, -1))), 'malformed', '23 characters is not the shape');
});
