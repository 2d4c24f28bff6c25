// The cluster: three `keyward serve` nodes on one PostgreSQL database and one
// Redis, each node started with deploy/cluster/keyward.service's command
// line and deploy/cluster/node-*.toml with only its listen address,
// database URL and Redis URL put in (and, where a test says so, one more
// setting). The PostgreSQL (scripts/test-postgres) and the
// Redis (deploy/cluster/redis.conf) are this file's own, because it stops
// and starts them; the nodes connect as the role deploy/cluster/
// postgres-setup.sql creates.
//
// What a cluster promises: a revocation on one node is refused on every
// other within a second; the workspace key limit holds against creates
// racing over the nodes; usage from all nodes adds up; a node killed with
// SIGKILL loses no answered write; a PostgreSQL outage leaves cached keys
// verifying, answers 503 storage_unavailable for the rest, and heals without
// a restart; Redis shares rate limits and its outage follows
// redis_failure_mode; `keyward migrate` carries a SQLite deployment over; the
// first root key banner is printed once. And the systemd unit of
// deploy/cluster passes `systemd-analyze verify`.
//
//   cd tests/functional && KEYWARD_BIN=../../build/keyward node --test cluster.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  KEYWARD_BIN,
  KeywardServer,
  startServer,
  createRootKey,
  runCli,
  psql,
  postgresUrlFor,
  makeTempDir,
  assertError,
  fabricateKey,
  isoIn,
  poll,
  sleep,
} from './lib/keyward.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = path.join(REPO, 'deploy', 'cluster');
const TEST_POSTGRES = path.join(REPO, 'scripts', 'test-postgres');
const NODE_NAMES = ['a', 'b', 'c'];
const PROPAGATION_LIMIT_MS = 1000;
const REVOCATIONS = 30;

const bearer = (key) => ({ authorization: `Bearer ${key}` });

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

// Why this file cannot run here, or false.
const SKIP = (() => {
  const missing = ['psql', 'pg_dump', 'redis-server'].filter((c) => !which(c));
  if (spawnSync('sh', ['-c', 'ls /usr/lib/postgresql/*/bin/initdb'], { encoding: 'utf8' }).status !== 0) {
    missing.push('PostgreSQL server binaries');
  }
  // Never skipped: a machine without them is a broken setup, said loudly.
  if (missing.length) throw new Error(`the cluster suite needs ${missing.join(', ')}: run scripts/install-deps`);
  return false;
})();

// ---------------------------------------------------------------------------
// PostgreSQL: this file's own, stopped and started by the outage test.

const PG_NAME = `keyward-cluster-${process.pid}-${Date.now()}`;
let pgAdminUrl = null;

function testPostgres(...args) {
  const r = spawnSync(TEST_POSTGRES, [args[0], PG_NAME, ...args.slice(1)], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`scripts/test-postgres ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

let databaseCounter = 0;

// A database made the way deploy/cluster/postgres-setup.sql says (owned by
// the role keyward, PUBLIC shut out); its URL connects as that role.
function newDatabase(label = 'cluster') {
  const name = `kw_${label}_${++databaseCounter}`;
  psql(pgAdminUrl, null, { args: ['-v', `dbname=${name}`, '-f', path.join(DEPLOY, 'postgres-setup.sql')] });
  const url = postgresUrlFor(pgAdminUrl, name).replace(/([?&])user=[^&]*/, '$1user=keyward');
  return { name, url };
}

// Every table of the database: its row count and a hash of its rows, so two
// fingerprints are equal exactly when no row changed.
function fingerprint(url) {
  const tables = psql(url, "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
    .split('\n')
    .filter(Boolean);
  const out = {};
  for (const t of tables) {
    out[t] = psql(url, `SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM ${t} x`).trim();
  }
  return out;
}

// ---------------------------------------------------------------------------
// Redis: redis-server with deploy/cluster/redis.conf, on a Unix socket.

class Redis {
  constructor(dir) {
    this.dir = dir;
    this.socket = path.join(dir, 'redis.sock');
    this.url = `unix://${this.socket}`;
    this.proc = null;
    this.log = '';
  }

  async start() {
    fs.rmSync(this.socket, { force: true });
    const args = [
      path.join(DEPLOY, 'redis.conf'),
      '--bind', '127.0.0.1',
      '--port', '0',
      '--unixsocket', this.socket,
      '--unixsocketperm', '700',
      '--dir', this.dir,
      '--daemonize', 'no',
      '--logfile', '',
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = child;
    child.stdout.setEncoding('utf8').on('data', (d) => (this.log += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (this.log += d));
    this.exited = new Promise((resolve) => child.on('close', resolve));
    const up = await poll(() => this.ping(), { timeoutMs: 10_000, intervalMs: 50 });
    assert.ok(up, `redis-server did not answer PING on ${this.socket}\n${this.log}`);
  }

  ping() {
    return new Promise((resolve) => {
      const s = net.createConnection({ path: this.socket });
      let got = '';
      const done = (ok) => {
        s.destroy();
        resolve(ok);
      };
      s.setTimeout(1000, () => done(false));
      s.on('error', () => done(false));
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        got += d;
        if (got.includes('\r\n')) done(got.startsWith('+PONG'));
      });
    });
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    await this.exited;
  }
}

