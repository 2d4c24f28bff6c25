// Storage faults on real file systems (SQLite only): a disk that fills up
// (a small tmpfs, filled with a file and through the API), a data directory
// deleted under the running server, and an ext4 file system the kernel turns
// read-only. In each: changes answer 503 (never 500, never 2xx for a write
// that was not stored), /readyz and /metrics say the fault, the log says it
// once when it begins and once when it ends, keys already checked keep
// verifying, revocations commit on a full disk, and keyward recovers by
// itself when storage returns; after a restart every write answered 2xx is
// there and nothing answered 503 is.
//
// Needs root (mount, losetup, /sys/fs/ext4); the tests run as root in CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer,
  createRootKey,
  runCli,
  makeTempDir,
  poll,
  sleep,
  assertError,
  assertNoSecretIn,
  trackSecrets,
  withoutRootKeyBanner,
  fabricateKey,
  ENGINE,
} from './lib/keyward.mjs';
import {
  sh,
  mountTmpfs,
  Ext4Image,
  fillDisk,
  freeBytes,
  readMetrics,
  assertFaultMetrics,
  FAULTS,
  logLines,
  faultBeganLines,
  faultEndedLines,
  logTail,
  storageSamples,
} from './lib/faults.mjs';

const RESERVE = 524288;
const FULL_MESSAGE = /^storage is full: /;
const MISSING_MESSAGE = /^storage is unavailable: keyward's database file was deleted or moved\. /;

const canMount = process.getuid?.() === 0;
const sqliteOnly = { skip: ENGINE !== 'sqlite' ? 'SQLite only' : !canMount ? 'needs root (mount)' : false };

// ---------------------------------------------------------------------------
// Bookkeeping shared by the tests

// Records every answer of srv.api: error bodies (for the secrets check) and
// any 500 (never allowed).
function recordAnswers(srv) {
  const rec = { errorBodies: [], fiveHundreds: [] };
  const api = srv.api.bind(srv);
  srv.api = async (method, p, opts) => {
    const r = await api(method, p, opts);
    if (r.status >= 400) rec.errorBodies.push(r.text);
    if (r.status >= 500 && r.status !== 503) rec.fiveHundreds.push(`${method} ${p} -> ${r.status} ${r.text}`);
    return r;
  };
  return rec;
}

function bearer(key) {
  return { authorization: `Bearer ${key}` };
}

async function readyz(srv) {
  return srv.get('/readyz', { token: null });
}

// Polls until /readyz answers `status`; returns {res, ms}.
async function waitReady(srv, status, timeoutMs) {
  const t0 = Date.now();
  const res = await poll(async () => {
    const r = await readyz(srv);
    return r.status === status ? r : null;
  }, { timeoutMs, intervalMs: 50 });
  const last = res ?? (await readyz(srv));
  return { res: last, ms: Date.now() - t0, ok: !!res };
}

