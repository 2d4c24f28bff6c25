// Configuration: TOML file, flags, KEYWARD_* variables (env > flag > file),
// bad configuration (exit 2, naming the key), the first-start banner,
// custom product prefixes and environments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer,
  tryServe,
  makeTempDir,
  toToml,
  runCli,
  createRootKey,
  storeArgs,
  databaseFor,
  assertError,
  poll,
  ENGINE,
} from './lib/keyward.mjs';

async function defaultLimit(srv) {
  const ws = await srv.createWorkspace('probe');
  return ws.max_active_keys;
}

async function keyPrefix(srv) {
  const ws = await srv.createWorkspace('prefix probe');
  const k = await srv.createKey(ws.id);
  return k.key.slice(0, k.key.indexOf('_'));
}

test('precedence: KEYWARD_* beats the flag, the flag beats the file', async (t) => {
  const config = {
    listen: '127.0.0.1:0',
    keys: { product_prefix: 'filep', max_active_per_workspace: 7 },
  };
  const fileOnly = await startServer({ config });
  t.after(() => fileOnly.close());
  assert.equal(await keyPrefix(fileOnly), 'filep');
  assert.equal(await defaultLimit(fileOnly), 7);

  const flagged = await startServer({ config, args: ['--product-prefix', 'flagp', '--max-active-per-workspace', '8'] });
  t.after(() => flagged.close());
  assert.equal(await keyPrefix(flagged), 'flagp');
  assert.equal(await defaultLimit(flagged), 8);

  const env = await startServer({
    config,
    args: ['--product-prefix', 'flagp', '--max-active-per-workspace', '8'],
    env: { KEYWARD_KEYS_PRODUCT_PREFIX: 'envp', KEYWARD_KEYS_MAX_ACTIVE_PER_WORKSPACE: '9' },
  });
  t.after(() => env.close());
  assert.equal(await keyPrefix(env), 'envp');
  assert.equal(await defaultLimit(env), 9);
});

test('listen and data_dir from the file; KEYWARD_DATA_DIR beats --data', { skip: ENGINE === 'postgres' && 'data_dir picks the SQLite file; on PostgreSQL the next test checks database the same way' }, async (t) => {
  const base = makeTempDir();
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const fileData = path.join(base, 'file-data');
  const envData = path.join(base, 'env-data');
  const flagData = path.join(base, 'flag-data');
  for (const d of [fileData, envData, flagData]) fs.mkdirSync(d);
  const fileRoot = await createRootKey(fileData);
  const envRoot = await createRootKey(envData);

  // listen and data_dir only in the file.
  const a = await startServer({ config: { listen: '127.0.0.1:0', data_dir: fileData }, listen: null, passData: false, rootKey: false });
  t.after(() => a.close());
  a.rootKey = fileRoot;
  assert.equal((await a.get('/v1/workspaces')).status, 200, 'the root key of the file data_dir works');
  assert.ok(fs.readdirSync(fileData).length > 0, 'data written to data_dir');
  await a.stop();

  // --data beats the file; KEYWARD_DATA_DIR beats --data.
  const b = await startServer({
    config: { listen: '127.0.0.1:0', data_dir: fileData },
    dataDir: flagData,
    env: { KEYWARD_DATA_DIR: envData },
    rootKey: false,
  });
  t.after(() => b.close());
  b.rootKey = envRoot;
  assert.equal((await b.get('/v1/workspaces')).status, 200, 'the root key of KEYWARD_DATA_DIR works');
  b.rootKey = fileRoot;
  assertError(await b.get('/v1/workspaces'), 401, 'unauthorized', 'the file data_dir is not used');
});

