// Crash safety: keyward is killed with SIGKILL at random moments while
// several clients create, revoke, patch and rotate keys. After every kill the
// database must pass `PRAGMA integrity_check`, and after the restart every
// write that was answered 2xx must be there — and nothing else: a write whose
// answer never came (the connection died with the process) may have landed or
// not, but if it landed it landed whole, audit entry included. On PostgreSQL
// (functional-pg.crash) the same, without the SQLite file checks: there the
// database server lives on while keyward is killed.
//
// The schedule (which operations, how many clients, when the kill comes) is
// drawn from a seeded PRNG; the seed is printed and can be set with
// KEYWARD_CRASH_SEED. KEYWARD_CRASH_ROUNDS sets the number of kills (>= 50).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer, makeTempDir, isoIn, noteSecret, psql, KEY_FIELDS, ENGINE } from './lib/keyward.mjs';

const ROUNDS = Math.max(50, Number(process.env.KEYWARD_CRASH_ROUNDS ?? 60));
const SEED = Number(process.env.KEYWARD_CRASH_SEED ?? 0x6b657977) >>> 0;
const OLD_KEYS_VERIFIED_PER_ROUND = 25;

// ---------------------------------------------------------------------------
// A small seeded PRNG (mulberry32), so that a failing schedule can be rerun.

function mulberry32(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // lo..hi inclusive
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
  };
}

// ---------------------------------------------------------------------------
// HTTP: one fresh connection per request (no pool that could outlive a killed
// server), a timeout, and "answered" only when the whole body arrived.