async function rootKeyId(dataDir, secret) {
  const r = await runCli(['root-keys', 'list', '--data', dataDir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const id = JSON.parse(r.stdout).find((k) => secret.startsWith(k.short_prefix))?.id;
  assert.match(id ?? '', /^rk_/, r.stdout);
  return id;
}

async function keyCount(srv, workspaceId) {
  return (await srv.listAll(`/v1/api-keys?workspace_id=${workspaceId}`)).length;
}

async function usageTotal(srv, keyId) {
  const r = await srv.get(`/v1/usage?key_id=${keyId}&granularity=day`);
  assert.equal(r.status, 200, r.text);
  return r.json.total;
}

// No secret (root keys, keys handed out) in the log, the metrics or an
// error body, and no 500.
async function assertNothingLeaked(srv, secrets, rec, what) {
  assert.deepEqual(rec.fiveHundreds, [], `${what}: answers other than 503 in the 5xx range`);
  assertNoSecretIn(srv.allStdout, secrets, `${what}: the log (stdout)`);
  assertNoSecretIn(withoutRootKeyBanner(srv.allStderr), secrets, `${what}: stderr`);
  rec.errorBodies.forEach((b, i) => assertNoSecretIn(b, secrets, `${what}: error body #${i} ${b.slice(0, 80)}`));
  if (srv.running) assertNoSecretIn((await readMetrics(srv)).text, secrets, `${what}: /metrics`);
}

function assertOneFaultLine(srv, fault, what) {
  const began = faultBeganLines(srv);
  assert.equal(began.length, 1, `${what}: exactly one "storage fault" line, got ${began.length}:\n${began.map((l) => JSON.stringify(l)).join('\n')}`);
  assert.equal(began[0].fault, fault, `${what}: ${JSON.stringify(began[0])}`);
  assert.equal(began[0].level, 'error');
}

function assertOneRecoveryLine(srv, fault, what) {
  const ended = faultEndedLines(srv);
  assert.equal(ended.length, 1, `${what}: exactly one "storage works again" line, got ${ended.length}:\n${ended.map((l) => JSON.stringify(l)).join('\n')}`);
  assert.equal(ended[0].level, 'info', JSON.stringify(ended[0]));
  assert.equal(ended[0].fault_ended, fault, JSON.stringify(ended[0]));
}

// Checks whose failure should not stop the rest of a long scenario: each
// failure is printed as a diagnostic at once and fails the test at its end
// (assertNoSoftFailures). soft(fn) resolves true when fn passed.
function softChecks(t) {
  const failures = [];
  return {
    async soft(fn) {
      try {
        await fn();
        return true;
      } catch (e) {
        failures.push(e);
        t.diagnostic(`FAILED (the scenario goes on; details at the end): ${e.message.split('\n')[0]}`);
        return false;
      }
    },
    assertNoSoftFailures() {
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, failures.map((e) => e.message).join('\n---\n'));
    },
  };
}

function prepareDataDir(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

// ---------------------------------------------------------------------------
// 1. A full disk

test('a real full disk: changes 503 storage_full, revocations commit, recovery without a restart', sqliteOnly, async (t) => {
  const disk = mountTmpfs(6 * 1024 * 1024);
  const { soft, assertNoSoftFailures } = softChecks(t);
  let srv;
  try {
    const dataDir = path.join(disk.dir, 'data');
    prepareDataDir(dataDir);
    srv = await startServer({ dataDir, env: { KEYWARD_STORAGE_RESERVE_BYTES: String(RESERVE) } });
    const rec = recordAnswers(srv);
    const secrets = trackSecrets(srv);
    secrets.push(srv.rootKey);

    let m = await readMetrics(srv);
    assertFaultMetrics(m, null, 'at start');
    assert.equal(m.get('keyward_storage_reserve_bytes'), RESERVE, 'the reserve is held');
    const reserveFile = fs.statSync(path.join(dataDir, 'keyward.reserve'));
    assert.ok(reserveFile.blocks * 512 >= RESERVE, `keyward.reserve holds ${reserveFile.blocks * 512} bytes of blocks`);

    // Before the fault: a workspace, keys, verifications, a second root key.
    const ws = await srv.createWorkspace('full disk', { max_active_keys: 100000 });
    const stored = []; // every key answered 201
    for (let i = 0; i < 4; i++) stored.push(await srv.createKey(ws.id, { name: `before-${i}` }));
    const verified = new Map(); // key id -> /v1/auth 200 answers
    const authOk = async (k, what) => {
      const r = await srv.auth(bearer(k.key));
      assert.equal(r.status, 200, `${what}: /v1/auth ${k.id} answered ${r.status} ${r.text}`);
      verified.set(k.id, (verified.get(k.id) ?? 0) + 1);
    };
    for (const k of stored.slice(0, 3)) await authOk(k, 'before the fault');
    const second = await createRootKey(dataDir, 'second', { database: null });
    secrets.push(second);
    const secondId = await rootKeyId(dataDir, second);
    assert.equal((await srv.get('/v1/workspaces', { token: second })).status, 200, 'the second root key works');

    // Fill the disk: a file takes all but the last few hundred KiB, the API
    // fills those (key after key, each with a large meta), a second file
    // whatever crumbs are left.
    fillDisk(path.join(disk.dir, 'filler-1'), { leaveBytes: 320 * 1024 });
    const big = { note: 'x'.repeat(7000) };
    let refused = null;
    for (let i = 0; i < 5000; i++) {
      const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `fill-${i}`, meta: big });
      if (r.status === 201) {
        stored.push(r.json);
        continue;
      }
      refused = r;
      break;
    }
    assert.ok(refused, `the disk never filled through the API (${stored.length} keys, ${freeBytes(disk.dir)} bytes free)`);
    assertError(refused, 503, 'storage_full', 'the create that met the full disk');
    assert.match(refused.json.message, FULL_MESSAGE, refused.text);
    assert.ok(stored.length > 4, `some keys were created through the API before it filled (${stored.length})`);
    fillDisk(path.join(disk.dir, 'filler-2'));
    t.diagnostic(`disk full after ${stored.length - 4} creates through the API; ${freeBytes(disk.dir)} bytes free`);

    // Changes are refused with storage_full. (A change that answers 2xx
    // after all is a failure, but is remembered: it was stored.)
    const expect = { workspaces: ['full disk'], key0Name: 'before-0' };
    const refusedFull = (r, what, onStored) =>
      soft(async () => {
        if (r.status >= 200 && r.status < 300) onStored?.(r);
        assertError(r, 503, 'storage_full', what);
        assert.match(r.json.message, FULL_MESSAGE, r.text);
      });
    const keyStored = (r) => stored.push(r.json);
    let refusedCount = 0;
    const tryChanges = async (label) => {
      const ok = [
        await refusedFull(await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `refused ${label}` }), `a key create ${label}`, keyStored),
        await refusedFull(await srv.post('/v1/workspaces', { name: `refused ${label}` }), `a workspace create ${label}`, (r) => expect.workspaces.push(r.json.name)),
        await refusedFull(await srv.patch(`/v1/api-keys/${stored[0].id}`, { name: `refused ${label}` }), `a key patch ${label}`, (r) => (expect.key0Name = r.json.name)),
        await refusedFull(await srv.post(`/v1/api-keys/${stored[2].id}/rotate`, { grace_seconds: 600 }), `a rotation ${label}`, keyStored),
        await refusedFull(await srv.patch(`/v1/workspaces/${ws.id}`, { name: `refused ${label}` }), `a workspace patch ${label}`, (r) => (expect.workspaces[0] = r.json.name)),
      ];
      refusedCount += ok.length;
      return ok.every(Boolean);
    };
    await tryChanges('at once');
    for (let i = 0; i < 20; i++) {
      await refusedFull(await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `refused-${i}` }), `create #${i}`, keyStored);
      refusedCount++;
    }
    await soft(async () => {
      const rz = await readyz(srv);
      assertError(rz, 503, 'storage_full', '/readyz on the full disk');
      assert.match(rz.json.message, FULL_MESSAGE, rz.text);
      m = await readMetrics(srv);
      assertFaultMetrics(m, 'full', 'on the full disk');
      assert.equal(m.get('keyward_storage_faults_total'), 1, storageSamples(m.text));
      assert.ok(m.get('keyward_storage_refused_changes_total') >= refusedCount - 1,
        `keyward_storage_refused_changes_total ${m.get('keyward_storage_refused_changes_total')} < ${refusedCount - 1}`);
    });

    // Keys keep verifying (those checked before and one never checked), and
    // their usage waits in memory while the disk stays full.
    for (let round = 0; round < 3; round++) for (const k of stored.slice(0, 4)) await authOk(k, 'on the full disk');
    await sleep(1500); // usage flushes and storage probes come and fail
    await soft(async () => {
      m = await readMetrics(srv);
      assert.ok(m.get('keyward_usage_pending_rows') > 0,
        `usage rows wait in memory while the disk is full (${freeBytes(disk.dir)} bytes free): ${m.get('keyward_usage_pending_rows')}\n${storageSamples(m.text)}\n--- log ---\n${logTail(srv)}`);
      assert.equal(m.get('keyward_usage_dropped_total'), 0);
      assertFaultMetrics(m, 'full', `1.5 s later, the disk still full (${freeBytes(disk.dir)} bytes free)`);
    });
    await tryChanges('1.5 s later');

    // A root key is revoked on the full disk (with the command line, which
    // writes to the same database).
    const rootRevoked = await soft(async () => {
      const rk = await runCli(['root-keys', 'revoke', '--data', dataDir, secondId]);
      assert.equal(rk.code, 0, `root-keys revoke on the full disk exited ${rk.code}\nstdout: ${rk.stdout}\nstderr: ${rk.stderr}\nfree: ${freeBytes(disk.dir)} bytes`);
      const rootRefused = await poll(async () => (await srv.get('/v1/workspaces', { token: second })).status === 401, { timeoutMs: 3000 });
      assert.ok(rootRefused, 'the revoked root key answers 401');
    });

    // An API key is revoked on the full disk: the reserve pays for it.
    const victim = stored[1];
    const del = await srv.del(`/v1/api-keys/${victim.id}`);
    assert.equal(del.status, 200, `revocation on the full disk: ${del.status} ${del.text}`);
    assert.equal(del.json.id, victim.id);
    assert.equal(del.json.status, 'revoked');
    const after = await srv.auth(bearer(victim.key));
    assertError(after, 401, 'revoked', '/v1/auth right after the revocation');
    verified.set(victim.id, (verified.get(victim.id) ?? 0) + 1); // a refusal of a known key is usage too
    await soft(async () => {
      const released = logLines(srv).filter((l) => l.msg === 'the disk is full: released the storage reserve so that a revocation commits');
      // The command line's root-key revocation may have released the
      // (shared) reserve file already, and then this one commits in the
      // space it freed: at most one line here, and the counter agrees.
      assert.ok(rootRevoked === false || released.length <= 1, `at most one "released the storage reserve" line:\n${logTail(srv)}`);
      if (rootRevoked === false) assert.equal(released.length, 1, `one "released the storage reserve" line:\n${logTail(srv)}`);
      for (const l of released) assert.equal(l.level, 'warn');
      m = await readMetrics(srv);
      assert.equal(m.get('keyward_storage_reserve_releases_total'), released.length, storageSamples(m.text));
      assert.equal(m.get('keyward_storage_reserve_bytes'), 0, storageSamples(m.text));
      assertFaultMetrics(m, 'full', 'after the revocation');
    });
    await tryChanges('after the revocation');

    // One line when the fault began, however many changes were refused.
    await soft(async () => {
      assertOneFaultLine(srv, 'full', 'the full disk');
      assert.equal(faultEndedLines(srv).length, 0, `no "storage works again" while the disk is full:\n${logTail(srv)}`);
    });

    // Space returns: keyward recovers by itself.
    fs.rmSync(path.join(disk.dir, 'filler-1'));
    fs.rmSync(path.join(disk.dir, 'filler-2'));
    const back = await waitReady(srv, 200, 5000);
    t.diagnostic(`/readyz 200 ${back.ms} ms after the space returned`);
    assert.ok(back.ok, `/readyz after the space returned: ${back.res.status} ${back.res.text}`);
    assert.ok(back.ms <= 3000, `recovery took ${back.ms} ms`);
    assert.deepEqual(back.res.json, { status: 'ready' });
    const fresh = await srv.createKey(ws.id, { name: 'after recovery' });
    stored.push(fresh);
    await authOk(fresh, 'after recovery');
    const flushed = await poll(async () => (await readMetrics(srv)).get('keyward_usage_pending_rows') === 0, { timeoutMs: 4000 });
    assert.ok(flushed, `usage pending rows back to 0: ${(await readMetrics(srv)).get('keyward_usage_pending_rows')}`);
    for (const k of stored.slice(0, 4)) {
      const want = verified.get(k.id) ?? 0;
      const got = await poll(async () => ((await usageTotal(srv, k.id)) === want ? want : null), { timeoutMs: 3000 });
      assert.equal(got ?? (await usageTotal(srv, k.id)), want, `usage of ${k.id} (verifications during the fault included)`);
    }
    m = await readMetrics(srv);
    assertFaultMetrics(m, null, 'after recovery');
    assert.equal(m.get('keyward_usage_dropped_total'), 0);
    const refilled = await poll(async () => (await readMetrics(srv)).get('keyward_storage_reserve_bytes') === RESERVE, { timeoutMs: 3000 });
    assert.ok(refilled, 'the reserve is held again');
    await soft(async () => {
      assert.equal((await readMetrics(srv)).get('keyward_storage_faults_total'), 1, 'keyward_storage_faults_total after recovery');
      assertOneFaultLine(srv, 'full', 'after recovery');
      assertOneRecoveryLine(srv, 'full', 'after recovery');
    });

    // A restart: every key answered 201 is there, the revoked one stays
    // revoked, nothing refused is there.
    const code = await srv.stop();
    assert.equal(code, 0, `SIGTERM exit code ${code}; stderr ${srv.stderr}`);
    await srv.restart();
    assert.equal(await keyCount(srv, ws.id), stored.length, 'exactly the keys answered 201');
    for (const k of stored) {
      const r = await srv.auth(bearer(k.key));
      if (k.id === victim.id) assertError(r, 401, 'revoked', 'the revoked key after a restart');
      else assert.equal(r.status, 200, `${k.id} after a restart: ${r.status} ${r.text}`);
    }
    const names = (await srv.listAll('/v1/workspaces')).map((w) => w.name);
    assert.deepEqual(names.sort(), expect.workspaces.sort(), 'no refused workspace, no refused rename');
    assert.equal((await srv.get(`/v1/api-keys/${stored[0].id}`)).json.name, expect.key0Name, 'no refused rename');
    if (rootRevoked) assert.equal((await srv.get('/v1/workspaces', { token: second })).status, 401, 'the revoked root key after a restart');
    await assertNothingLeaked(srv, secrets, rec, 'the full disk');
    assertNoSoftFailures();
  } finally {
    await srv?.close();
    disk.cleanup();
  }
});