test('listen and database from the file; KEYWARD_DATABASE beats --database', { skip: ENGINE === 'sqlite' && 'needs PostgreSQL (KEYWARD_TEST_POSTGRES_URL)' }, async (t) => {
  const base = makeTempDir();
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  // Three databases, each standing for a directory of its own, each with a root key.
  const [fileDb, envDb, flagDb] = ['file', 'env', 'flag'].map((n) => {
    const d = path.join(base, n);
    fs.mkdirSync(d);
    return { dir: d, url: databaseFor(d) };
  });
  const fileRoot = await createRootKey(fileDb.dir);
  const envRoot = await createRootKey(envDb.dir);
  const flagRoot = await createRootKey(flagDb.dir);

  // listen and database only in the file (no --database, no --data).
  const a = await startServer({
    config: { listen: '127.0.0.1:0', database: fileDb.url, database_pool_size: 4 },
    listen: null,
    passData: false,
    database: null,
    rootKey: false,
  });
  t.after(() => a.close());
  a.rootKey = fileRoot;
  assert.equal((await a.get('/v1/workspaces')).status, 200, 'the root key of the file database works');
  await a.stop();

  // --database beats the file.
  const b = await startServer({ config: { database: fileDb.url }, database: flagDb.url, rootKey: false });
  t.after(() => b.close());
  b.rootKey = flagRoot;
  assert.equal((await b.get('/v1/workspaces')).status, 200, 'the root key of --database works');
  b.rootKey = fileRoot;
  assertError(await b.get('/v1/workspaces'), 401, 'unauthorized', 'the file database is not used');
  await b.stop();

  // KEYWARD_DATABASE beats --database.
  const c = await startServer({
    config: { database: fileDb.url },
    database: flagDb.url,
    env: { KEYWARD_DATABASE: envDb.url },
    rootKey: false,
  });
  t.after(() => c.close());
  c.rootKey = envRoot;
  assert.equal((await c.get('/v1/workspaces')).status, 200, 'the root key of KEYWARD_DATABASE works');
  c.rootKey = flagRoot;
  assertError(await c.get('/v1/workspaces'), 401, 'unauthorized', 'the --database database is not used');
});

test('KEYWARD_LISTEN beats --listen', async (t) => {
  const srv = await startServer({ listen: '127.0.0.1:1', env: { KEYWARD_LISTEN: '127.0.0.1:0' } });
  t.after(() => srv.close());
  assert.notEqual(srv.port, 1);
  assert.equal((await srv.get('/healthz')).status, 200);
});

test('threads from flag, KEYWARD_THREADS and file are accepted', async (t) => {
  const a = await startServer({ args: ['--threads', '3'] });
  t.after(() => a.close());
  assert.equal((await a.get('/healthz')).status, 200);
  const b = await startServer({ config: { threads: 2 }, env: { KEYWARD_THREADS: '4' } });
  t.after(() => b.close());
  const answers = await Promise.all(Array.from({ length: 20 }, () => b.get('/healthz')));
  for (const r of answers) assert.equal(r.status, 200);
});

test('an unknown key in the TOML file: exit 2 naming it', async (t) => {
  const base = makeTempDir();
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const cases = [
    ['bogus_setting = 1\n', 'bogus_setting'],
    ['[keys]\nproduct_prefix = "kw"\ncolour = "blue"\n', 'colour'],
    ['[nonsense]\nx = 1\n', 'nonsense'],
  ];
  for (const [text, name] of cases) {
    const file = path.join(base, `${name}.toml`);
    fs.writeFileSync(file, text);
    const r = await tryServe(['serve', '--listen', '127.0.0.1:0', '--data', path.join(base, 'data'), '--config', file]);
    assert.equal(r.listened, false, `${name}: the server must not start`);
    assert.equal(r.code, 2, `${name}: exit code ${r.code}, stderr ${r.stderr}`);
    assert.ok(r.stderr.includes(name), `${name}: stderr names the key: ${r.stderr}`);
  }
});