function call(port, token, method, p, body, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers = { authorization: `Bearer ${token}` };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
      res.on('end', () => {
        if (!res.complete) {
          reject(new Error('response incomplete'));
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        noteSecret(text); // for the secrets sweep: keys handed out by creates and rotates
        let json;
        try {
          json = text.length ? JSON.parse(text) : undefined;
        } catch {
          reject(new Error(`unparsable body: ${text.slice(0, 200)}`));
          return;
        }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${p}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------
// The expected state of a key: the fields a write decides (no usage fields;
// `status` is derived from them, see expectedStatus). Times as epoch ms.

const FIELDS = KEY_FIELDS.filter((f) => f !== 'status' && f !== 'last_used_at');
const TIME_FIELDS = new Set(['created_at', 'expires_at', 'revoked_at']);

function proj(k) {
  const out = {};
  for (const f of FIELDS) {
    const v = k[f];
    out[f] = TIME_FIELDS.has(f) ? (v === null || v === undefined ? null : Date.parse(v)) : v;
  }
  return out;
}

// JSON with object keys sorted (keyward answers objects with sorted keys).
function canon(v) {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function expectedStatus(p, now) {
  if (p.revoked_at !== null) return 'revoked';
  if (p.expires_at !== null && p.expires_at <= now) return 'expired';
  return p.enabled ? 'active' : 'disabled';
}

const VERIFY_CODE = { active: 'valid', revoked: 'revoked', expired: 'expired', disabled: 'disabled' };

function inWindow(t, from, to, slackMs = 1500) {
  return Number.isFinite(t) && t >= from - slackMs && t <= to + slackMs;
}

// ---------------------------------------------------------------------------

test(`SIGKILL at random moments during creates and revokes loses no answered write (${ROUNDS} kills)`, { timeout: 240_000 }, async (t) => {
  const seedText = `KEYWARD_CRASH_SEED=${SEED} KEYWARD_CRASH_ROUNDS=${ROUNDS}`;
  t.diagnostic(seedText);
  console.log(`# crash test: ${seedText}`);
  const started = Date.now();

  const srv = await startServer();
  const scratch = makeTempDir('keyward-crash-copy-');
  t.after(async () => {
    await srv.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  const token = srv.rootKey;
  const dbPath = path.join(srv.dataDir, 'keyward.db');

  const rootAudit = await call(srv.port, token, 'GET', '/v1/audit-log');
  const rootId = rootAudit.json?.data?.find((e) => e.action === 'root_key.create')?.target;
  assert.match(rootId ?? '', /^rk_/, `the root key's id from the audit log: ${rootAudit.text}`);

  const wsIds = [];
  for (const name of ['crash-a', 'crash-b']) {
    const r = await call(srv.port, token, 'POST', '/v1/workspaces', { name, max_active_keys: 100000 });
    assert.equal(r.status, 201, r.text);
    wsIds.push(r.json.id);
  }

  // id -> { p: projection, secret: string|null, owner, updates: expected
  //         key.update audit entries, replacedBy: id|null, round }
  const model = new Map();
  const stats = { acked: { create: 0, revoke: 0, patch: 0, rotate: 0 }, landed: 0, notLanded: 0, inFlightRounds: 0, verified: 0 };

  // The sqlite3 command's output; its error message when it fails (a
  // malformed database makes it exit non-zero), so the assertion shows it.
  const sqlite = (file, sql) => {
    try {
      return execFileSync('sqlite3', [file, sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (e) {
      return `sqlite3 failed (exit ${e.status}): ${`${e.stdout ?? ''}${e.stderr ?? ''}`.trim()}`;
    }
  };

  async function listAll(p) {
    const items = [];
    let cursor = null;
    for (;;) {
      const sep = p.includes('?') ? '&' : '?';
      const q = `${p}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await call(srv.port, token, 'GET', q);
      assert.equal(r.status, 200, `GET ${q} answered ${r.status}: ${r.text}`);
      items.push(...r.json.data);
      cursor = r.json.next_cursor;
      if (cursor === null) return items;
    }
  }

  for (let round = 1; round <= ROUNDS; round++) {
    const rrng = mulberry32((SEED ^ Math.imul(round, 0x9e3779b1)) >>> 0);
    const streams = rrng.int(2, 6);
    // Mostly 20–300 ms; some kills come almost at once, some later.
    const bucket = rrng.next();
    const delay = bucket < 0.1 ? rrng.int(0, 15) : bucket < 0.85 ? rrng.int(20, 300) : rrng.int(300, 600);
    const ctx = { killed: false, seq: 0 };
    const unknown = []; // at most one per stream: its last, unanswered write
    const unexpected = []; // answered, but not with the success status
    const touched = new Set(); // ids whose state an answered write set this round

    const owned = (s) => [...model.values()].filter((k) => k.owner === s);

    async function stream(s) {
      const rng = mulberry32((SEED ^ Math.imul(round, 0x85ebca6b) ^ Math.imul(s + 1, 0xc2b2ae35)) >>> 0);
      while (!ctx.killed) {
        const now = Date.now();
        const mine = owned(s);
        const live = mine.filter((k) => k.p.revoked_at === null);
        // One grace per slot: a key whose predecessor still works is not
        // rotated (keyward answers 409).
        const predecessorWorks = (k) => {
          const pre = k.p.rotated_from === null ? undefined : model.get(k.p.rotated_from);
          return pre !== undefined && pre.p.revoked_at === null && expectedStatus(pre.p, now) !== 'expired';
        };
        const rotatable = live.filter(
          (k) => k.replacedBy === null && expectedStatus(k.p, now) !== 'expired' && !predecessorWorks(k),
        );
        const x = rng.next();
        let kind = x < 0.4 ? 'create' : x < 0.7 ? 'revoke' : x < 0.85 ? 'patch' : 'rotate';
        if (live.length > 60) kind = 'revoke';
        if ((kind === 'revoke' || kind === 'patch') && live.length === 0) kind = 'create';
        if (kind === 'rotate' && rotatable.length === 0) kind = 'create';
        const n = ctx.seq++;
        const rec = { kind, stream: s, round, startedAt: Date.now() };
        let method;
        let p;
        let body;
        let expect;
        if (kind === 'create') {
          body = {
            workspace_id: rng.pick(wsIds),
            environment: rng.pick(['live', 'test']),
            name: `c-${round}-${s}-${n}`,
            meta: { round, stream: s, n },
          };
          if (rng.chance(0.3)) body.scopes = ['orders:read', `s${s}:*`];
          if (rng.chance(0.2)) body.expires_at = isoIn(86400);
          [method, p, expect] = ['POST', '/v1/api-keys', 201];
        } else if (kind === 'revoke') {
          rec.id = rng.pick(live).p.id;
          body = { reason: `r-${round}-${s}-${n}` };
          [method, p, expect] = ['DELETE', `/v1/api-keys/${rec.id}`, 200];
        } else if (kind === 'patch') {
          rec.id = rng.pick(live).p.id;
          body = { name: `p-${round}-${s}-${n}`, meta: { patched: n, round }, enabled: rng.chance(0.8) };
          [method, p, expect] = ['PATCH', `/v1/api-keys/${rec.id}`, 200];
        } else {
          rec.id = rng.pick(rotatable).p.id;
          body = { grace_seconds: rng.pick([0, 86400]) };
          if (rng.chance(0.3)) body.expires_at = isoIn(2 * 86400);
          [method, p, expect] = ['POST', `/v1/api-keys/${rec.id}/rotate`, 201];
        }
        rec.body = body;
        let res;
        try {
          res = await call(srv.port, token, method, p, body);
        } catch (e) {
          if (!ctx.killed) throw new Error(`${method} ${p} failed before the kill: ${e.message}`);
          rec.endedAt = Date.now();
          rec.error = e.message;
          unknown.push(rec);
          return;
        }
        if (res.status !== expect) {
          unexpected.push(`${method} ${p} ${JSON.stringify(body)} answered ${res.status}: ${res.text}`);
          continue;
        }
        stats.acked[kind]++;
        const j = res.json;
        if (kind === 'create') {
          model.set(j.id, { p: proj(j), secret: j.key, owner: s, updates: 0, replacedBy: null, round });
          touched.add(j.id);
        } else if (kind === 'revoke') {
          const k = model.get(rec.id);
          if (j.id !== rec.id || j.status !== 'revoked' || typeof j.revoked_at !== 'string') {
            unexpected.push(`DELETE ${rec.id}: odd answer ${res.text}`);
          }
          k.p = { ...k.p, revoked_at: Date.parse(j.revoked_at), revoked_reason: body.reason };
          touched.add(rec.id);
        } else if (kind === 'patch') {
          const k = model.get(rec.id);
          k.p = proj(j);
          k.updates++;
          touched.add(rec.id);
        } else {
          const old = model.get(rec.id);
          model.set(j.id, { p: proj(j), secret: j.key, owner: s, updates: 0, replacedBy: null, round });
          old.p = { ...old.p, expires_at: Date.parse(j.old_key.expires_at) };
          old.replacedBy = j.id;
          touched.add(j.id);
          touched.add(rec.id);
        }
      }
    }

    // ---- run the streams, kill the server under them
    const runs = [];
    for (let s = 0; s < streams; s++) runs.push(stream(s));
    await new Promise((resolve) => setTimeout(resolve, delay));
    ctx.killed = true;
    await srv.kill9();
    assert.equal(srv.exitSignal, 'SIGKILL', `round ${round}: the server ended by ${srv.exitSignal}/${srv.exitCode}\n${srv.stderr}`);
    const results = await Promise.allSettled(runs);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    const killedAt = Date.now();
    if (unknown.length > 0) stats.inFlightRounds++;
    const where = `round ${round} (${seedText}, ${streams} clients, kill after ${delay} ms)`;
    assert.deepEqual(unexpected, [], `${where}: answers other than success`);

    // ---- the database as the kill left it (on PostgreSQL the database
    // server was not killed, so there is no file of keyward's to check: the
    // answered writes below are the point there)
    if (ENGINE === 'sqlite') {
      assert.ok(fs.existsSync(dbPath), `${where}: ${dbPath} is missing; data dir has ${fs.readdirSync(srv.dataDir)}`);
      // Even rounds check the database in place, as the kill left it (the
      // sqlite3 command recovers and checkpoints the WAL when it closes); odd
      // rounds check a copy, so that keyward itself recovers the original WAL.
      let checked = dbPath;
      if (round % 2 === 1) {
        for (const f of fs.readdirSync(scratch)) fs.rmSync(path.join(scratch, f));
        fs.copyFileSync(dbPath, path.join(scratch, 'keyward.db'));
        if (fs.existsSync(`${dbPath}-wal`)) fs.copyFileSync(`${dbPath}-wal`, path.join(scratch, 'keyward.db-wal'));
        checked = path.join(scratch, 'keyward.db');
      }
      assert.equal(sqlite(checked, 'PRAGMA integrity_check;'), 'ok', `${where}: PRAGMA integrity_check on ${checked}`);
      assert.equal(sqlite(checked, 'PRAGMA foreign_key_check;'), '', `${where}: PRAGMA foreign_key_check on ${checked}`);
    }

    // ---- restart and compare
    await srv.restart();
    const now = Date.now();
    const keys = await listAll('/v1/api-keys');
    const server = new Map(keys.map((k) => [k.id, k]));
    const failures = [];
    const explained = new Set(); // server keys a landed unanswered write created

    for (const rec of unknown) {
      const desc = `unanswered ${rec.kind} ${rec.id ?? ''} ${JSON.stringify(rec.body)} (${rec.error})`;
      if (rec.kind === 'create') {
        const found = keys.filter((k) => k.name === rec.body.name);
        if (found.length === 0) {
          stats.notLanded++;
          continue;
        }
        stats.landed++;
        if (found.length > 1) failures.push(`${desc}: ${found.length} keys landed`);
        const k = found[0];
        const b = rec.body;
        const ok =
          k.workspace_id === b.workspace_id &&
          k.environment === b.environment &&
          canon(k.meta) === canon(b.meta) &&
          canon(k.scopes) === canon(b.scopes ?? []) &&
          (b.expires_at === undefined ? k.expires_at === null : Date.parse(k.expires_at) === Date.parse(b.expires_at)) &&
          k.revoked_at === null &&
          k.rotated_from === null &&
          k.enabled === true &&
          k.created_by === rootId &&
          inWindow(Date.parse(k.created_at), rec.startedAt, killedAt);
        if (!ok) failures.push(`${desc}: landed incomplete or wrong: ${JSON.stringify(k)}`);
        model.set(k.id, { p: proj(k), secret: null, owner: rec.stream, updates: 0, replacedBy: null, round });
        explained.add(k.id);
      } else if (rec.kind === 'revoke') {
        const m = model.get(rec.id);
        const k = server.get(rec.id);
        if (!k || k.revoked_at === null) {
          stats.notLanded++;
          continue;
        }
        stats.landed++;
        if (k.revoked_reason !== rec.body.reason || !inWindow(Date.parse(k.revoked_at), rec.startedAt, killedAt)) {
          failures.push(`${desc}: landed wrong: ${JSON.stringify(k)}`);
        }
        m.p = { ...m.p, revoked_at: Date.parse(k.revoked_at), revoked_reason: rec.body.reason };
      } else if (rec.kind === 'patch') {
        const m = model.get(rec.id);
        const k = server.get(rec.id);
        if (!k || k.name !== rec.body.name) {
          stats.notLanded++;
          continue;
        }
        stats.landed++;
        m.p = { ...m.p, name: rec.body.name, meta: rec.body.meta, enabled: rec.body.enabled };
        m.updates++;
      } else {
        const m = model.get(rec.id);
        const found = keys.filter((k) => k.rotated_from === rec.id);
        if (found.length === 0) {
          stats.notLanded++;
          continue;
        }
        stats.landed++;
        if (found.length > 1) failures.push(`${desc}: ${found.length} replacements landed`);
        const k = found[0];
        const old = m.p;
        const ok =
          k.workspace_id === old.workspace_id &&
          k.environment === old.environment &&
          k.name === old.name &&
          k.enabled === old.enabled &&
          canon(k.meta) === canon(old.meta) &&
          canon(k.scopes) === canon(old.scopes) &&
          // The replacement keeps the old key's expiry unless one was given.
          (rec.body.expires_at === undefined
            ? (k.expires_at === null ? old.expires_at === null : Date.parse(k.expires_at) === old.expires_at) // proj() holds times as numbers
            : Date.parse(k.expires_at) === Date.parse(rec.body.expires_at)) &&
          k.revoked_at === null &&
          inWindow(Date.parse(k.created_at), rec.startedAt, killedAt);
        if (!ok) failures.push(`${desc}: replacement landed incomplete or wrong: ${JSON.stringify(k)}`);
        // The old key's expiry moved with it, in the same transaction.
        const graceMs = rec.body.grace_seconds * 1000;
        const sOld = server.get(rec.id);
        const newExp = sOld && sOld.expires_at !== null ? Date.parse(sOld.expires_at) : NaN;
        const expOk =
          old.expires_at !== null && old.expires_at <= rec.startedAt + graceMs
            ? newExp === old.expires_at
            : inWindow(newExp, rec.startedAt + graceMs, killedAt + graceMs);
        if (!expOk) failures.push(`${desc}: replacement landed but the old key's expires_at is ${sOld?.expires_at}`);
        m.p = { ...m.p, expires_at: newExp };
        m.replacedBy = k.id;
        model.set(k.id, { p: proj(k), secret: null, owner: rec.stream, updates: 0, replacedBy: null, round });
        explained.add(k.id);
      }
    }

    // Every key we know of, as we expect it.
    for (const [id, m] of model) {
      const k = server.get(id);
      const origin = `${m.secret ? 'answered' : 'landed'} in round ${m.round}`;
      if (!k) {
        failures.push(`LOST: key ${id} (${origin}, name ${m.p.name}) is gone`);
        continue;
      }
      const got = proj(k);
      for (const f of FIELDS) {
        if (canon(got[f]) !== canon(m.p[f])) {
          failures.push(`key ${id} (${origin}): ${f} is ${JSON.stringify(got[f])}, expected ${JSON.stringify(m.p[f])}`);
        }
      }
      const st = expectedStatus(got, now);
      if (k.status !== st && expectedStatus(got, Date.now()) !== k.status) {
        failures.push(`key ${id}: status ${k.status}, its fields say ${st}`);
      }
    }
    // Nothing nobody asked for.
    for (const k of keys) {
      if (!model.has(k.id)) failures.push(`PHANTOM: key ${k.id} (${k.name}) exists but no write explains it`);
    }

    // Each acknowledged key still verifies as its state says: all keys this
    // round's answers touched, and a sample of older ones.
    const withSecret = [...model.values()].filter((m) => m.secret !== null && server.has(m.p.id));
    const fresh = withSecret.filter((m) => touched.has(m.p.id));
    const older = withSecret.filter((m) => !touched.has(m.p.id));
    const vrng = mulberry32((SEED ^ round ^ 0x5bd1e995) >>> 0);
    const sample = [];
    for (let i = 0; i < OLD_KEYS_VERIFIED_PER_ROUND && older.length > 0; i++) {
      sample.push(older.splice(Math.floor(vrng.next() * older.length), 1)[0]);
    }
    for (const m of [...fresh, ...sample]) {
      const r = await call(srv.port, token, 'POST', '/v1/keys/verify', { key: m.secret });
      stats.verified++;
      if (r.status !== 200) {
        failures.push(`verify ${m.p.id} answered ${r.status}: ${r.text}`);
        continue;
      }
      const st = expectedStatus(m.p, Date.now());
      const want = VERIFY_CODE[st];
      if (r.json.code !== want || r.json.valid !== (want === 'valid')) {
        failures.push(`verify ${m.p.id} (${st}, round ${m.round}) answered ${r.text}, expected code ${want}`);
      } else if (r.json.key_id !== m.p.id || r.json.workspace_id !== m.p.workspace_id) {
        failures.push(`verify ${m.p.id} names ${r.json.key_id} / ${r.json.workspace_id}`);
      }
    }

    // The audit log holds exactly the writes that are there.
    const audit = await listAll('/v1/audit-log');
    const count = (map, id) => map.get(id) ?? 0;
    const creates = new Map();
    const rotatesByNew = new Map();
    const rotatesByOld = new Map();
    const revokes = new Map();
    const updates = new Map();
    const bump = (map, id) => map.set(id, count(map, id) + 1);
    for (const e of audit) {
      if (e.action === 'key.create') bump(creates, e.target);
      else if (e.action === 'key.rotate') {
        bump(rotatesByNew, e.details?.new_key_id);
        bump(rotatesByOld, e.target);
      } else if (e.action === 'key.revoke') bump(revokes, e.target);
      else if (e.action === 'key.update') bump(updates, e.target);
      if (e.action.startsWith('key.') && !server.has(e.target)) {
        failures.push(`audit ${e.id} ${e.action} targets ${e.target}, which does not exist`);
      }
      if (e.action === 'key.rotate' && !server.has(e.details?.new_key_id)) {
        failures.push(`audit ${e.id} key.rotate names new key ${e.details?.new_key_id}, which does not exist`);
      }
    }
    for (const [id, m] of model) {
      if (!server.has(id)) continue;
      const born = m.p.rotated_from === null ? count(creates, id) : count(rotatesByNew, id);
      const bornVia = m.p.rotated_from === null ? 'key.create' : 'key.rotate';
      if (born !== 1) failures.push(`audit: key ${id} (round ${m.round}) has ${born} ${bornVia} entries, expected 1`);
      if (m.p.rotated_from === null && count(rotatesByNew, id) !== 0) failures.push(`audit: key ${id} has a key.rotate birth but no rotated_from`);
      const wantRevokes = m.p.revoked_at === null ? 0 : 1;
      if (count(revokes, id) !== wantRevokes) failures.push(`audit: key ${id} has ${count(revokes, id)} key.revoke entries, expected ${wantRevokes}`);
      if (count(updates, id) !== m.updates) failures.push(`audit: key ${id} has ${count(updates, id)} key.update entries, expected ${m.updates}`);
      const wantRot = m.replacedBy === null ? 0 : 1;
      if (count(rotatesByOld, id) !== wantRot) failures.push(`audit: key ${id} has ${count(rotatesByOld, id)} key.rotate entries as old key, expected ${wantRot}`);
    }

    // The workspaces count what occupies a slot.
    for (const ws of wsIds) {
      const r = await call(srv.port, token, 'GET', `/v1/workspaces/${ws}`);
      const occupying = keys.filter((k) => k.workspace_id === ws && (k.status === 'active' || k.status === 'disabled')).length;
      if (r.status !== 200 || r.json.active_keys !== occupying) {
        failures.push(`workspace ${ws}: ${r.status} active_keys ${r.json?.active_keys}, but ${occupying} keys occupy a slot`);
      }
    }

    assert.deepEqual(failures, [], `${where}: ${failures.length} problems after the restart\n${failures.slice(0, 40).join('\n')}`);
    if (round % 10 === 0 || round === ROUNDS) {
      t.diagnostic(`round ${round}: ${model.size} keys, ${audit.length} audit entries, ${Date.now() - started} ms`);
    }
  }

  // A graceful stop at the end, and the database checked in place once more.
  assert.equal(await srv.stop('SIGTERM'), 0, `SIGTERM: ${srv.stderr}`);
  if (ENGINE === 'sqlite') assert.equal(sqlite(dbPath, 'PRAGMA integrity_check;'), 'ok');
  else assert.equal(psql(srv.database, 'SELECT 1').trim(), '1', 'the database still answers');

  const total = Object.values(stats.acked).reduce((a, b) => a + b, 0);
  const summary = `${ROUNDS} kills, ${Date.now() - started} ms: answered ${JSON.stringify(stats.acked)}; ` +
    `unanswered writes landed ${stats.landed}, not landed ${stats.notLanded}; ` +
    `${stats.inFlightRounds} kills with writes in flight; ${stats.verified} verifications`;
  t.diagnostic(summary);
  console.log(`# crash test: ${summary}`);
  // The test means something only if the kills hit work in progress.
  assert.ok(total >= ROUNDS * 5, `only ${total} answered writes in ${ROUNDS} rounds`);
  assert.ok(stats.inFlightRounds >= ROUNDS / 2, `only ${stats.inFlightRounds} of ${ROUNDS} kills caught a write in flight`);
});