// ---------------------------------------------------------------------------
// 2. The data directory deleted under the running server

test('a deleted data directory: 503 storage_unavailable, cached keys verify, a restored copy is reopened', sqliteOnly, async (t) => {
  const srv = await startServer({ env: { KEYWARD_STORAGE_RESERVE_BYTES: String(RESERVE) } });
  const backupBase = makeTempDir('keyward-backup-');
  try {
    const rec = recordAnswers(srv);
    const secrets = trackSecrets(srv);
    secrets.push(srv.rootKey);
    const dataDir = srv.dataDir;
    const backup = path.join(backupBase, 'data');

    const ws = await srv.createWorkspace('deleted dir');
    const keys = [];
    for (let i = 0; i < 4; i++) keys.push(await srv.createKey(ws.id, { name: `kept-${i}` }));
    for (const k of keys.slice(0, 2)) assert.equal((await srv.auth(bearer(k.key))).status, 200);
    const flushed = await poll(async () => (await readMetrics(srv)).get('keyward_usage_pending_rows') === 0 && (await usageTotal(srv, keys[0].id)) === 1, { timeoutMs: 4000 });
    assert.ok(flushed, 'usage written before the backup');

    sh('cp', ['-a', dataDir, backup]);
    fs.rmSync(dataDir, { recursive: true, force: true });
    const t0 = Date.now();

    // No write needed: the background check finds it.
    const down = await waitReady(srv, 503, 4000);
    t.diagnostic(`/readyz 503 ${down.ms} ms after the deletion`);
    assert.ok(down.ok, `/readyz after the deletion: ${down.res.status} ${down.res.text}`);
    assert.ok(down.ms <= 3000, `noticed after ${down.ms} ms`);
    assertError(down.res, 503, 'storage_unavailable', '/readyz without the data directory');
    assert.match(down.res.json.message, MISSING_MESSAGE, down.res.text);
    let m = await readMetrics(srv);
    assertFaultMetrics(m, 'missing', 'the deleted data directory');

    const ws2 = await srv.post('/v1/workspaces', { name: 'written into nothing' });
    assertError(ws2, 503, 'storage_unavailable', 'a workspace create without the data directory');
    assert.match(ws2.json.message, MISSING_MESSAGE, ws2.text);
    const k2 = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'written into nothing' });
    assertError(k2, 503, 'storage_unavailable', 'a key create without the data directory');
    assert.match(k2.json.message, MISSING_MESSAGE, k2.text);
    const p2 = await srv.patch(`/v1/api-keys/${keys[3].id}`, { name: 'renamed into nothing' });
    assertError(p2, 503, 'storage_unavailable', 'a patch without the data directory');
    // A revocation cannot be stored either: it must not answer 2xx.
    const d2 = await srv.del(`/v1/api-keys/${keys[2].id}`);
    assertError(d2, 503, 'storage_unavailable', 'a revocation without the data directory');

    // Keys verified before keep verifying.
    for (const k of keys.slice(0, 2)) {
      const r = await srv.auth(bearer(k.key));
      assert.equal(r.status, 200, `a cached key without the data directory: ${r.status} ${r.text}`);
    }
    await sleep(Math.max(0, 2500 - (Date.now() - t0)));
    assert.ok(!fs.existsSync(path.join(dataDir, 'keyward.db')), 'no new empty database replaced the deleted one');
    assertError(await readyz(srv), 503, 'storage_unavailable', '/readyz still');
    assertOneFaultLine(srv, 'missing', 'the deleted data directory');

    // The operator restores the copy: keyward reopens it by itself.
    sh('cp', ['-a', backup, dataDir]);
    const up = await waitReady(srv, 200, 5000);
    t.diagnostic(`/readyz 200 ${up.ms} ms after the restore`);
    assert.ok(up.ok, `/readyz after the restore: ${up.res.status} ${up.res.text}`);
    assert.ok(up.ms <= 3000, `reopened after ${up.ms} ms`);
    m = await readMetrics(srv);
    assertFaultMetrics(m, null, 'after the restore');
    assertOneRecoveryLine(srv, 'missing', 'after the restore');

    const fresh = await srv.createKey(ws.id, { name: 'after the restore' });
    assert.equal((await srv.auth(bearer(fresh.key))).status, 200);
    const check = async (what) => {
      const list = await srv.listAll(`/v1/api-keys?workspace_id=${ws.id}`);
      assert.deepEqual(list.map((k) => k.id).sort(), [...keys.map((k) => k.id), fresh.id].sort(), `${what}: the keys of the backup and the new one`);
      for (const k of keys) {
        const v = await srv.verify({ key: k.key });
        assert.equal(v.code, 'valid', `${what}: ${k.id} ${JSON.stringify(v)}`);
      }
      assert.equal(list.find((k) => k.id === keys[3].id).name, 'kept-3', `${what}: the refused patch is not there`);
      assert.deepEqual((await srv.listAll('/v1/workspaces')).map((w) => w.name), ['deleted dir'], `${what}: workspaces`);
      assert.ok((await usageTotal(srv, keys[0].id)) >= 1, `${what}: the usage of the backup`);
    };
    await check('after the restore');
    assert.ok(await poll(async () => (await readMetrics(srv)).get('keyward_usage_pending_rows') === 0, { timeoutMs: 3000 }), 'usage written after the restore');
    assert.equal(await srv.stop(), 0, `SIGTERM: stderr ${srv.stderr}`);
    await srv.restart();
    await check('after a restart');
    await assertNothingLeaked(srv, secrets, rec, 'the deleted data directory');
  } finally {
    await srv.close();
    fs.rmSync(backupBase, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------
// 3. A file system the kernel turns read-only

test('a read-only file system: 503 storage_unavailable, cached keys verify, nothing refused is stored', sqliteOnly, async (t) => {
  const img = new Ext4Image(32);
  const { soft, assertNoSoftFailures } = softChecks(t);
  let srv;
  try {
    img.mount();
    if (!fs.existsSync(img.triggerPath())) {
      t.skip(`${img.triggerPath()} does not exist: this kernel cannot make ext4 fail on demand`);
      return;
    }
    const dataDir = path.join(img.dir, 'data');
    prepareDataDir(dataDir);
    srv = await startServer({ dataDir, env: { KEYWARD_STORAGE_RESERVE_BYTES: String(RESERVE) } });
    const rec = recordAnswers(srv);
    const secrets = trackSecrets(srv);
    secrets.push(srv.rootKey);

    const ws = await srv.createWorkspace('read-only');
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push(await srv.createKey(ws.id, { name: `stored-${i}` }));
    for (const k of keys.slice(0, 2)) assert.equal((await srv.auth(bearer(k.key))).status, 200);
    const revokedBefore = await srv.del(`/v1/api-keys/${keys[4].id}`);
    assert.equal(revokedBefore.status, 200, revokedBefore.text);
    const patched = await srv.patch(`/v1/api-keys/${keys[3].id}`, { name: 'renamed before' });
    assert.equal(patched.status, 200, patched.text);

    img.trigger();
    assert.ok(img.isReadOnly(), `the file system is read-only now: ${img.mountOptions()}`);

    // Every change answers 503 storage_unavailable (hard: a 2xx would be a
    // write that cannot have been stored); that it names the read-only file
    // system is checked softly, so that the scenario goes on.
    const readOnlyMessage = (r, what) =>
      soft(async () => assert.match(r.json.message, /read-only/, `${what}: ${r.text}\n--- log ---\n${logTail(srv, 8)}`));
    const c = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'refused' });
    assertError(c, 503, 'storage_unavailable', 'a create on a read-only file system');
    await readOnlyMessage(c, 'the first create on the read-only file system');
    const w = await srv.post('/v1/workspaces', { name: 'refused workspace' });
    assertError(w, 503, 'storage_unavailable', 'a workspace create on a read-only file system');
    await readOnlyMessage(w, 'a workspace create on the read-only file system');
    const p = await srv.patch(`/v1/api-keys/${keys[0].id}`, { name: 'refused rename' });
    assertError(p, 503, 'storage_unavailable', 'a patch on a read-only file system');
    // Nothing can be written, not even a revocation: never 2xx.
    const d = await srv.del(`/v1/api-keys/${keys[2].id}`);
    assertError(d, 503, 'storage_unavailable', 'a revocation on a read-only file system');
    const rz = await readyz(srv);
    assertError(rz, 503, 'storage_unavailable', '/readyz on a read-only file system');
    await readOnlyMessage(rz, '/readyz on the read-only file system');
    await soft(async () => assertFaultMetrics(await readMetrics(srv), 'read_only', 'the read-only file system'));
    for (const k of keys.slice(0, 2)) {
      const r = await srv.auth(bearer(k.key));
      assert.equal(r.status, 200, `a cached key on a read-only file system: ${r.status} ${r.text}`);
    }
    assertError(await srv.auth(bearer(keys[4].key)), 401, 'revoked', 'the key revoked before the fault');
    await sleep(1500); // usage flushes and storage probes come and fail
    const again = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'refused later' });
    assertError(again, 503, 'storage_unavailable', 'a create 1.5 s later');
    await readOnlyMessage(again, 'a create 1.5 s later');
    assertError(await srv.del(`/v1/api-keys/${keys[2].id}`), 503, 'storage_unavailable', 'a revocation 1.5 s later');
    assertError(await readyz(srv), 503, 'storage_unavailable', '/readyz 1.5 s later');
    await soft(async () => assertFaultMetrics(await readMetrics(srv), 'read_only', 'the read-only file system, 1.5 s later'));
    await soft(async () => {
      assertOneFaultLine(srv, 'read_only', 'the read-only file system');
      assert.equal(faultEndedLines(srv).length, 0, `no "storage works again" on a read-only file system:\n${logTail(srv)}`);
    });

    // An emergency read-only ext4 stays so while files are open: stop,
    // repair, mount again, start.
    const code = await srv.stop();
    t.diagnostic(`keyward exited ${code} (signal ${srv.exitSignal}) on the read-only file system`);
    assert.equal(srv.exitSignal, null, 'SIGTERM stops keyward without a kill');
    img.umount();
    const fsck = img.fsck();
    t.diagnostic(`e2fsck exited ${fsck.status}`);
    img.mount();
    assert.ok(!img.isReadOnly(), `mounted again read-write: ${img.mountOptions()}`);
    await srv.restart();
    assert.equal((await readyz(srv)).status, 200);
    const list = await srv.listAll(`/v1/api-keys?workspace_id=${ws.id}`);
    assert.deepEqual(list.map((k) => k.id).sort(), keys.map((k) => k.id).sort(), 'exactly the keys answered 201');
    for (const k of keys.slice(0, 4)) {
      const v = await srv.verify({ key: k.key });
      assert.equal(v.code, 'valid', `${k.id} (its refused revocation is not there): ${JSON.stringify(v)}`);
    }
    assert.equal((await srv.verify({ key: keys[4].key })).code, 'revoked', 'the revocation answered 200 before the fault');
    assert.equal(list.find((k) => k.id === keys[3].id).name, 'renamed before', 'the patch answered 200 before the fault');
    assert.equal(list.find((k) => k.id === keys[0].id).name, 'stored-0', 'the refused patch is not there');
    assert.deepEqual((await srv.listAll('/v1/workspaces')).map((x) => x.name), ['read-only']);
    const fresh = await srv.createKey(ws.id, { name: 'after the repair' });
    assert.equal((await srv.auth(bearer(fresh.key))).status, 200);
    await assertNothingLeaked(srv, secrets, rec, 'the read-only file system');
    assertNoSoftFailures();
  } finally {
    await srv?.close();
    img.cleanup();
  }
});