test('bad values: exit 2 naming the key', async (t) => {
  const base = makeTempDir();
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const data = path.join(base, 'data');
  const cases = [
    [{ threads: 'many' }, 'threads'],
    [{ threads: 0 }, 'threads'],
    [{ keys: { max_active_per_workspace: 'lots' } }, 'max_active_per_workspace'],
    [{ keys: { max_active_per_workspace: 0 } }, 'max_active_per_workspace'],
    [{ keys: { product_prefix: 'Bad Prefix!' } }, 'product_prefix'],
    [{ keys: { environments: [] } }, 'environments'],
    [{ keys: { environments: ['live', 'test'], accept_environments: ['prod'] } }, 'accept_environments'],
    [{ listen: 'not an address' }, 'listen'],
    [{ database_pool_size: 0 }, 'database_pool_size'],
    [{ database_pool_size: 'many' }, 'database_pool_size'],
    [{ redis_failure_mode: 'sometimes' }, 'redis_failure_mode'],
  ];
  const problems = [];
  for (const [i, [config, name]] of cases.entries()) {
    const file = path.join(base, `case${i}.toml`);
    fs.writeFileSync(file, toToml(config));
    const r = await tryServe(['serve', '--data', data, '--config', file]);
    const what = toToml(config).trim().replace(/\n+/g, ' ');
    if (r.listened) problems.push(`${what}: the server started`);
    else if (r.code !== 2) problems.push(`${what}: exit ${r.code}, stderr ${r.stderr.trim()}`);
    else if (!r.stderr.includes(name)) problems.push(`${what}: stderr does not name ${name}: ${r.stderr.trim()}`);
  }
  assert.deepEqual(problems, [], problems.join('\n'));
  // Not TOML at all.
  const broken = path.join(base, 'broken.toml');
  fs.writeFileSync(broken, 'listen = "127.0.0.1:0\n[keys\n');
  const r = await tryServe(['serve', '--data', data, '--config', broken]);
  assert.equal(r.listened, false);
  assert.equal(r.code, 2, `broken TOML: exit ${r.code}, stderr ${r.stderr}`);
  assert.ok(r.stderr.length > 0);
});

test('bad values from flags and KEYWARD_* variables: exit 2', async (t) => {
  const base = makeTempDir();
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const data = path.join(base, 'data');
  let r = await tryServe(['serve', '--listen', '127.0.0.1:0', '--data', data], { env: { KEYWARD_THREADS: 'many' } });
  assert.equal(r.listened, false);
  assert.equal(r.code, 2, `KEYWARD_THREADS=many: exit ${r.code} ${r.stderr}`);
  assert.match(r.stderr, /threads/i);
  r = await tryServe(['serve', '--listen', '127.0.0.1:0', '--data', data, '--threads', 'many']);
  assert.equal(r.listened, false);
  assert.equal(r.code, 2, `--threads many: exit ${r.code} ${r.stderr}`);
  assert.match(r.stderr, /threads/i);
  r = await tryServe(['serve', '--listen', '127.0.0.1:0', '--data', data], { env: { KEYWARD_KEYS_MAX_ACTIVE_PER_WORKSPACE: 'x' } });
  assert.equal(r.listened, false);
  assert.equal(r.code, 2, `KEYWARD_KEYS_MAX_ACTIVE_PER_WORKSPACE=x: exit ${r.code} ${r.stderr}`);
  assert.match(r.stderr, /max_active_per_workspace|MAX_ACTIVE_PER_WORKSPACE/i);
  r = await tryServe(['serve', '--listen', '127.0.0.1:0', '--data', data, '--no-such-flag']);
  assert.equal(r.listened, false);
  assert.notEqual(r.code, 0, 'an unknown flag is an error');
  assert.ok(r.stderr.includes('no-such-flag'), r.stderr);
});

test('first start on an empty database: a banner with a working root key, once', async (t) => {
  const srv = await startServer({ rootKey: false });
  t.after(() => srv.close());
  const got = await poll(() => /kw_root_[0-9A-Za-z]+/.exec(srv.stderr), { timeoutMs: 3000 });
  assert.ok(got, `a kw_root_ key on stderr: ${srv.stderr}`);
  assert.match(srv.stderr, /will not be shown again/);
  assert.ok(!srv.stdout.includes(got[0]), 'the root key is not in the stdout log');
  srv.rootKey = got[0];
  const r = await srv.get('/v1/workspaces');
  assert.equal(r.status, 200, `the banner key works: ${r.text}`);
  const audit = await srv.get('/v1/audit-log');
  assert.ok(audit.json.data.some((e) => e.action === 'root_key.create'), 'root key creation audited');
  assert.ok(!audit.text.includes(got[0]));

  await srv.restart();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!/kw_root_/.test(srv.stderr), `no banner on the second start: ${srv.stderr}`);
  assert.equal((await srv.get('/v1/workspaces')).status, 200, 'the banner key still works');
});

test('no banner when root-keys create ran first; root-keys create prints the key alone', async (t) => {
  const srv = await startServer();
  t.after(() => srv.close());
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!/kw_root_/.test(srv.stderr), `no banner: ${srv.stderr}`);
  assert.ok(!/will not be shown again/.test(srv.stderr));
  assert.match(srv.rootKey, /^kw_root_[0-9A-Za-z]{40}$/);
  const second = await runCli(['root-keys', 'create', ...storeArgs(makeTempDirFor(t)), '--name', 'ops']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout.split('\n').filter((l) => l.trim()).length, 1, 'one line on stdout');
});