let redis = null;
let tmp = null;

before(async () => {
  if (SKIP) return;
  tmp = makeTempDir('keyward-cluster-');
  pgAdminUrl = testPostgres('start');
  redis = new Redis(tmp);
  await redis.start();
});

after(async () => {
  if (SKIP) return;
  await redis?.stop();
  try {
    testPostgres('stop');
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------
// Nodes from deploy/cluster.

// deploy/cluster/node-<name>.toml with listen, database and redis (and any
// of `more`, {key: value}) replaced; every replaced key must be set in the
// file, so the example and the tests cannot drift apart.
function nodeConfig(name, { database, more = {} }) {
  const file = path.join(DEPLOY, `node-${name}.toml`);
  let text = fs.readFileSync(file, 'utf8');
  const put = (key, value) => {
    const re = new RegExp(`^${key}\\s*=.*$`, 'm');
    assert.match(text, re, `${file} sets ${key}`);
    text = text.replace(re, `${key} = ${JSON.stringify(value)}`);
  };
  put('listen', '127.0.0.1:0');
  put('database', database);
  put('redis', redis.url);
  for (const [k, v] of Object.entries(more)) put(k, v);
  return text;
}

// The command line of deploy/cluster/keyward.service after `keyward serve`,
// with configFile for /etc/keyward/keyward.toml.
function unitServeArgs(configFile) {
  const unit = fs.readFileSync(path.join(DEPLOY, 'keyward.service'), 'utf8');
  const argv = (/^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '').trim().split(/\s+/);
  assert.equal(argv[1], 'serve', `keyward.service runs keyward serve: ${argv.join(' ')}`);
  assert.ok(argv.includes('/etc/keyward/keyward.toml'), `keyward.service reads /etc/keyward/keyward.toml: ${argv.join(' ')}`);
  return argv.slice(2).map((a) => (a === '/etc/keyward/keyward.toml' ? configFile : a));
}

let nodeCounter = 0;

// Starts a node as keyward.service would (its command line, nothing else)
// with deploy/cluster/node-<name>.toml for its configuration, on database;
// closed when the test t ends.
async function startNode(t, name, database, { more, rootKey = null } = {}) {
  const configFile = path.join(tmp, `node-${name}-${++nodeCounter}.toml`);
  fs.writeFileSync(configFile, nodeConfig(name, { database, more }));
  const srv = new KeywardServer({
    args: unitServeArgs(configFile),
    listen: null, // the one in the configuration
    passData: false,
    database: null,
    configDatabase: database,
    rootKey: false,
  });
  t.after(() => srv.close());
  await srv.spawn();
  srv.rootKey = rootKey;
  return srv;
}

// Three nodes (a, b, c) on a new database, with a root key made beforehand
// by `keyward root-keys create --database`.
async function startCluster(t, { more, rootKey = true } = {}) {
  const db = newDatabase();
  const root = rootKey ? await createRootKey('', 'cluster', { database: db.url }) : null;
  const nodes = await Promise.all(NODE_NAMES.map((n) => startNode(t, n, db.url, { more, rootKey: root })));
  return { db, root, nodes };
}

// The sum of every sample of a metric (any labels); undefined when absent.
async function metric(node, name) {
  const r = await node.get('/metrics', { token: null });
  assert.equal(r.status, 200, `/metrics of ${node.url}: ${r.status}`);
  let sum;
  for (const m of r.text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum = (sum ?? 0) + Number(m[1]);
  return sum;
}

const ready = async (node) => (await node.get('/readyz', { token: null })).status;

// Milliseconds from t0 until node answers `revoked` for key (Infinity past limitMs).
async function refusedAfter(node, key, t0, limitMs = 5000) {
  for (;;) {
    const r = await node.post('/v1/keys/verify', { key });
    if (r.status === 200 && r.json.code === 'revoked') return performance.now() - t0;
    if (performance.now() - t0 > limitMs) return Infinity;
    await sleep(5);
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---------------------------------------------------------------------------

test('deploy/cluster: the node configurations differ in listen alone; the unit passes systemd-analyze verify', { skip: SKIP }, (t) => {
  const texts = NODE_NAMES.map((n) =>
    fs.readFileSync(path.join(DEPLOY, `node-${n}.toml`), 'utf8')
      .replace(/^#.*$/gm, '')
      .replace(/^listen\s*=.*$/m, 'listen = …'));
  assert.equal(texts[1], texts[0], 'node-b.toml differs from node-a.toml in more than listen');
  assert.equal(texts[2], texts[0], 'node-c.toml differs from node-a.toml in more than listen');

  const unit = fs.readFileSync(path.join(DEPLOY, 'keyward.service'), 'utf8');
  const settings = new Map();
  for (const line of unit.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) settings.set(m[1], [...(settings.get(m[1]) ?? []), m[2]]);
  }
  for (const [k, v] of Object.entries({
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    MemoryDenyWriteExecute: 'yes',
    CapabilityBoundingSet: '',
    DynamicUser: 'yes',
  })) {
    assert.deepEqual(settings.get(k), [v], `keyward.service: ${k}=${v}`);
  }
  assert.ok(settings.get('SystemCallFilter')?.includes('@system-service'), 'SystemCallFilter=@system-service');
  assert.deepEqual(settings.get('RestrictAddressFamilies'), ['AF_INET AF_INET6 AF_UNIX']);
  assert.match(settings.get('ExecStart')?.[0] ?? '', /^\/usr\/local\/bin\/keyward serve --config \/etc\/keyward\/keyward\.toml$/);

  if (!which('systemd-analyze')) {
    t.skip('systemd-analyze is not installed: the unit file was read, not verified');
    return;
  }
  // verify wants ExecStart's binary to exist: the one under test.
  const dir = makeTempDir('keyward-unit-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const copy = path.join(dir, 'keyward.service');
  fs.writeFileSync(copy, unit.replace(/^ExecStart=\/usr\/local\/bin\/keyward /m, `ExecStart=${KEYWARD_BIN} `));
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', copy], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) {
    t.skip(`systemd-analyze cannot run here: ${r.error.message}`);
    return;
  }
  // verify exits 0 on unknown settings too, with a warning: none may appear.
  const warnings = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim());
  assert.equal(r.status, 0, `systemd-analyze verify exited ${r.status}:\n${r.stdout}${r.stderr}`);
  assert.deepEqual(warnings, [], `systemd-analyze verify complained about keyward.service`);
});

test('three nodes started at once on an empty database: exactly one prints the first root key', { skip: SKIP }, async (t) => {
  const db = newDatabase('banner');
  const nodes = await Promise.all(NODE_NAMES.map((n) => startNode(t, n, db.url)));
  // The banner comes before the "listening" line, but on another pipe.
  await poll(() => nodes.some((n) => /kw_root_/.test(n.stderr)), { timeoutMs: 3000 });
  await sleep(300);
  const shown = nodes.map((n) => n.stderr.match(/kw_root_[0-9A-Za-z]{40}/g) ?? []);
  const printers = shown.filter((s) => s.length > 0).length;
  assert.equal(printers, 1, `nodes printing a root key: ${printers}\n` + nodes.map((n, i) => `node ${NODE_NAMES[i]}: ${n.stderr}`).join('\n'));
  const [root] = shown.flat();
  assert.equal(shown.flat().length, 1, 'one root key, once');
  for (const n of nodes) {
    n.rootKey = root;
    assert.equal((await n.get('/v1/workspaces')).status, 200, `the banner's key works on ${n.url}`);
  }
  const audit = await nodes[0].listAll('/v1/audit-log');
  assert.equal(audit.filter((e) => e.action === 'root_key.create').length, 1, 'one root key created');
  const list = await runCli(['root-keys', 'list', '--database', db.url, '--json']);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(JSON.parse(list.stdout).length, 1, `root-keys list: ${list.stdout}`);
});

test(`a revocation on node a is refused on b and c within ${PROPAGATION_LIMIT_MS} ms (${REVOCATIONS} revocations)`, { skip: SKIP }, async (t) => {
  const { nodes: [a, b, c] } = await startCluster(t);
  const ws = await a.createWorkspace('propagation', { max_active_keys: 1000 });
  const keys = [];
  for (let i = 0; i < REVOCATIONS; i++) keys.push(await a.createKey(ws.id, { name: `k${i}` }));
  // b and c know every key as valid (their caches hold them).
  for (const k of keys) {
    for (const n of [b, c]) assert.equal((await n.verify({ key: k.key })).code, 'valid', `${k.id} on ${n.url}`);
  }
  const delays = [];
  const late = [];
  for (const k of keys) {
    const del = await a.del(`/v1/api-keys/${k.id}`);
    assert.equal(del.status, 200, del.text);
    const t0 = performance.now();
    const [tb, tc] = await Promise.all([refusedAfter(b, k.key, t0), refusedAfter(c, k.key, t0)]);
    delays.push(tb, tc);
    if (Math.max(tb, tc) >= PROPAGATION_LIMIT_MS) late.push(`${k.id}: b ${tb.toFixed(0)} ms, c ${tc.toFixed(0)} ms`);
    assert.equal((await a.verify({ key: k.key })).code, 'revoked', 'refused at once on the node that revoked it');
  }
  const sorted = [...delays].sort((x, y) => x - y);
  const summary = `revocation propagation, ${REVOCATIONS} revocations x 2 nodes: ` +
    `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms`;
  t.diagnostic(summary);
  console.log(`# ${summary}`);
  assert.deepEqual(late, [], `revocations accepted elsewhere for ${PROPAGATION_LIMIT_MS} ms or more`);
});

test('30 creates racing over three nodes against a limit of 5 make exactly 5 keys', { skip: SKIP }, async (t) => {
  const { nodes } = await startCluster(t);
  const ws = await nodes[0].createWorkspace('race', { max_active_keys: 5 });
  const race = (n, label) =>
    Promise.all(Array.from({ length: n }, (_, i) =>
      nodes[i % 3].post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `${label} ${i}` })));

  const answers = await race(30, 'racer');
  const created = answers.filter((r) => r.status === 201);
  const statuses = answers.map((r) => r.status).join(' ');
  assert.equal(created.length, 5, `201s: ${created.length}; statuses ${statuses}`);
  for (const r of answers) if (r.status !== 201) assertError(r, 409, 'key_limit_reached', 'a create past the limit');
  const ids = created.map((r) => r.json.id).sort();
  for (const n of nodes) {
    const list = await n.listAll(`/v1/api-keys?workspace_id=${ws.id}`);
    assert.deepEqual(list.map((k) => k.id).sort(), ids, `the keys listed by ${n.url}`);
    assert.equal((await n.get(`/v1/workspaces/${ws.id}`)).json.active_keys, 5, `active_keys on ${n.url}`);
    for (const r of created) assert.equal((await n.verify({ key: r.json.key })).code, 'valid');
  }

  // Two revoked on two nodes free two slots, for the whole cluster.
  assert.equal((await nodes[1].del(`/v1/api-keys/${ids[0]}`)).status, 200);
  assert.equal((await nodes[2].del(`/v1/api-keys/${ids[1]}`)).status, 200);
  const again = await race(12, 'second');
  assert.equal(again.filter((r) => r.status === 201).length, 2, again.map((r) => r.status).join(' '));
  for (const r of again) if (r.status !== 201) assertError(r, 409, 'key_limit_reached');
  for (const n of nodes) {
    const active = await n.listAll(`/v1/api-keys?workspace_id=${ws.id}&status=active`);
    assert.equal(active.length, 5, `active keys listed by ${n.url}`);
  }
});

test('usage from all nodes adds up', { skip: SKIP }, async (t) => {
  const { nodes } = await startCluster(t);
  const ws = await nodes[0].createWorkspace('usage');
  const k = await nodes[0].createKey(ws.id, { name: 'busy' });
  const N = 60;
  const answers = await Promise.all(Array.from({ length: N }, (_, i) => nodes[i % 3].auth(bearer(k.key))));
  assert.deepEqual(answers.filter((r) => r.status !== 200).map((r) => r.text), []);
  // Each node writes its counters once a second.
  const counted = await poll(async () => {
    const r = await nodes[1].get(`/v1/usage?key_id=${k.id}&granularity=minute`);
    return r.json?.valid === N && r;
  }, { timeoutMs: 10_000 });
  const last = (await nodes[1].get(`/v1/usage?key_id=${k.id}&granularity=minute`)).json;
  assert.ok(counted, `usage of ${N} verifications over three nodes: ${JSON.stringify(last)}`);
  for (const n of nodes) {
    const u = (await n.get(`/v1/usage?key_id=${k.id}&granularity=minute`)).json;
    assert.equal(u.valid, N, `valid on ${n.url}`);
    assert.equal(u.total, N, `total on ${n.url}`);
    const got = (await n.get(`/v1/api-keys/${k.id}`)).json;
    assert.equal(got.requests_24h, N, `requests_24h on ${n.url}`);
    assert.notEqual(got.last_used_at, null);
  }
});

test('a node killed with SIGKILL during a stream of writes loses no answered write', { skip: SKIP }, async (t) => {
  const { nodes: [a, b, c] } = await startCluster(t);
  const ws = await b.createWorkspace('kill -9', { max_active_keys: 100000 });
  const created = new Map(); // id -> secret, answered 201
  const revoked = new Set(); // answered 200
  const unexpected = [];
  let answeredOnA = 0;
  let answeredOnB = 0;
  for (let round = 1; round <= 3; round++) {
    let killed = false;
    const onA = async (s) => {
      const mine = [];
      for (let i = 0; !killed; i++) {
        try {
          if (mine.length > 2 && i % 3 === 0) {
            const id = mine.shift();
            const r = await a.del(`/v1/api-keys/${id}`, { body: { reason: `round ${round}` } });
            if (r.status === 200) {
              revoked.add(id);
              answeredOnA++;
            } else {
              unexpected.push(`DELETE ${id}: ${r.status} ${r.text}`);
            }
          } else {
            const r = await a.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `r${round} s${s} ${i}` });
            if (r.status === 201) {
              created.set(r.json.id, r.json.key);
              mine.push(r.json.id);
              answeredOnA++;
            } else {
              unexpected.push(`POST: ${r.status} ${r.text}`);
            }
          }
        } catch (e) {
          if (!killed) throw e; // the connection died with the process: the answer never came
          return;
        }
      }
    };
    // Meanwhile b takes writes too, and must not notice.
    const onB = async () => {
      while (!killed) {
        const r = await b.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `on b, round ${round}` });
        if (r.status !== 201) unexpected.push(`b: POST ${r.status} ${r.text}`);
        else {
          created.set(r.json.id, r.json.key);
          answeredOnB++;
        }
      }
    };
    const runs = [0, 1, 2, 3].map(onA);
    const runB = onB();
    const before = answeredOnA;
    await poll(() => answeredOnA >= before + 20, { timeoutMs: 10_000, intervalMs: 10 });
    await sleep(Math.floor(Math.random() * 100));
    killed = true;
    await a.kill9();
    await Promise.all([...runs, runB]);
    assert.deepEqual(unexpected, [], `round ${round}: answers other than success`);

    // Everything answered is there, seen from c.
    const missing = [];
    for (const [id, secret] of created) {
      const r = await c.get(`/v1/api-keys/${id}`);
      if (r.status !== 200) {
        missing.push(`${id}: ${r.status}`);
        continue;
      }
      const want = revoked.has(id) ? 'revoked' : null;
      if (want && r.json.status !== want) missing.push(`${id}: status ${r.json.status}, answered revoked`);
      const v = await c.verify({ key: secret });
      if (v.code !== (r.json.status === 'revoked' ? 'revoked' : 'valid')) missing.push(`${id}: verifies ${v.code}, status ${r.json.status}`);
    }
    assert.deepEqual(missing, [], `round ${round}: answered writes not seen on c`);
    await a.restart();
  }
  const audit = await c.listAll(`/v1/audit-log?workspace_id=${ws.id}`);
  const creates = new Set(audit.filter((e) => e.action === 'key.create').map((e) => e.target));
  const revokes = new Set(audit.filter((e) => e.action === 'key.revoke').map((e) => e.target));
  for (const id of created.keys()) assert.ok(creates.has(id), `key.create of ${id} audited`);
  for (const id of revoked) assert.ok(revokes.has(id), `key.revoke of ${id} audited`);
  t.diagnostic(`${created.size} creates (${answeredOnB} on b) and ${revoked.size} revocations answered over 3 kills`);
  assert.ok(answeredOnA >= 60, `only ${answeredOnA} writes answered by a`);
});