// ---------------------------------------------------------------------------
// 4. Metrics and secrets during a fault

test('storage-fault metrics, and no secret in the log, the metrics or an error body', sqliteOnly, async (t) => {
  const disk = mountTmpfs(4 * 1024 * 1024);
  let srv;
  try {
    const dataDir = path.join(disk.dir, 'data');
    prepareDataDir(dataDir);
    srv = await startServer({ dataDir, env: { KEYWARD_STORAGE_RESERVE_BYTES: String(RESERVE) } });
    const rec = recordAnswers(srv);
    const secrets = trackSecrets(srv);
    secrets.push(srv.rootKey);
    const second = await createRootKey(dataDir, 'ops', { database: null });
    secrets.push(second);

    let m = await readMetrics(srv);
    for (const name of ['keyward_store_up', 'keyward_storage_fault', 'keyward_storage_faults_total', 'keyward_storage_refused_changes_total',
      'keyward_storage_reserve_bytes', 'keyward_storage_reserve_releases_total', 'keyward_usage_pending_rows', 'keyward_usage_dropped_total']) {
      assert.match(m.text, new RegExp(`^# HELP ${name} \\S`, 'm'), `HELP of ${name}`);
      assert.match(m.text, new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'), `TYPE of ${name}`);
    }
    for (const f of FAULTS) assert.equal(m.get('keyward_storage_fault', { fault: f }), 0, `fault="${f}" at start`);
    assert.equal(m.get('keyward_storage_faults_total'), 0);
    assert.equal(m.get('keyward_storage_refused_changes_total'), 0);
    assert.equal(m.get('keyward_storage_reserve_releases_total'), 0);
    assert.equal(m.get('keyward_storage_reserve_bytes'), RESERVE);

    const ws = await srv.createWorkspace('secrets');
    const manager = await srv.createKey(ws.id, { name: 'manager', scopes: ['keys:manage', 'orders:read'] });
    const plain = await srv.createKey(ws.id, { name: 'plain', scopes: ['orders:read'] });
    const doomed = await srv.createKey(ws.id, { name: 'doomed' });
    for (const k of [manager, plain, doomed]) assert.equal((await srv.auth(bearer(k.key))).status, 200);

    fillDisk(path.join(disk.dir, 'filler'));
    // The first change meets the full disk; the next ones are refused at once.
    const answers = [
      await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'r1', meta: { note: 'y'.repeat(7000) } }),
      await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'r2' }, { token: manager.key }),
      await srv.post(`/v1/api-keys/${plain.id}/rotate`, {}, { token: manager.key }),
      await srv.post(`/v1/api-keys/${plain.id}/rotate`, {}),
      await srv.patch(`/v1/api-keys/${plain.id}`, { name: 'r3' }, { token: second }),
      await srv.post('/v1/workspaces', { name: 'r4' }, { token: second }),
    ];
    // A create may still fit before the disk is full enough to refuse it.
    const refusedAnswers = answers.filter((r) => r.status !== 201);
    for (const r of refusedAnswers) assertError(r, 503, 'storage_full', 'a change on the full disk');
    assert.ok(refusedAnswers.length >= answers.length - 1, answers.map((r) => `${r.status} ${r.text.slice(0, 80)}`).join('\n'));
    for (let i = 0; i < 3; i++) await srv.auth(bearer(plain.key));
    // The credential checks of the refused requests still work on a full disk.
    const unknown = await srv.auth(bearer(fabricateKey()));
    assert.equal(unknown.status, 401, `an unknown key on the full disk: ${unknown.text}`);
    const del = await srv.del(`/v1/api-keys/${doomed.id}`, { token: manager.key });
    assert.equal(del.status, 200, `a managing key revokes on the full disk: ${del.text}`);
    await sleep(1200);

    m = await readMetrics(srv);
    assertFaultMetrics(m, 'full', 'the full disk');
    const samples = m.text.split('\n').filter((l) => l.startsWith('keyward_storage_fault{'));
    assert.equal(samples.length, FAULTS.length, samples.join('\n'));
    assert.equal(samples.filter((l) => l.endsWith(' 1')).length, 1, samples.join('\n'));
    assert.equal(m.get('keyward_storage_faults_total'), 1);
    assert.ok(m.get('keyward_storage_refused_changes_total') >= refusedAnswers.length - 1, storageSamples(m.text));
    assert.equal(m.get('keyward_storage_reserve_releases_total'), 1);
    assert.equal(m.get('keyward_storage_reserve_bytes'), 0);
    assert.ok(m.get('keyward_usage_pending_rows') > 0, 'usage waits in memory');
    assert.equal(m.get('keyward_usage_dropped_total'), 0);
    const refusedSoFar = m.get('keyward_storage_refused_changes_total');

    const faultLine = faultBeganLines(srv);
    assert.equal(faultLine.length, 1, JSON.stringify(faultLine));
    await assertNothingLeaked(srv, secrets, rec, 'during the fault');

    fs.rmSync(path.join(disk.dir, 'filler'));
    const back = await waitReady(srv, 200, 5000);
    assert.ok(back.ok, `/readyz after the space returned: ${back.res.status} ${back.res.text}`);
    assert.ok(await poll(async () => (await readMetrics(srv)).get('keyward_usage_pending_rows') === 0, { timeoutMs: 3000 }));
    m = await readMetrics(srv);
    assertFaultMetrics(m, null, 'after recovery');
    assert.equal(m.get('keyward_storage_faults_total'), 1, 'a counter, not reset');
    assert.ok(m.get('keyward_storage_refused_changes_total') >= refusedSoFar, 'a counter, not reset');
    assert.equal(m.get('keyward_storage_reserve_releases_total'), 1);
    assertError(await srv.auth(bearer(doomed.key)), 401, 'revoked', 'the key revoked on the full disk');
    assert.equal(await keyCount(srv, ws.id), 3 + answers.filter((r) => r.status === 201).length);
    await assertNothingLeaked(srv, secrets, rec, 'after recovery');
  } finally {
    await srv?.close();
    disk.cleanup();
  }
});