function makeTempDirFor(t) {
  const d = makeTempDir();
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('--product-prefix asa makes asa_live_ keys; kw_ keys are malformed there', async (t) => {
  const srv = await startServer({ args: ['--product-prefix', 'asa'] });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('amazon scraper');
  const k = await srv.createKey(ws.id);
  assert.match(k.key, /^asa_live_[0-9A-Za-z]{40}$/);
  assert.equal(k.short_prefix, k.key.slice(0, 'asa_live_'.length + 12));
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
  const asKw = 'kw_' + k.key.slice(4);
  assert.equal((await srv.verify({ key: asKw })).code, 'malformed');
  const r = await srv.auth({ authorization: `Bearer ${k.key}` });
  assert.equal(r.status, 200, r.text);
  // Root keys keep their kw_root_ form.
  assert.match(srv.rootKey, /^kw_root_/);
});

test('custom environments: sk with live,sandbox (flags) and via KEYWARD_KEYS_ENVIRONMENTS', async (t) => {
  const a = await startServer({ args: ['--product-prefix', 'sk', '--environments', 'live,sandbox'] });
  t.after(() => a.close());
  const ws = await a.createWorkspace('amps');
  const sb = await a.createKey(ws.id, { environment: 'sandbox' });
  assert.match(sb.key, /^sk_sandbox_[0-9A-Za-z]{40}$/);
  assert.equal((await a.verify({ key: sb.key })).code, 'valid');
  assertError(
    await a.post('/v1/api-keys', { workspace_id: ws.id, environment: 'test', name: 'x' }),
    400,
    'invalid_request',
    'test is not an environment here',
  );

  const b = await startServer({
    env: { KEYWARD_KEYS_ENVIRONMENTS: 'live,sandbox', KEYWARD_KEYS_ACCEPT_ENVIRONMENTS: 'sandbox' },
  });
  t.after(() => b.close());
  const wb = await b.createWorkspace('env vars');
  const live = await b.createKey(wb.id, { environment: 'live' });
  const sand = await b.createKey(wb.id, { environment: 'sandbox' });
  assert.match(sand.key, /^kw_sandbox_/);
  assert.equal((await b.verify({ key: sand.key })).code, 'valid');
  assert.equal((await b.verify({ key: live.key })).code, 'wrong_environment');
});

test('environments and limits from the TOML [keys] table', async (t) => {
  const srv = await startServer({
    config: {
      keys: {
        product_prefix: 'amsr',
        environments: ['live', 'test'],
        accept_environments: ['test'],
        max_active_per_workspace: 5,
      },
    },
  });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('amser');
  assert.equal(ws.max_active_keys, 5);
  const keys = [];
  for (let i = 0; i < 5; i++) keys.push(await srv.createKey(ws.id, { environment: 'test', name: `k${i}` }));
  assert.match(keys[0].key, /^amsr_test_/);
  const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'test', name: 'sixth' });
  assertError(r, 409, 'key_limit_reached', 'deployment default 5');
  assert.match(r.json.message, /revoke/i);
  assert.equal((await srv.verify({ key: keys[0].key })).code, 'valid');
  const rot = await srv.post(`/v1/api-keys/${keys[1].id}/rotate`, {});
  assert.equal(rot.status, 201, `rotation replaces a key, so it is allowed at the limit: ${rot.text}`);
});

test('--max-active-per-workspace sets the deployment default; a workspace override wins', async (t) => {
  const srv = await startServer({ args: ['--max-active-per-workspace', '2'] });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('default 2');
  assert.equal(ws.max_active_keys, 2);
  assert.equal(ws.max_active_keys_override, null);
  await srv.createKey(ws.id);
  await srv.createKey(ws.id);
  assertError(
    await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'third' }),
    409,
    'key_limit_reached',
    'third key',
  );
  const big = await srv.createWorkspace('override 3', { max_active_keys: 3 });
  assert.equal(big.max_active_keys, 3);
  for (let i = 0; i < 3; i++) await srv.createKey(big.id);
  assertError(
    await srv.post('/v1/api-keys', { workspace_id: big.id, environment: 'live', name: 'fourth' }),
    409,
    'key_limit_reached',
    'fourth key',
  );
});