test('PostgreSQL stopped and started: cached keys verify, the rest answers 503, all heal without a restart', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const { nodes } = await startCluster(t);
  const [a, b, c] = nodes;
  const ws = await a.createWorkspace('outage');
  const cached = await a.createKey(ws.id, { name: 'cached' });
  const later = await a.createKey(ws.id, { name: 'revoked after the outage' });
  const uncached = await a.createKey(ws.id, { name: 'never seen by b and c' });
  const warm = async () => {
    for (const n of nodes) {
      assert.equal((await n.verify({ key: cached.key })).code, 'valid');
      assert.equal((await n.auth(bearer(cached.key))).status, 200);
      assert.equal((await n.verify({ key: later.key })).code, 'valid');
    }
  };
  // Every node caches the keys; once the creates' own change notices have
  // come round (the change log is read every 200 ms), once more.
  await warm();
  await sleep(600);
  await warm();
  for (const n of nodes) {
    assert.equal(await ready(n), 200);
    assert.equal(await metric(n, 'keyward_store_up'), 1, `keyward_store_up on ${n.url}`);
  }
  const pids = nodes.map((n) => n.proc.pid);
  // Every node's pool holds a connection that has just written.
  for (const n of nodes) await n.createWorkspace('just before the outage');
  let phase = Date.now();
  const lap = (what) => {
    t.diagnostic(`${what}: ${Date.now() - phase} ms`);
    phase = Date.now();
  };

  testPostgres('pause', 'immediate');
  lap('PostgreSQL stopped');
  let restarted = false;
  try {
    // The first write after the database went away finds its pooled
    // connection dead: still 503 storage_unavailable, never a 500.
    const first = await Promise.all(nodes.map((n) => n.post('/v1/workspaces', { name: 'the first write of the outage' })));
    first.forEach((r, i) => assertError(r, 503, 'storage_unavailable', `the first write of the outage on ${nodes[i].url}`));
    lap('first writes answered');
    for (const n of nodes) {
      assert.ok(await poll(async () => (await ready(n)) === 503, { timeoutMs: 10_000 }), `/readyz of ${n.url} during the outage`);
      const r = await n.get('/readyz', { token: null });
      assert.equal(r.status, 503, r.text);
    }
    for (const n of nodes) {
      assertError(await n.post('/v1/workspaces', { name: 'during the outage' }), 503, 'storage_unavailable', `a create on ${n.url}`);
      assertError(await n.del(`/v1/api-keys/${later.id}`), 503, 'storage_unavailable', `a revocation on ${n.url}`);
      const gw = await n.auth(bearer(cached.key));
      assert.equal(gw.status, 200, `GET /v1/auth of a cached key on ${n.url}: ${gw.status} ${gw.text}`);
      const v = await n.post('/v1/keys/verify', { key: cached.key });
      assert.equal(v.status, 200, `POST /v1/keys/verify of a cached key (the root key's authentication included) on ${n.url}: ${v.status} ${v.text}`);
      assert.equal(v.json.code, 'valid', `a cached key on ${n.url}: ${v.text}`);
      assert.equal(await metric(n, 'keyward_store_up'), 0, `keyward_store_up on ${n.url}`);
    }
    for (const n of [b, c]) {
      assertError(await n.auth(bearer(uncached.key)), 503, 'storage_unavailable', `GET /v1/auth of an uncached key on ${n.url}`);
      assertError(await n.post('/v1/keys/verify', { key: uncached.key }), 503, 'storage_unavailable', `verify of an uncached key on ${n.url}`);
    }
    lap('answers during the outage checked');
  } finally {
    testPostgres('start');
    restarted = true;
  }
  assert.ok(restarted);
  lap('PostgreSQL started');

  for (const n of nodes) {
    assert.ok(await poll(async () => (await ready(n)) === 200, { timeoutMs: 20_000 }), `/readyz of ${n.url} after the outage`);
  }
  lap('every node ready');
  for (const n of nodes) {
    const first = await poll(async () => {
      const r = await n.post('/v1/workspaces', { name: 'after the outage' });
      return r.status === 201 && r;
    }, { timeoutMs: 5000 });
    assert.ok(first, `a write on ${n.url} after the outage`);
    for (let i = 0; i < 3; i++) assert.equal((await n.post('/v1/workspaces', { name: `after ${i}` })).status, 201);
    assert.equal(await metric(n, 'keyward_store_up'), 1, `keyward_store_up on ${n.url}`);
  }
  lap('writes answered');
  for (const n of [b, c]) assert.equal((await n.verify({ key: uncached.key })).code, 'valid', `the uncached key on ${n.url}`);
  // Changes reach every node again.
  const del = await a.del(`/v1/api-keys/${later.id}`);
  assert.equal(del.status, 200, del.text);
  const t0 = performance.now();
  const took = await Promise.all([b, c].map((n) => refusedAfter(n, later.key, t0)));
  assert.ok(Math.max(...took) < PROPAGATION_LIMIT_MS, `a revocation after the outage took ${took.map((x) => x.toFixed(0)).join(' and ')} ms to reach b and c`);
  assert.deepEqual(nodes.map((n) => n.proc.pid), pids, 'no node was restarted');
  for (const n of nodes) assert.ok(n.running, `${n.url} still runs`);
});

test('Redis shares rate limits over the nodes; its outage follows redis_failure_mode and heals', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const { db, root, nodes } = await startCluster(t, { more: { failed_verifications_per_ip: 6 } });
  const [a] = nodes;
  // A fourth node that refuses what it cannot count.
  const closed = await startNode(t, 'a', db.url, { more: { redis_failure_mode: 'fail_closed', failed_verifications_per_ip: 6 }, rootKey: root });
  const ws = await a.createWorkspace('limits', { max_active_keys: 100 });
  const limited = async (name) => a.createKey(ws.id, { name, rate_limit: { limit: 10, period_seconds: 60 } });
  const spread = async (key, n) => {
    const codes = [];
    for (let i = 0; i < n; i++) codes.push((await nodes[i % 3].auth(bearer(key))).status);
    return codes;
  };
  const count = (codes, s) => codes.filter((c) => c === s).length;
  // A key that uses Redis on every verification and never runs out.
  const probe = await a.createKey(ws.id, { name: 'probe', rate_limit: { limit: 1_000_000, period_seconds: 60 } });
  for (const n of [...nodes, closed]) {
    assert.equal((await n.auth(bearer(probe.key))).status, 200);
    assert.equal(await metric(n, 'keyward_redis_up'), 1, `keyward_redis_up on ${n.url}`);
  }

  // One budget for the cluster.
  const shared = await limited('shared');
  const codes = await spread(shared.key, 30);
  assert.equal(count(codes, 200), 10, `valid answers over three nodes: ${codes.join(' ')}`);
  assert.equal(count(codes, 429), 20, codes.join(' '));
  assertError(await nodes[1].auth(bearer(shared.key)), 429, 'rate_limited');

  // The failed-verification budget of an address is the cluster's too: 6
  // unknown keys over three nodes spend it on all of them.
  const good = await a.createKey(ws.id, { name: 'good' });
  for (let i = 0; i < 6; i++) {
    const v = await nodes[i % 3].verify({ key: fabricateKey('kw', 'live'), ip: '203.0.113.77' });
    assert.equal(v.code, 'invalid', JSON.stringify(v));
  }
  for (const n of nodes) {
    assert.equal((await n.verify({ key: good.key, ip: '203.0.113.77' })).code, 'rate_limited', `the spent address on ${n.url}`);
    assert.equal((await n.verify({ key: good.key, ip: '203.0.113.78' })).code, 'valid', `another address on ${n.url}`);
  }

  await redis.stop();
  try {
    // fail_open: every node answers, limiting on its own.
    const open = await limited('during the outage, fail_open');
    for (const n of nodes) {
      const got = [];
      for (let i = 0; i < 12; i++) got.push((await n.auth(bearer(open.key))).status);
      assert.equal(count(got, 200), 10, `${n.url} limits on its own: ${got.join(' ')}`);
      assert.equal(count(got, 429), 2, got.join(' '));
      assert.equal(await metric(n, 'keyward_redis_up'), 0, `keyward_redis_up on ${n.url}`);
      assert.ok((await metric(n, 'keyward_redis_fallback_decisions_total')) > 0, `keyward_redis_fallback_decisions_total on ${n.url}`);
    }
    // fail_closed: refused.
    const shut = await limited('during the outage, fail_closed');
    assertError(await closed.auth(bearer(shut.key)), 429, 'rate_limited', 'fail_closed during a Redis outage');
    assert.equal(await metric(closed, 'keyward_redis_up'), 0, 'keyward_redis_up on the fail_closed node');
  } finally {
    await redis.start();
  }

  for (const n of [...nodes, closed]) {
    const up = await poll(async () => {
      await n.auth(bearer(probe.key));
      return (await metric(n, 'keyward_redis_up')) === 1;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    assert.ok(up, `keyward_redis_up on ${n.url} after the outage`);
  }
  const back = await limited('after the outage');
  const after = await spread(back.key, 30);
  assert.equal(count(after, 200), 10, `shared again after the outage: ${after.join(' ')}`);
  const reopened = await limited('fail_closed after the outage');
  assert.equal((await closed.auth(bearer(reopened.key))).status, 200, 'fail_closed answers again');
});

test('keyward migrate carries a SQLite deployment to PostgreSQL, once, and refuses a database holding other data', { skip: SKIP, timeout: 120_000 }, async (t) => {
  // A SQLite deployment, made by the binary.
  const src = await startServer({ database: null });
  t.after(() => src.close());
  const ws1 = await src.createWorkspace('acme', { max_active_keys: 10 });
  const ws2 = await src.createWorkspace('globex');
  const keys = {};
  keys.plain = await src.createKey(ws1.id, {
    name: 'plain',
    scopes: ['orders:read', 'products:*'],
    meta: { tier: 'gold', n: 1 },
    ip_allowlist: ['10.0.0.0/8'],
    rate_limit: { limit: 1000, period_seconds: 60 },
  });
  keys.revoked = await src.createKey(ws1.id, { name: 'leaked' });
  assert.equal((await src.del(`/v1/api-keys/${keys.revoked.id}`, { body: { reason: 'posted in a forum' } })).status, 200);
  keys.graced = await src.createKey(ws1.id, { name: 'rotating' });
  const rot = await src.post(`/v1/api-keys/${keys.graced.id}/rotate`, { grace_seconds: 3600 });
  assert.equal(rot.status, 201, rot.text);
  keys.rotated = rot.json;
  keys.replaced = await src.createKey(ws2.id, { name: 'replaced at once', environment: 'test' });
  const rot0 = await src.post(`/v1/api-keys/${keys.replaced.id}/rotate`, { grace_seconds: 0 });
  assert.equal(rot0.status, 201, rot0.text);
  keys.replacement = rot0.json;
  keys.disabled = await src.createKey(ws2.id, { name: 'off' });
  assert.equal((await src.patch(`/v1/api-keys/${keys.disabled.id}`, { enabled: false })).status, 200);
  keys.expiring = await src.createKey(ws2.id, { name: 'until tomorrow', expires_at: isoIn(86_400) });
  for (let i = 0; i < 5; i++) await src.auth({ ...bearer(keys.plain.key), 'x-real-ip': '10.1.2.3' });
  for (let i = 0; i < 2; i++) await src.auth(bearer(keys.revoked.key));
  await src.auth(bearer(keys.rotated.key));
  const second = await createRootKey(src.dataDir, 'second', { database: null });
  const third = await createRootKey(src.dataDir, 'third', { database: null });
  const roots = JSON.parse((await runCli(['root-keys', 'list', '--data', src.dataDir, '--json'])).stdout);
  const thirdId = roots.find((k) => third.startsWith(k.short_prefix))?.id;
  assert.match(thirdId ?? '', /^rk_/, JSON.stringify(roots));
  assert.equal((await runCli(['root-keys', 'revoke', '--data', src.dataDir, thirdId])).code, 0);
  assert.ok(await poll(async () => (await src.get(`/v1/usage?workspace_id=${ws1.id}&granularity=day`)).json?.total === 8),
    'usage written before the stop');

  const verifyAll = async (srv) => {
    const out = {};
    for (const [name, k] of Object.entries(keys)) {
      const v = await srv.verify({ key: k.key, ip: '10.1.2.3' });
      out[name] = { code: v.code, key_id: v.key_id ?? null };
    }
    return out;
  };
  const wantCodes = await verifyAll(src);
  assert.equal(wantCodes.plain.code, 'valid');
  assert.equal(wantCodes.revoked.code, 'revoked');
  assert.equal(wantCodes.graced.code, 'valid', 'in its grace');
  assert.equal(wantCodes.disabled.code, 'disabled');
  const usageOf = async (srv) => {
    const out = {};
    for (const q of [`workspace_id=${ws1.id}`, `workspace_id=${ws2.id}`, `key_id=${keys.revoked.id}`]) {
      const r = await srv.get(`/v1/usage?${q}&granularity=day`);
      assert.equal(r.status, 200, r.text);
      out[q] = r.json;
    }
    return out;
  };
  // Verifying just now counted usage too: stop (flushing it), then read
  // everything the source holds.
  await src.restart();
  const want = {
    snapshot: await src.snapshot(),
    keys: await src.listAll('/v1/api-keys'),
    usage: await usageOf(src),
    active: (await src.get(`/v1/workspaces/${ws1.id}`)).json.active_keys,
  };
  await src.stop();

  const target = newDatabase('migrated');
  const first = await runCli(['migrate', '--from', src.dataDir, '--to', target.url], { timeoutMs: 120_000 });
  assert.equal(first.code, 0, `keyward migrate exited ${first.code}\nstderr: ${first.stderr}\nstdout: ${first.stdout}`);
  assert.match(first.stderr, /\d/, `a progress line on stderr: ${JSON.stringify(first.stderr)}`);
  const once = fingerprint(target.url);
  const again = await runCli(['migrate', '--from', src.dataDir, '--to', target.url], { timeoutMs: 120_000 });
  assert.equal(again.code, 0, `a second keyward migrate exited ${again.code}: ${again.stderr}`);
  assert.deepEqual(fingerprint(target.url), once, 'a second run changes nothing');

  // A node on the migrated database answers as the SQLite deployment did.
  const node = await startNode(t, 'a', target.url, { rootKey: src.rootKey });
  assert.equal((await node.get('/v1/workspaces')).status, 200, 'the first root key works');
  node.rootKey = second;
  assert.equal((await node.get('/v1/workspaces')).status, 200, 'the second root key works');
  node.rootKey = third;
  assertError(await node.get('/v1/workspaces'), 401, 'unauthorized', 'the revoked root key');
  node.rootKey = src.rootKey;
  assert.deepEqual(await node.snapshot(), want.snapshot, 'workspaces, keys and audit log');
  assert.deepEqual(await node.listAll('/v1/api-keys'), want.keys, 'keys with their usage counts and last use');
  assert.deepEqual(await usageOf(node), want.usage, 'usage');
  assert.deepEqual(await verifyAll(node), wantCodes, 'every key verifies as before');
  // And it goes on from there: the workspace's limit counts the migrated keys.
  assert.equal((await node.get(`/v1/workspaces/${ws1.id}`)).json.active_keys, want.active);
  const fresh = await node.createKey(ws1.id, { name: 'after the move' });
  assert.equal((await node.verify({ key: fresh.key })).code, 'valid');

  // Into a database that holds another deployment: refused, nothing changed.
  const other = newDatabase('other');
  const otherRoot = await createRootKey('', 'other', { database: other.url });
  const otherNode = await startNode(t, 'b', other.url, { rootKey: otherRoot });
  await otherNode.createWorkspace('someone else');
  await otherNode.stop();
  const untouched = fingerprint(other.url);
  const refused = await runCli(['migrate', '--from', src.dataDir, '--to', other.url], { timeoutMs: 120_000 });
  assert.notEqual(refused.code, 0, `migrating into a database holding other data must fail: ${refused.stderr}`);
  assert.match(refused.stderr, /not empty|other data|holds|already|refus/i, `a clear message: ${refused.stderr}`);
  assert.deepEqual(fingerprint(other.url), untouched, 'the refused target is unchanged');
});

test('a database password reaches no log line, error body, /metrics or command output', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const secret = `pw-${Math.random().toString(36).slice(2)}-never-shown`;
  const db = newDatabase('secret');
  const url = `${db.url}&password=${secret}`;
  const seen = [];
  const keep = (label, text) => seen.push([label, String(text ?? '')]);
  // The command line: a root key made and listed through the URL.
  const created = await runCli(['root-keys', 'create', '--database', url, '--name', 'ops']);
  assert.equal(created.code, 0, created.stderr);
  keep('root-keys create stderr', created.stderr);
  const listed = await runCli(['root-keys', 'list', '--database', url]);
  keep('root-keys list', listed.stdout + listed.stderr);
  // A database that cannot be reached, named with the password.
  const unreachable = url.replace(/host=[^&]*/, 'host=/nonexistent-keyward-socket-dir');
  const refused = await runCli(['root-keys', 'list', '--database', unreachable]);
  assert.notEqual(refused.code, 0);
  keep('root-keys list, unreachable', refused.stdout + refused.stderr);
  const migrate = await runCli(['migrate', '--from', makeTempDir(), '--to', unreachable]);
  assert.notEqual(migrate.code, 0);
  keep('migrate, unreachable', migrate.stdout + migrate.stderr);
  // A node: its logs, /metrics, and the answers of an outage.
  const node = await startNode(t, 'a', url, { rootKey: created.stdout.trim() });
  const ws = await node.createWorkspace('secrets');
  await node.createKey(ws.id, { name: 'k' });
  keep('/metrics', (await node.get('/metrics', { token: null })).text);
  testPostgres('pause', 'immediate');
  try {
    const write = await node.post('/v1/workspaces', { name: 'during the outage' });
    assert.equal(write.status, 503, write.text);
    keep('503 body', write.text);
    keep('/readyz body', (await node.get('/readyz', { token: null })).text);
    keep('/metrics during the outage', (await node.get('/metrics', { token: null })).text);
    await sleep(700); // the change-log reader and the usage flush fail, and say so
  } finally {
    testPostgres('start');
  }
  await poll(async () => (await ready(node)) === 200, { timeoutMs: 15_000 });
  await node.stop();
  keep('node stdout', node.allStdout);
  keep('node stderr', node.allStderr);
  assert.match(node.allStdout, /reading the key change log failed/, 'the outage was logged');
  for (const [label, text] of seen) {
    assert.ok(!text.includes(secret), `the database password appears in ${label}`);
  }
});
