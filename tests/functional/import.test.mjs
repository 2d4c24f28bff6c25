// Importing existing keys, end to end on the real binary (issue 16): `keyward
// import` reading CSV and JSON-lines files into a running keyward, legacy key
// formats ([[keys.legacy]]) with their environments, re-imports that change
// nothing, conflicting hashes, a workspace imported over its limit,
// plaintext keys that leave no trace (the secrets sweep), rejected rows named
// by their line, an interrupted import resuming, a dry run, keyward restarting
// mid-import, `keyward export-hashes` into a second deployment, 100,000 keys
// shaped like amser's (seed 000), the CLI's exit codes and progress line, and,
// on PostgreSQL, a second node seeing imported keys at once. Tests marked todo
// name a known bug; they run, and fail without failing the suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  startServer,
  tryServe,
  runCli,
  makeTempDir,
  poll,
  sleep,
  childEnv,
  noteSecret,
  withoutRootKeyBanner,
  ENGINE,
  KEYWARD_BIN,
  POSTGRES_ADMIN_URL,
  psql,
  postgresUrlFor,
} from './lib/keyward.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));

// amser's keys, as seed 000 shows them, described as the README does.
const AMSER_LEGACY = `[[keys.legacy]]
pattern = "^amsr_(live|test)_[A-Za-z0-9]{21}$"
environment = "$1"
short_prefix_length = 12
`;
const AMSER_CONFIG = `[keys]
product_prefix = "amsr"
${AMSER_LEGACY}`;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// n characters of [A-Za-z0-9], uniformly (bytes of 248 and up are dropped).
function randomAlnum(n) {
  let out = '';
  while (out.length < n) {
    for (const b of crypto.randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += ALNUM[b % 62];
    }
  }
  return out;
}

// A key of amser's shape: amsr_<env>_ and 21 random characters.
function amserKey(env = 'live') {
  return `amsr_${env}_${randomAlnum(21)}`;
}

// As seed 000 says amser stores a key: the SHA-256 of the whole key, hex.
function sha256Hex(key) {
  return crypto.createHash('sha256').update(key).digest('hex');
}
function sha256Base64(key) {
  return crypto.createHash('sha256').update(key).digest('base64');
}

// The first characters a list shows of a legacy key of prefix `amsr_live_`
// with short_prefix_length 12.
function shortPrefixOf(key) {
  return key.slice(0, key.indexOf('_', 5) + 1 + 12);
}

function csvCell(v) {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
function csvLine(cells) {
  return cells.map(csvCell).join(',');
}
function writeCsv(file, header, rows) {
  fs.writeFileSync(file, [csvLine(header), ...rows.map(csvLine)].join('\n') + '\n');
}

// RFC 4180, for the rejects file: an array of records (arrays of cells).
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += c;
    }
  }
  assert.ok(!quoted, `the CSV ends inside a quoted cell: ${JSON.stringify(text.slice(-200))}`);
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

// The rejects file: header line,error,message; [{line, error, message}].
function readRejects(file) {
  assert.ok(fs.existsSync(file), `no rejects file ${file}`);
  const rows = parseCsv(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(rows[0], ['line', 'error', 'message'], `the rejects file's header: ${JSON.stringify(rows[0])}`);
  return rows.slice(1).map((r) => {
    assert.equal(r.length, 3, `a rejects record of ${r.length} cells: ${JSON.stringify(r)}`);
    assert.match(r[0], /^\d+$/, `line ${JSON.stringify(r[0])}`);
    assert.match(r[1], /^[a-z_]+$/, `error ${JSON.stringify(r[1])}`);
    assert.ok(r[2].length > 0, `an empty message for line ${r[0]}`);
    return { line: Number(r[0]), error: r[1], message: r[2] };
  });
}

// The rejects file the CLI names on stderr (default FILE.rejected.csv).
function rejectsNamedIn(stderr, file) {
  const m = /(\S+\.rejected\.csv)\b/.exec(stderr);
  assert.ok(m, `stderr names no rejects file:\n${stderr}`);
  const named = path.resolve(path.dirname(file), m[1].replace(/^["'`]|["'`:,.]$/g, ''));
  assert.ok(fs.existsSync(named), `stderr names ${named}, which does not exist:\n${stderr}`);
  return named;
}

// The summary line: "keyward: N rows: I imported, U unchanged, R rejected in T s (X rows/s)"
// ("I to import" in a dry run).
function summaryOf(stderr) {
  const lines = stderr
    .split(/\r\n|\r|\n/)
    .filter((l) => /\b(imported|to import)\b/.test(l) && /\bunchanged\b/.test(l) && /\brejected\b/.test(l));
  assert.ok(lines.length > 0, `no summary line on stderr:\n${stderr}`);
  const line = lines.at(-1);
  const count = (word) => {
    const m = new RegExp(`([\\d,]+) ${word}`).exec(line);
    assert.ok(m, `the summary names no count of ${word}: ${line}`);
    return Number(m[1].replace(/,/g, ''));
  };
  const rows = /([\d,]+) rows?\b(?!\/)/.exec(line);
  const rate = /([\d,.]+) (?:rows|keys)\/s/.exec(line);
  return {
    line,
    rows: rows ? Number(rows[1].replace(/,/g, '')) : null,
    imported: count('(?:imported|to import)'),
    unchanged: count('unchanged'),
    rejected: count('rejected'),
    rate: rate ? Number(rate[1].replace(/,/g, '')) : null,
  };
}

function cliEnv(srv) {
  return { KEYWARD_URL: srv.url, KEYWARD_ROOT_KEY: srv.rootKey };
}

// `keyward import ARGS` against srv; {code, signal, stdout, stderr}.
function importCli(srv, args, { timeoutMs = 60_000, env = {} } = {}) {
  return runCli(['import', ...args], { env: { ...cliEnv(srv), ...env }, timeoutMs });
}

function exportCli(srv, args, { timeoutMs = 60_000 } = {}) {
  return runCli(['export-hashes', ...args], { env: cliEnv(srv), timeoutMs });
}

const bearer = (key) => ({ authorization: `Bearer ${key}` });

// What GET /v1/auth answers for key: 'valid' or its error code.
async function authCode(srv, key) {
  const r = await srv.auth(bearer(key));
  if (r.status === 200) return 'valid';
  assert.equal(r.status >= 400 && r.status < 500, true, `GET /v1/auth answered ${r.status}: ${r.text}`);
  return r.json?.error ?? `HTTP ${r.status}`;
}

// Every row GET /v1/api-keys/export gives for query.
async function exportAll(srv, query = '') {
  const rows = [];
  let cursor = null;
  for (let i = 0; i < 10_000; i++) {
    const q = `/v1/api-keys/export?limit=1000${query ? `&${query}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await srv.get(q);
    assert.equal(r.status, 200, `GET ${q}: ${r.status} ${r.text}`);
    rows.push(...r.json.data);
    cursor = r.json.next_cursor;
    if (!cursor) return rows;
  }
  throw new Error('the export cursor never ends');
}

async function activeKeys(srv, wsId) {
  const r = await srv.get(`/v1/workspaces/${wsId}`);
  assert.equal(r.status, 200, r.text);
  return r.json.active_keys;
}

async function importAudits(srv) {
  return (await srv.listAll('/v1/audit-log')).filter((e) => e.action === 'key.import');
}

function byHashRow(ws, env, key, extra = {}) {
  return { workspace_id: ws, environment: env, hash: { algorithm: 'sha256', encoding: 'hex', value: sha256Hex(key) }, ...extra };
}

function writeJsonl(file, rows) {
  fs.writeFileSync(file, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
}

// ---------------------------------------------------------------------------

test('legacy formats: imported amser keys verify with the environment their shape names; an unknown key of that shape is invalid, another shape malformed', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('amser merchants', { max_active_keys: 100 });
  const live = [amserKey('live'), amserKey('live'), amserKey('live')];
  const testKeys = [amserKey('test'), amserKey('test')];
  const plaintext = amserKey('live'); // by the key itself: its short prefix comes from the format
  const mislabeled = amserKey('live'); // by hash, under "test": its own text says live
  const [expired, disabled, revoked] = [amserKey('live'), amserKey('live'), amserKey('test')];
  // Asked before the import: unknown (and so in the negative cache).
  assert.equal(await authCode(srv, live[0]), 'invalid');

  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'amser.jsonl');
  writeJsonl(file, [
    byHashRow(ws.id, 'live', live[0], { short_prefix: shortPrefixOf(live[0]), name: 'billing' }),
    byHashRow(ws.id, 'live', live[1]),
    { workspace_id: ws.id, environment: 'live', hash: { algorithm: 'sha256', encoding: 'base64', value: sha256Base64(live[2]) } },
    '',
    byHashRow(ws.id, 'test', testKeys[0]),
    { workspace_id: ws.id, environment: 'test', hash: { algorithm: 'sha256', encoding: 'base64', value: sha256Base64(testKeys[1]).replace(/=+$/, '') } },
    { workspace_id: ws.id, environment: 'live', key: plaintext, name: 'from plaintext' },
    byHashRow(ws.id, 'test', mislabeled),
    byHashRow(ws.id, 'live', expired, { expires_at: '2021-01-01T00:00:00Z' }),
    byHashRow(ws.id, 'live', disabled, { disabled: true }),
    byHashRow(ws.id, 'test', revoked, { revoked_at: '2022-02-02T00:00:00Z' }),
  ]);
  const r = await importCli(srv, ['--file', file]);
  assert.equal(r.code, 0, `keyward import exited ${r.code}:\n${r.stderr}`);
  const s = summaryOf(r.stderr);
  assert.deepEqual([s.imported, s.unchanged, s.rejected], [10, 0, 0], s.line);
  // Keys that were expired, disabled or revoked in the old system stay so.
  assert.equal(await authCode(srv, expired), 'expired');
  assert.equal(await authCode(srv, disabled), 'disabled');
  assert.equal(await authCode(srv, revoked), 'revoked');

  for (const [keys, env] of [[live, 'live'], [testKeys, 'test'], [[plaintext], 'live']]) {
    for (const k of keys) {
      const a = await srv.auth(bearer(k));
      assert.equal(a.status, 200, `${k.slice(0, 22)}…: ${a.status} ${a.text}`);
      assert.equal(a.headers.get('x-keyward-environment'), env);
      assert.equal(a.headers.get('x-keyward-workspace-id'), ws.id);
    }
  }
  // Also through POST /v1/keys/verify, with the key's id and short prefix.
  const v = await srv.verify({ key: plaintext });
  assert.equal(v.valid, true, JSON.stringify(v));
  const stored = (await srv.get(`/v1/api-keys/${v.key_id}`)).json;
  assert.equal(stored.short_prefix, shortPrefixOf(plaintext), 'short_prefix_length = 12 after amsr_live_');
  assert.equal(stored.name, 'from plaintext');
  const first = (await srv.get(`/v1/api-keys/${(await srv.verify({ key: live[0] })).key_id}`)).json;
  assert.equal(first.short_prefix, shortPrefixOf(live[0]));
  assert.equal(first.name, 'billing');
  // A key whose shape says live, imported as test, never passes as either.
  assert.equal(await authCode(srv, mislabeled), 'wrong_environment');
  // Shape alone never passes: unknown keys of the legacy shape are invalid,
  // and one character changed in an imported key makes another unknown key.
  assert.equal(await authCode(srv, amserKey('live')), 'invalid');
  assert.equal(await authCode(srv, amserKey('test')), 'invalid');
  const last = live[1].at(-1);
  assert.equal(await authCode(srv, live[1].slice(0, -1) + (last === 'A' ? 'B' : 'A')), 'invalid');
  // Other shapes are malformed: too short, too long, a character outside
  // the class, an environment the pattern does not name.
  for (const bad of [live[0].slice(0, -1), live[0] + 'x', live[0].slice(0, -1) + '-', `amsr_prod_${randomAlnum(21)}`]) {
    assert.equal(await authCode(srv, bad), 'malformed', bad);
  }
  // keyward's own keys still work beside them, with the same product prefix.
  const native = await srv.createKey(ws.id, { name: 'native' });
  assert.match(native.key, /^amsr_live_[0-9A-Za-z]{40}$/);
  assert.equal(await authCode(srv, native.key), 'valid');
});

test('a legacy test key on a deployment that accepts only live answers wrong_environment', async (t) => {
  const srv = await startServer({
    config: `[keys]
product_prefix = "amsr"
accept_environments = ["live"]
${AMSER_LEGACY}`,
  });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('amser');
  const live = amserKey('live');
  const testKey = amserKey('test');
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'keys.csv');
  writeCsv(file, ['environment', 'hash'], [['live', sha256Base64(live)], ['test', sha256Base64(testKey)]]);
  const r = await importCli(srv, ['--file', file, '--workspace', ws.id, '--hash-encoding', 'base64']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(summaryOf(r.stderr).imported, 2);
  assert.equal(await authCode(srv, live), 'valid');
  assert.equal(await authCode(srv, testKey), 'wrong_environment');
  assert.notEqual(await authCode(srv, amserKey('test')), 'valid');
});

test('re-importing with the CLI changes nothing and keeps the ids; a hash that is another key\'s is rejected by its line', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('first', { max_active_keys: 1000 });
  const ws2 = await srv.createWorkspace('second', { max_active_keys: 1000 });
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const keys = Array.from({ length: 250 }, () => amserKey('live'));
  const file = path.join(dir, 'keys.csv');
  writeCsv(
    file,
    ['workspace_id', 'environment', 'hash', 'short_prefix', 'name', 'scopes', 'created_at'],
    keys.map((k, i) => [ws.id, 'live', sha256Hex(k), shortPrefixOf(k), `merchant ${i}`, 'markets:read orders:write', '2025-01-02T03:04:05Z']),
  );
  const first = await importCli(srv, ['--file', file, '--batch-size', '100']);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(
    [summaryOf(first.stderr).imported, summaryOf(first.stderr).unchanged, summaryOf(first.stderr).rejected],
    [250, 0, 0],
    first.stderr,
  );
  assert.ok(!fs.existsSync(`${file}.import-state`), 'the state file is removed once the import completes');
  const before = await exportAll(srv, `workspace_id=${ws.id}`);
  assert.equal(before.length, 250);
  const one = before.find((row) => row.hash.value === sha256Hex(keys[7]));
  assert.ok(one, 'the key of row 8 is exported by its hash');
  assert.equal(one.name, 'merchant 7');
  assert.deepEqual(one.scopes, ['markets:read', 'orders:write']);
  assert.equal(one.created_at, '2025-01-02T03:04:05Z');
  assert.equal(one.short_prefix, shortPrefixOf(keys[7]));
  const auditsBefore = await importAudits(srv);

  const again = await importCli(srv, ['--file', file, '--batch-size', '100']);
  assert.equal(again.code, 0, again.stderr);
  const s = summaryOf(again.stderr);
  assert.deepEqual([s.imported, s.unchanged, s.rejected], [0, 250, 0], s.line);
  const after = await exportAll(srv, `workspace_id=${ws.id}`);
  const idsOf = (rows) => new Map(rows.map((row) => [row.hash.value, row.id]));
  assert.deepEqual(idsOf(after), idsOf(before), 'the same hash keeps the same key id');
  assert.deepEqual(after, before, 'nothing about any key changed');
  assert.equal(await activeKeys(srv, ws.id), 250);
  // The batches are on the record even when they change nothing.
  assert.equal((await importAudits(srv)).length - auditsBefore.length, 3, 'one audit entry per batch of 100');

  // Same hash, another workspace or environment: reported, never merged.
  const fresh = [amserKey('live'), amserKey('live')];
  const conflicts = path.join(dir, 'conflicts.csv');
  writeCsv(conflicts, ['workspace_id', 'environment', 'hash'], [
    [ws2.id, 'live', sha256Hex(fresh[0])], // line 2
    [ws2.id, 'live', sha256Hex(keys[5])], // line 3: ws's key
    [ws.id, 'test', sha256Hex(keys[9])], // line 4: ws's live key, as test
    [ws2.id, 'live', sha256Hex(fresh[1])], // line 5
  ]);
  const c = await importCli(srv, ['--file', conflicts]);
  assert.equal(c.code, 1, `rejected rows: exit 1, not ${c.code}\n${c.stderr}`);
  const cs = summaryOf(c.stderr);
  assert.deepEqual([cs.imported, cs.unchanged, cs.rejected], [2, 0, 2], cs.line);
  const rejects = readRejects(rejectsNamedIn(c.stderr, conflicts));
  assert.deepEqual(rejects.map((x) => [x.line, x.error]), [[3, 'hash_conflict'], [4, 'hash_conflict']]);
  const owner = before.find((row) => row.hash.value === sha256Hex(keys[5]));
  assert.equal((await srv.get(`/v1/api-keys/${owner.id}`)).json.workspace_id, ws.id, 'the key stays where it was');
  const auth = await srv.auth(bearer(keys[5]));
  assert.equal(auth.headers.get('x-keyward-workspace-id'), ws.id);
  assert.equal(await authCode(srv, fresh[1]), 'valid');
  assert.equal(await activeKeys(srv, ws2.id), 2);
});

test('a workspace imported over its limit keeps every key, the CLI says so, and new keys are refused until enough are revoked', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('small', { max_active_keys: 5 });
  const roomy = await srv.createWorkspace('roomy', { max_active_keys: 50 });
  const keys = Array.from({ length: 8 }, () => amserKey('live'));
  const other = amserKey('live');
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'keys.csv');
  writeCsv(file, ['workspace_id', 'hash'], [...keys.map((k) => [ws.id, sha256Hex(k)]), [roomy.id, sha256Hex(other)]]);
  const r = await importCli(srv, ['--file', file, '--environment', 'live']);
  assert.equal(r.code, 0, `every row was imported: exit 0, not ${r.code}\n${r.stderr}`);
  assert.equal(summaryOf(r.stderr).imported, 9);
  const warning = r.stderr.split('\n').filter((l) => l.includes(ws.id));
  assert.ok(warning.some((l) => /limit/i.test(l) && /\b8\b/.test(l) && /\b5\b/.test(l)),
    `no line names ${ws.id} over its limit (8 of 5):\n${r.stderr}`);
  assert.ok(!r.stderr.includes(roomy.id), `the roomy workspace is not over its limit:\n${r.stderr}`);
  for (const k of keys) assert.equal(await authCode(srv, k), 'valid');
  assert.equal(await activeKeys(srv, ws.id), 8);

  const create = () => srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'new' });
  let refused = await create();
  assert.equal(refused.status, 409, refused.text);
  assert.equal(refused.json.error, 'key_limit_reached');
  const ids = (await exportAll(srv, `workspace_id=${ws.id}`)).map((row) => row.id);
  for (const id of ids.slice(0, 3)) assert.equal((await srv.del(`/v1/api-keys/${id}`)).status, 200);
  refused = await create();
  assert.equal(refused.status, 409, `5 active of 5: still no room: ${refused.text}`);
  assert.equal(refused.json.error, 'key_limit_reached');
  assert.equal((await srv.del(`/v1/api-keys/${ids[3]}`)).status, 200);
  const made = await create();
  assert.equal(made.status, 201, `4 active of 5: room for one: ${made.text}`);
  assert.equal(await activeKeys(srv, ws.id), 5);
  // The revoked imported keys answer revoked; the others still verify.
  const rows = await exportAll(srv, `workspace_id=${ws.id}&include_revoked=true`);
  const keyOf = new Map(keys.map((k) => [sha256Hex(k), k]));
  for (const row of rows) {
    const k = keyOf.get(row.hash.value);
    if (!k) continue; // the new native key
    assert.equal(await authCode(srv, k), ids.slice(0, 4).includes(row.id) ? 'revoked' : 'valid');
  }
});

// Runs the secrets sweep (sweep/secrets.mjs) over evidence written to a
// directory of its own; {code, output}.
function runSweep(evidenceDir) {
  const env = childEnv({ KEYWARD_EVIDENCE_DIR: evidenceDir });
  delete env.NODE_TEST_CONTEXT; // a run of its own, not a child of this one
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', 'sweep/secrets.mjs'], {
    cwd: HERE,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

// Every file under dir, as text (bytes as latin1, so that any ASCII run
// stays as it is): [{name, text}].
function filesUnder(dir) {
  const out = [];
  for (const name of fs.readdirSync(dir, { recursive: true })) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isFile()) out.push({ name, text: fs.readFileSync(p).toString('latin1') });
  }
  return out;
}

test('a plaintext import leaves no plaintext anywhere (the secrets sweep over the data, logs, rejects and answers), and the CLI says to delete the file', async (t) => {
  const srv = await startServer({
    config: `${AMSER_CONFIG}
[[keys.legacy]]
pattern = "^acme_(live|test)_[A-Za-z0-9]{40}$"
environment = "$1"
short_prefix_length = 12
`,
  });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('plaintext', { max_active_keys: 100 });
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // acme keys have 40 random characters, the length the sweep looks for;
  // amser keys have 21, and are looked for below by their hidden tail.
  const acme = [...Array.from({ length: 20 }, () => `acme_live_${randomAlnum(40)}`), ...Array.from({ length: 5 }, () => `acme_test_${randomAlnum(40)}`)];
  const amser = Array.from({ length: 10 }, () => amserKey('live'));
  const mismatched = `acme_live_${randomAlnum(40)}`; // under test: environment_mismatch
  const unknown = `zzzz_live_${randomAlnum(40)}`; // no format: unknown_key_format
  const secrets = [...acme, ...amser, mismatched, unknown];
  for (const s of secrets) noteSecret(s); // the run's own sweep looks for them too
  const file = path.join(dir, 'plaintext.csv');
  const rows = [...acme, ...amser].map((k, i) => [k.slice(5, 9) === 'test' ? 'test' : 'live', k, `customer ${i}`]);
  rows.splice(10, 0, ['test', mismatched, 'mismatched']); // line 12
  rows.splice(20, 0, ['live', unknown, 'unknown']); // line 22
  writeCsv(file, ['environment', 'key', 'name'], rows);
  const r = await importCli(srv, ['--file', file, '--workspace', ws.id, '--batch-size', '7']);
  assert.equal(r.code, 1, `two rows rejected: exit 1, not ${r.code}\n${r.stderr}`);
  const s = summaryOf(r.stderr);
  assert.deepEqual([s.imported, s.rejected], [35, 2], s.line);
  assert.ok(r.stderr.split('\n').some((l) => /plaintext/i.test(l) && /delete/i.test(l)),
    `no warning to delete the file of plaintext keys:\n${r.stderr}`);
  const rejectsFile = rejectsNamedIn(r.stderr, file);
  assert.deepEqual(readRejects(rejectsFile).map((x) => [x.line, x.error]), [[12, 'environment_mismatch'], [22, 'unknown_key_format']]);
  for (const k of [acme[0], acme[19], acme[22], amser[0], amser[9]]) assert.equal(await authCode(srv, k), 'valid', k.slice(0, 22));
  assert.equal(await authCode(srv, mismatched), 'invalid');
  const v = await srv.verify({ key: acme[3] });
  assert.equal((await srv.get(`/v1/api-keys/${v.key_id}`)).json.short_prefix, acme[3].slice(0, 22));

  // What the sweep looks at: every answer the API gives about these keys,
  // the server's logs, its database (dumped, and every file of its data
  // directory byte for byte, the write-ahead log included), everything the
  // CLI printed and wrote (the rejects file; no state file is left).
  assert.ok(!fs.existsSync(`${file}.import-state`));
  const answers = [
    (await srv.get(`/v1/api-keys?workspace_id=${ws.id}&limit=100`)).text,
    JSON.stringify(await exportAll(srv)),
    (await srv.get('/v1/audit-log?limit=100')).text,
    (await srv.get('/metrics')).text,
  ].join('\n');
  await sleep(1200); // a usage flush, so that what verification wrote is on disk too
  srv.dumpDatabase();
  assert.ok(srv.databaseDump && srv.databaseDump.includes('INSERT INTO'), `no database dump: ${srv.evidenceError}`);
  const evidence = makeTempDir('keyward-import-evidence-');
  t.after(() => fs.rmSync(evidence, { recursive: true, force: true }));
  const run = path.join(evidence, 'import');
  fs.mkdirSync(run);
  fs.writeFileSync(path.join(run, 'secrets.txt'), secrets.join('\n') + '\n');
  fs.writeFileSync(path.join(run, 'server-0.stdout.log'), srv.allStdout);
  fs.writeFileSync(path.join(run, 'server-0.stderr.log'), withoutRootKeyBanner(srv.allStderr));
  fs.writeFileSync(path.join(run, 'server-0.database.sql'), srv.databaseDump);
  fs.writeFileSync(path.join(run, 'server-0.answers.txt'), answers);
  fs.writeFileSync(path.join(run, 'cli-output.txt'), `${r.stdout}\n${r.stderr}`);
  fs.writeFileSync(path.join(run, 'rejects.csv'), fs.readFileSync(rejectsFile));
  const dataFiles = filesUnder(srv.dataDir);
  if (ENGINE === 'sqlite') assert.ok(dataFiles.some((f) => f.name.startsWith('keyward.db')), 'the data directory holds the database');
  dataFiles.forEach((f, i) => fs.writeFileSync(path.join(run, `server-0.data-${i}.bin`), f.text, 'latin1'));
  const sweep = runSweep(evidence);
  assert.equal(sweep.code, 0, `the secrets sweep found plaintext:\n${sweep.output}`);
  assert.match(sweep.output, /sweep: \d+ secrets against/);
  // amser keys are too short for the sweep's windows: their hidden part
  // (after the 12 characters a list shows) is looked for directly.
  const all = fs.readdirSync(run).filter((f) => f !== 'secrets.txt').map((f) => [f, fs.readFileSync(path.join(run, f), 'latin1')]);
  for (const k of [...amser, ...acme, mismatched, unknown]) {
    const hidden = k.slice(shortPrefixOf(k).length);
    for (const [f, text] of all) assert.ok(!text.includes(hidden), `${f} holds the hidden part of ${shortPrefixOf(k)}…`);
  }
  // The sweep does see these keys where they are: the file itself.
  const control = path.join(evidence, 'control');
  fs.mkdirSync(control);
  fs.writeFileSync(path.join(control, 'secrets.txt'), secrets.join('\n') + '\n');
  fs.writeFileSync(path.join(control, 'server-0.stdout.log'), srv.allStdout);
  fs.writeFileSync(path.join(control, 'server-0.database.sql'), srv.databaseDump);
  fs.writeFileSync(path.join(control, 'server-0.import-file.csv'), fs.readFileSync(file));
  const caught = runSweep(evidence);
  assert.notEqual(caught.code, 0, `the sweep missed the plaintext file itself:\n${caught.output}`);
  assert.match(caught.output, /import-file\.csv: acme_live_/);
});

test('rejected rows are named by the line they start on, in CSV (quoted multi-line cells before them) and JSON lines', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('lines', { max_active_keys: 100 });
  const k = Array.from({ length: 10 }, () => amserKey('live'));
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'export from billing.csv');
  const H = (i) => sha256Hex(k[i]);
  const text = [
    'workspace_id,environment,hash,name,meta', // 1
    `${ws.id},live,${H(0)},good 0,`, // 2
    `${ws.id},live,zz-not-a-hash,bad hash,`, // 3
    `${ws.id},live,${H(1)},multi-line meta,"{""note"": ""spans three lines"",`, // 4
    '""n"": 3', // 5 (inside the quoted cell)
    '}"', // 6 (the cell ends)
    `${ws.id},prod,${H(2)},unknown environment,`, // 7
    `${ws.id},live,${H(3)},good 3,"{""a"": ""x,y""}"`, // 8
    '', // 9: a blank line, skipped but counted
    `${ws.id},live,${H(4)},bad meta,{not json`, // 10
    `${ws.id},live,${H(5)},"quoted, with ""quotes""",`, // 11
    `ws_doesnotexist,live,${H(6)},no such workspace,`, // 12
    `${ws.id},live,${H(7)},good 7,"{""multi"":`, // 13
    '""line""}"', // 14
    `${ws.id},live,${H(8)},meta not an object,[1]`, // 15
    `${ws.id},live,${H(9)},good 9,`, // 16
  ].join('\n') + '\n';
  fs.writeFileSync(file, text);
  const rejectsPath = path.join(dir, 'bad rows.csv');
  const r = await importCli(srv, ['--file', file, '--rejects', rejectsPath, '--batch-size', '4']);
  assert.equal(r.code, 1, `rejected rows: exit 1, not ${r.code}\n${r.stderr}`);
  const s = summaryOf(r.stderr);
  assert.deepEqual([s.imported, s.unchanged, s.rejected], [6, 0, 5], s.line);
  assert.ok(r.stderr.includes(rejectsPath), `stderr names the rejects file ${rejectsPath}:\n${r.stderr}`);
  const rejects = readRejects(rejectsPath);
  assert.deepEqual(rejects.map((x) => x.line), [3, 7, 10, 12, 15], JSON.stringify(rejects));
  const byLine = Object.fromEntries(rejects.map((x) => [x.line, x]));
  assert.equal(byLine[3].error, 'invalid_hash');
  assert.equal(byLine[7].error, 'unknown_environment');
  assert.match(byLine[10].error, /meta|invalid_row|json/, JSON.stringify(byLine[10]));
  assert.match(byLine[10].message, /meta|JSON/i, JSON.stringify(byLine[10]));
  assert.equal(byLine[12].error, 'workspace_not_found');
  assert.match(byLine[15].error, /meta|invalid_row/, JSON.stringify(byLine[15]));
  assert.match(byLine[15].message, /meta/i, JSON.stringify(byLine[15]));
  // The good rows, with what their cells said.
  const got = async (i) => (await srv.get(`/v1/api-keys/${(await srv.verify({ key: k[i] })).key_id}`)).json;
  assert.deepEqual((await got(1)).meta, { note: 'spans three lines', n: 3 });
  assert.deepEqual((await got(3)).meta, { a: 'x,y' });
  assert.equal((await got(5)).name, 'quoted, with "quotes"');
  assert.deepEqual((await got(7)).meta, { multi: 'line' });
  for (const i of [0, 9]) assert.equal(await authCode(srv, k[i]), 'valid');
  for (const i of [2, 4, 6, 8]) assert.equal(await authCode(srv, k[i]), 'invalid');
  assert.equal(await activeKeys(srv, ws.id), 6);

  // The same file as a spreadsheet saves it (a byte order mark, CRLF line
  // ends, inside the quoted cells too): the same lines, the good rows now
  // unchanged.
  const excel = path.join(dir, 'excel.csv');
  fs.writeFileSync(excel, '\uFEFF' + text.replace(/\n/g, '\r\n'));
  const x = await importCli(srv, ['--file', excel]);
  assert.equal(x.code, 1, x.stderr);
  const xs = summaryOf(x.stderr);
  assert.deepEqual([xs.imported, xs.unchanged, xs.rejected], [0, 6, 5], xs.line);
  assert.deepEqual(readRejects(rejectsNamedIn(x.stderr, excel)).map((y) => [y.line, y.error]),
    rejects.map((y) => [y.line, y.error]));

  // JSON lines: blank lines are skipped but counted, a line that is no JSON
  // is rejected by the CLI itself.
  const j = Array.from({ length: 4 }, () => amserKey('test'));
  const jfile = path.join(dir, 'keys.jsonl');
  fs.writeFileSync(jfile, [
    JSON.stringify(byHashRow(ws.id, 'test', j[0])), // 1
    '', // 2
    '{"workspace_id": "' + ws.id + '", "environment": "test", "hash": ', // 3
    JSON.stringify(byHashRow(ws.id, 'test', j[1])), // 4
    '   ', // 5
    JSON.stringify({ ...byHashRow(ws.id, 'test', j[2]), hash: { algorithm: 'md5', encoding: 'hex', value: sha256Hex(j[2]) } }), // 6
    JSON.stringify({ environment: 'test', key: j[3] }), // 7: workspace from --workspace
  ].join('\n') + '\n');
  const jr = await importCli(srv, ['--file', jfile, '--workspace', ws.id]);
  assert.equal(jr.code, 1, jr.stderr);
  const js = summaryOf(jr.stderr);
  assert.deepEqual([js.imported, js.rejected], [3, 2], js.line);
  const jrejects = readRejects(rejectsNamedIn(jr.stderr, jfile));
  assert.deepEqual(jrejects.map((x) => x.line), [3, 6], JSON.stringify(jrejects));
  assert.equal(jrejects[1].error, 'invalid_hash');
  for (const i of [0, 1, 3]) assert.equal(await authCode(srv, j[i]), 'valid');
});

test('an interrupted import resumes after the last answered batch', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('big', { max_active_keys: 100000 });
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ROWS = 20_000;
  const BATCH = 200;
  const keys = Array.from({ length: ROWS }, () => amserKey('live'));
  const file = path.join(dir, 'keys.csv');
  writeCsv(file, ['hash'], keys.map((k) => [sha256Hex(k)]));
  const stateFile = `${file}.import-state`;
  const args = ['import', '--file', file, '--workspace', ws.id, '--environment', 'live', '--batch-size', String(BATCH)];

  // The first run, killed once the state file says 2,000 rows were answered.
  const child = spawn(KEYWARD_BIN, args, { env: childEnv(cliEnv(srv)), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr1 = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr1 += d));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let state = null;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const text = fs.readFileSync(stateFile, 'utf8');
      const numbers = (text.match(/\d+/g) ?? []).map(Number); // JSON or not, the rows done are among them
      if (text.trim().length > 0 && numbers.some((n) => n >= 2000 && n < ROWS)) {
        state = text;
        child.kill('SIGKILL');
        break;
      }
    } catch {
      // not there yet
    }
    await sleep(2);
  }
  const first = await exited;
  assert.equal(first.signal, 'SIGKILL', `the import ended (${first.code}) before it wrote ${stateFile}; stderr:\n${stderr1}`);
  assert.ok(fs.existsSync(stateFile), 'the state file outlives the killed run');
  // The batch in flight at the kill may still be committed after it: wait
  // until the server has finished with it.
  let audits1 = (await importAudits(srv)).length;
  for (let stable = 0; stable < 2;) {
    await sleep(300);
    const now = (await importAudits(srv)).length;
    stable = now === audits1 ? stable + 1 : 0;
    audits1 = now;
  }
  const imported1 = await activeKeys(srv, ws.id);
  assert.ok(imported1 > 0 && imported1 < ROWS, `${imported1} keys after the first run, of ${ROWS}`);
  assert.equal(imported1, audits1 * BATCH, 'every batch committed is on the record');

  const second = await runCli(args, { env: cliEnv(srv), timeoutMs: 120_000 });
  assert.equal(second.code, 0, second.stderr);
  const m = /resum\w*\D{0,40}?([\d,]+)/i.exec(second.stderr);
  assert.ok(m, `the second run does not say it resumes:\n${second.stderr}`);
  const after = Number(m[1].replace(/,/g, ''));
  // It resumed after a batch the server had answered: the keys were there,
  // and at most the one batch in flight at the kill was answered unseen.
  assert.ok(after > 0 && after % BATCH <= 1, `resumed after row ${after}: not after a batch of ${BATCH} (state: ${state})`);
  assert.ok(after <= imported1 + 1 && imported1 - after <= BATCH,
    `resumed after row ${after} with ${imported1} keys imported (state: ${state})`);
  console.log(`resume: killed with ${imported1} of ${ROWS} keys imported; the rerun said ${JSON.stringify(m[0])}`);
  const s = summaryOf(second.stderr);
  assert.equal(s.rejected, 0, s.line);
  assert.ok(s.unchanged <= BATCH, `the resumed run sent again only the batch in flight: ${s.line}`);
  assert.equal(await activeKeys(srv, ws.id), ROWS, 'every row, exactly once');
  assert.ok(!fs.existsSync(stateFile), 'the state file is removed once the import completes');
  // The batches sent: those of the first run, and the rest.
  const audits2 = (await importAudits(srv)).length;
  const remaining = Math.ceil((ROWS - (after - (after % BATCH))) / BATCH);
  assert.equal(audits2 - audits1, remaining, `the second run sent ${audits2 - audits1} batches, not the ${remaining} left`);
  for (const i of [0, ROWS / 2, ROWS - 1]) assert.equal(await authCode(srv, keys[i]), 'valid');
});

test('a dry run checks every row and writes nothing: no key, no audit entry, no state file', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('dry', { max_active_keys: 100000 });
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const existing = amserKey('live');
  const seeded = path.join(dir, 'seed.csv');
  writeCsv(seeded, ['hash'], [[sha256Hex(existing)]]);
  assert.equal((await importCli(srv, ['--file', seeded, '--workspace', ws.id, '--environment', 'live'])).code, 0);
  const more = Array.from({ length: 500 }, () => amserKey('live'));
  const dry = path.join(dir, 'more.csv');
  writeCsv(dry, ['hash'], [...more.map((k) => [sha256Hex(k)]), [sha256Hex(existing)], ['not-a-hash']]);
  const auditsBefore = (await srv.listAll('/v1/audit-log')).length;
  const d = await importCli(srv, ['--file', dry, '--workspace', ws.id, '--environment', 'live', '--dry-run', '--batch-size', '100']);
  assert.equal(d.code, 1, `one row would be rejected: exit 1, not ${d.code}\n${d.stderr}`);
  assert.match(d.stderr, /dry run/i);
  const ds = summaryOf(d.stderr);
  assert.deepEqual([ds.imported, ds.unchanged, ds.rejected], [500, 1, 1], ds.line);
  assert.deepEqual(readRejects(rejectsNamedIn(d.stderr, dry)).map((x) => [x.line, x.error]), [[503, 'invalid_hash']]);
  assert.equal(await activeKeys(srv, ws.id), 1);
  assert.equal(await authCode(srv, more[0]), 'invalid');
  assert.equal((await srv.listAll('/v1/audit-log')).length, auditsBefore, 'a dry run leaves no audit entry');
  assert.ok(!fs.existsSync(`${dry}.import-state`), 'a dry run leaves no state file');
});

test('keyward export-hashes, then keyward import into a fresh deployment: native and legacy keys keep working, revoked ones stay revoked', async (t) => {
  const a = await startServer({ config: AMSER_CONFIG });
  t.after(() => a.close());
  const ws = await a.createWorkspace('leaving', { max_active_keys: 100 });
  const bystander = await a.createWorkspace('staying');
  await a.createKey(bystander.id, { name: 'not exported' });
  const nativeLive = await a.createKey(ws.id, { name: 'native live', scopes: ['markets:read'], meta: { plan: 'pro' } });
  const nativeTest = await a.createKey(ws.id, { name: 'native test', environment: 'test', ip_allowlist: ['127.0.0.1'] });
  const nativeGone = await a.createKey(ws.id, { name: 'native revoked' });
  const legacy = [amserKey('live'), amserKey('test'), amserKey('live')];
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const seed = path.join(dir, 'legacy.jsonl');
  writeJsonl(seed, [
    byHashRow(ws.id, 'live', legacy[0], { name: 'legacy live', created_at: '2024-05-06T07:08:09Z', meta: { from: 'amser' }, short_prefix: shortPrefixOf(legacy[0]) }),
    byHashRow(ws.id, 'test', legacy[1], { expires_at: '2030-01-01T00:00:00Z' }),
    byHashRow(ws.id, 'live', legacy[2], { name: 'legacy revoked' }),
  ]);
  const seeded = await importCli(a, ['--file', seed]);
  assert.equal(seeded.code, 0, seeded.stderr);
  const idOf = async (srv, key) => (await srv.verify({ key })).key_id;
  const legacyGoneId = await idOf(a, legacy[2]);
  assert.equal((await a.del(`/v1/api-keys/${nativeGone.id}`)).status, 200);
  assert.equal((await a.del(`/v1/api-keys/${legacyGoneId}`)).status, 200);

  // Out: to a file (FILE.partial until complete), every key with --include-revoked.
  const out = path.join(dir, 'keys.jsonl');
  const e = await exportCli(a, ['--output', out, '--workspace', ws.id, '--include-revoked']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stderr.trim().split('\n').at(-1), /exported 6 keys/, e.stderr);
  assert.ok(!fs.existsSync(`${out}.partial`));
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter((l) => l.trim());
  const rows = lines.map((l) => JSON.parse(l));
  assert.equal(rows.length, 6);
  for (const row of rows) {
    assert.equal(row.workspace_id, ws.id);
    assert.deepEqual(Object.keys(row.hash).sort(), ['algorithm', 'encoding', 'value']);
    assert.match(row.hash.value, /^[0-9a-f]{64}$/);
  }
  const text = fs.readFileSync(out, 'utf8');
  for (const k of [nativeLive.key, nativeTest.key, ...legacy]) {
    assert.ok(!text.includes(k.slice(-12)), 'the export holds hashes, never keys');
  }
  assert.deepEqual(rows.map((r) => r.hash.value).sort(), [nativeLive.key, nativeTest.key, nativeGone.key, ...legacy].map(sha256Hex).sort());
  // Without --include-revoked, to stdout; and one environment.
  const active = await exportCli(a, ['--workspace', ws.id]);
  assert.equal(active.code, 0, active.stderr);
  assert.equal(active.stdout.split('\n').filter((l) => l.trim()).length, 4);
  const testOnly = await exportCli(a, ['--workspace', ws.id, '--environment', 'test']);
  assert.deepEqual(testOnly.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l).hash.value).sort(),
    [nativeTest.key, legacy[1]].map(sha256Hex).sort());

  // In: a fresh deployment (another data directory or database), whose
  // workspace has another id: the rows are pointed at it.
  const b = await startServer({ config: AMSER_CONFIG });
  t.after(() => b.close());
  const wsB = await b.createWorkspace('arrived', { max_active_keys: 100 });
  const moved = path.join(dir, 'moved.jsonl');
  writeJsonl(moved, rows.map((row) => ({ ...row, workspace_id: wsB.id })));
  const imp = await importCli(b, ['--file', moved]);
  assert.equal(imp.code, 0, imp.stderr);
  assert.equal(summaryOf(imp.stderr).imported, 6, imp.stderr);
  // Every field came along: B exports what A did, but for the workspace.
  const back = await exportAll(b, `workspace_id=${wsB.id}&include_revoked=true`);
  const strip = (list) => list.map(({ workspace_id: _w, ...rest }) => rest).sort((x, y) => x.id.localeCompare(y.id));
  assert.deepEqual(strip(back), strip(rows));
  // The export imported back where it came from changes nothing.
  const home = await importCli(a, ['--file', out]);
  assert.equal(home.code, 0, home.stderr);
  assert.deepEqual([summaryOf(home.stderr).imported, summaryOf(home.stderr).unchanged], [0, 6], home.stderr);
  // And every key answers as it did.
  assert.equal(await authCode(b, nativeLive.key), 'valid');
  assert.equal(await authCode(b, nativeTest.key), 'valid');
  assert.equal(await authCode(b, legacy[0]), 'valid');
  assert.equal(await authCode(b, legacy[1]), 'valid');
  assert.equal(await authCode(b, nativeGone.key), 'revoked');
  assert.equal(await authCode(b, legacy[2]), 'revoked');
  const v = await b.verify({ key: nativeLive.key });
  assert.equal(v.key_id, nativeLive.id, 'the key keeps its id');
  const movedKey = (await b.get(`/v1/api-keys/${nativeLive.id}`)).json;
  assert.equal(movedKey.workspace_id, wsB.id);
  assert.deepEqual(movedKey.scopes, ['markets:read']);
  assert.deepEqual(movedKey.meta, { plan: 'pro' });
  assert.equal((await b.get(`/v1/api-keys/${legacyGoneId}`)).json.status, 'revoked');
  assert.equal((await b.get(`/v1/api-keys/${await idOf(b, legacy[0])}`)).json.created_at, '2024-05-06T07:08:09Z');
});

test('seed 000 end to end: 100,000 amser keys from an operator\'s hash export, imported with a column mapping, verify through /v1/auth', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const N = 100_000;
  const CUSTOMERS = 20;
  const customers = [];
  for (let i = 0; i < CUSTOMERS; i++) customers.push((await srv.createWorkspace(`merchant ${i}`, { max_active_keys: 100000 })).id);
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // What amser's key table gives: who, the SHA-256 of the key, when made.
  const keys = new Array(N);
  const owner = new Array(N);
  const created = new Array(N);
  const lines = ['customer,key_hash,created'];
  const base = Date.parse('2023-01-01T00:00:00Z');
  for (let i = 0; i < N; i++) {
    keys[i] = amserKey('live');
    owner[i] = customers[i % CUSTOMERS];
    created[i] = new Date(base + i * 60_000).toISOString().replace(/\.000Z$/, 'Z');
    lines.push(`${owner[i]},${sha256Hex(keys[i])},${created[i]}`);
  }
  const file = path.join(dir, 'amser_keys.csv');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const r = await importCli(srv, [
    '--file', file,
    '--map', 'workspace_id=customer',
    '--map', 'hash=key_hash',
    '--map', 'created_at=created',
    '--environment', 'live',
  ], { timeoutMs: 150_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = summaryOf(r.stderr);
  assert.deepEqual([s.imported, s.unchanged, s.rejected], [N, 0, 0], r.stderr);
  console.log(`seed 000 import (${ENGINE}): ${s.line.replace(/^.*?keyward: /, '')}`);
  assert.ok(s.rate > 0, `no rows/s in the summary: ${s.line}`);
  let total = 0;
  for (const id of customers) total += await activeKeys(srv, id);
  assert.equal(total, N);

  // A random sample verifies, each as its customer's key.
  const sample = new Set();
  while (sample.size < 200) sample.add(crypto.randomInt(N));
  for (const i of sample) {
    const a = await srv.auth(bearer(keys[i]));
    assert.equal(a.status, 200, `row ${i + 2}: ${a.status} ${a.text}`);
    assert.equal(a.headers.get('x-keyward-workspace-id'), owner[i]);
    assert.equal(a.headers.get('x-keyward-environment'), 'live');
  }
  for (const i of [...sample].slice(0, 3)) {
    const id = (await srv.verify({ key: keys[i] })).key_id;
    assert.equal((await srv.get(`/v1/api-keys/${id}`)).json.created_at, created[i]);
  }
  // Keys of the same shape that were never issued: every one invalid.
  for (let i = 0; i < 60; i++) assert.equal(await authCode(srv, amserKey('live')), 'invalid');

  // Importing into workspaces that already hold many keys costs what
  // importing into empty ones does: 10,000 more keys into these 20
  // workspaces (5,000 keys each) against 10,000 into 20 new ones.
  await t.test('importing into full workspaces is not slower than into empty ones', {
    todo: 'BUG (SQLite): after every batch KeyService::ImportKeys counts every active key of each workspace the batch ' +
          'touched (CountActiveKeys, for over_limit), so a batch costs O(keys already there) and an import ' +
          'O(n^2): 300,000 keys into 20 workspaces fall from ~6,000 to ~1,000 rows/s',
  }, async () => {
    const fresh = [];
    for (let i = 0; i < CUSTOMERS; i++) fresh.push((await srv.createWorkspace(`new merchant ${i}`, { max_active_keys: 100000 })).id);
    const rate = async (label, ids) => {
      const more = path.join(dir, `${label}.csv`);
      const rows = ['workspace_id,hash'];
      for (let i = 0; i < 10_000; i++) rows.push(`${ids[i % ids.length]},${sha256Hex(amserKey('live'))}`);
      fs.writeFileSync(more, rows.join('\n') + '\n');
      const started = Date.now();
      const x = await importCli(srv, ['--file', more, '--environment', 'live'], { timeoutMs: 120_000 });
      assert.equal(x.code, 0, x.stderr);
      return 10_000 / ((Date.now() - started) / 1000);
    };
    const empty = await rate('empty', fresh);
    const full = await rate('full', customers);
    console.log(`10,000 keys into 20 empty workspaces: ${empty.toFixed(0)} rows/s; into 20 of 5,000 keys each: ${full.toFixed(0)} rows/s`);
    assert.ok(full > empty / 2, `into full workspaces ${full.toFixed(0)} rows/s, into empty ones ${empty.toFixed(0)} rows/s`);
  });
});

test('cluster: keys imported on node A verify on node B at once, even one B had just refused', { skip: ENGINE !== 'postgres' && 'PostgreSQL only' }, async (t) => {
  const a = await startServer({ config: AMSER_CONFIG });
  let b;
  // B first: A drops the database they share when it closes.
  t.after(async () => {
    await b?.close();
    await a.close();
  });
  b = await startServer({ config: AMSER_CONFIG, database: a.database, rootKey: false });
  b.rootKey = a.rootKey;
  const ws = await a.createWorkspace('cluster', { max_active_keys: 1000 });
  const keys = Array.from({ length: 300 }, (_, i) => amserKey(i % 3 === 0 ? 'test' : 'live'));
  // Node B is asked first: unknown, and so in its negative cache.
  for (const k of keys.slice(0, 5)) {
    assert.equal(await authCode(b, k), 'invalid');
    assert.equal(await authCode(b, k), 'invalid');
  }
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'keys.csv');
  writeCsv(file, ['environment', 'hash'], keys.map((k) => [k.slice(5, 9), sha256Hex(k)]));
  const r = await importCli(a, ['--file', file, '--workspace', ws.id, '--batch-size', '100']);
  assert.equal(r.code, 0, r.stderr);
  const imported = Date.now();
  const probe = [...keys.slice(0, 5), ...keys.slice(-20)];
  const seen = await poll(async () => {
    for (const k of probe) if ((await authCode(b, k)) !== 'valid') return false;
    return true;
  }, { timeoutMs: 5000, intervalMs: 20 });
  const took = Date.now() - imported;
  assert.ok(seen, 'node B never saw the imported keys');
  assert.ok(took < 1500, `node B saw the imported keys after ${took} ms`);
  console.log(`cluster: node B verified keys imported on node A after ${took} ms`);
  for (const k of keys.slice(5, 100)) assert.equal(await authCode(b, k), 'valid');
  // A revocation on B reaches A the same way.
  const id = (await b.verify({ key: keys[1] })).key_id;
  assert.equal((await b.del(`/v1/api-keys/${id}`)).status, 200);
  assert.ok(await poll(async () => (await authCode(a, keys[1])) === 'revoked', { timeoutMs: 3000, intervalMs: 20 }));
});

test('the CLI\'s exit codes: usage 2, keyward unreachable 3, a refused root key 4; no key is taken from the command line', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('codes');
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'keys.csv');
  writeCsv(file, ['hash'], [[sha256Hex(amserKey('live'))]]);
  const base = ['--file', file, '--workspace', ws.id, '--environment', 'live'];
  for (const [args, why] of [
    [['--workspace', ws.id], 'no --file'],
    [[...base, '--batch-size', '0'], 'batch size 0'],
    [[...base, '--batch-size', '1001'], 'batch size 1001'],
    [[...base, '--format', 'xml'], 'an unknown format'],
    [[...base, '--key', amserKey('live')], 'a key on the command line'],
    [['--file', path.join(dir, 'missing.csv'), '--workspace', ws.id], 'a missing file'],
  ]) {
    const r = await importCli(srv, args);
    assert.equal(r.code, 2, `${why}: exit ${r.code}\n${r.stderr}`);
  }
  const wrongRoot = await importCli(srv, base, { env: { KEYWARD_ROOT_KEY: `kw_root_${randomAlnum(40)}` } });
  assert.equal(wrongRoot.code, 4, `a refused root key: exit ${wrongRoot.code}\n${wrongRoot.stderr}`);
  // A port that nothing listens on.
  const url = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(`http://127.0.0.1:${port}`));
    });
  });
  const down = await importCli(srv, base, { env: { KEYWARD_URL: url } });
  assert.equal(down.code, 3, `keyward unreachable: exit ${down.code}\n${down.stderr}`);
  assert.equal(await activeKeys(srv, ws.id), 0);
  const ok = await importCli(srv, base);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(await activeKeys(srv, ws.id), 1);
});

test('a state file left by an import into one keyward is never resumed into another (staging restored from production)', async (t) => {
  const production = await startServer({ config: AMSER_CONFIG });
  t.after(() => production.close());
  const ws = await production.createWorkspace('merchants', { max_active_keys: 100000 });
  // Staging: production's database as its backup restores it.
  await production.stop();
  let staging;
  if (ENGINE === 'postgres') {
    const source = /^postgres(?:ql)?:\/\/[^/?#]*\/([^?#]*)/.exec(production.database)[1];
    const copy = `kwt_staging_${process.pid}_${Date.now()}`;
    psql(POSTGRES_ADMIN_URL, `CREATE DATABASE "${copy}" TEMPLATE "${decodeURIComponent(source)}"`);
    t.after(() => psql(POSTGRES_ADMIN_URL, `DROP DATABASE IF EXISTS "${copy}" WITH (FORCE)`));
    staging = await startServer({ config: AMSER_CONFIG, database: postgresUrlFor(POSTGRES_ADMIN_URL, copy), rootKey: false });
  } else {
    const copy = makeTempDir('keyward-staging-');
    fs.cpSync(production.dataDir, copy, { recursive: true });
    t.after(() => fs.rmSync(copy, { recursive: true, force: true }));
    staging = await startServer({ config: AMSER_CONFIG, dataDir: copy, rootKey: false });
  }
  t.after(() => staging.close());
  staging.rootKey = production.rootKey;
  await production.restart();
  assert.equal((await staging.get(`/v1/workspaces/${ws.id}`)).status, 200, 'staging has production\'s workspaces');

  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ROWS = 20_000;
  const file = path.join(dir, 'keys.csv');
  writeCsv(file, ['workspace_id', 'hash'], Array.from({ length: ROWS }, () => [ws.id, sha256Hex(amserKey('live'))]));
  const args = ['import', '--file', file, '--environment', 'live', '--batch-size', '200'];
  const child = spawn(KEYWARD_BIN, args, { env: childEnv(cliEnv(staging)), stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const text = fs.existsSync(`${file}.import-state`) ? fs.readFileSync(`${file}.import-state`, 'utf8') : '';
    if ((text.match(/\d+/g) ?? []).map(Number).some((n) => n >= 2000 && n < ROWS)) break;
    await sleep(2);
  }
  child.kill('SIGKILL');
  assert.equal((await exited).signal, 'SIGKILL', 'the staging import finished before it could be interrupted');
  const r = await runCli(args, { env: cliEnv(production), timeoutMs: 120_000 });
  const got = await activeKeys(production, ws.id);
  assert.ok(r.code !== 0 || got === ROWS,
    `production holds ${got} of the ${ROWS} keys, and the import exited ${r.code}:\n${r.stderr}`);
  if (r.code === 0) assert.equal(summaryOf(r.stderr).imported, got, 'the summary counts what this keyward got');
});

// 1000 rows (the default --batch-size) that each pass alone (meta up to 8 KiB,
// 100 scopes) make a body over the import path's 8 MiB: the CLI splits the
// batch, and keyward's 413 names that limit, not the 64 KiB of other paths.
test('a file of valid rows too large for one request body is still imported', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('large rows', { max_active_keys: 2000 });
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const scopes = Array.from({ length: 100 }, (_, i) => `scope:number-${i}-xxxxxxxx`);
  const rows = Array.from({ length: 1000 }, () => byHashRow(ws.id, 'live', amserKey('live'), {
    name: 'n'.repeat(200), scopes, meta: { note: 'x'.repeat(8170) },
  }));
  const one = await srv.post('/v1/api-keys/import', { keys: [rows[0]], dry_run: true });
  assert.equal(one.json?.imported, 1, `one such row alone is fine: ${one.text}`);
  const whole = await srv.post('/v1/api-keys/import', { keys: rows });
  assert.equal(whole.status, 413, whole.text.slice(0, 200));
  assert.match(whole.json.message, /8 MiB|8192 KiB|8388608/, whole.json.message);
  const file = path.join(dir, 'large.jsonl');
  writeJsonl(file, rows);
  const r = await importCli(srv, ['--file', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await activeKeys(srv, ws.id), 1000);
});

test('on a terminal the CLI shows its progress: rows imported, rows per second and the time left', async (t) => {
  const srv = await startServer({ config: AMSER_CONFIG });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('progress', { max_active_keys: 100000 });
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'keys.csv');
  writeCsv(file, ['hash'], Array.from({ length: 20_000 }, () => [sha256Hex(amserKey('live'))]));
  // script(1) gives the command a terminal for its stderr.
  const command = [KEYWARD_BIN, 'import', '--file', file, '--workspace', ws.id, '--environment', 'live', '--batch-size', '100']
    .map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qfec', command, '/dev/null'], { env: childEnv(cliEnv(srv)), encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${r.error ?? ''}${r.stdout}${r.stderr}`);
  const screen = r.stdout;
  const progress = screen.split('\r').filter((l) => /imported [\d,]+ of 20,000 rows \([\d,]+ rows\/s, .+ left\)/.test(l));
  assert.ok(progress.length > 0, `no progress line on the terminal:\n${JSON.stringify(screen.slice(0, 2000))}`);
  assert.match(screen, /20,000 rows: 20,000 imported, 0 unchanged, 0 rejected/);
  assert.equal(await activeKeys(srv, ws.id), 20_000);
});

test('keyward restarting in the middle of an import: the CLI waits, sends the batch again and finishes, every key once', async (t) => {
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address();
      probe.close(() => resolve(p));
    });
  });
  const srv = await startServer({ config: AMSER_CONFIG, listen: `127.0.0.1:${port}` });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('restart', { max_active_keys: 100000 });
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ROWS = 20_000;
  const keys = Array.from({ length: ROWS }, () => amserKey('live'));
  const file = path.join(dir, 'keys.csv');
  writeCsv(file, ['hash'], keys.map((k) => [sha256Hex(k)]));
  const child = spawn(KEYWARD_BIN, ['import', '--file', file, '--workspace', ws.id, '--environment', 'live', '--batch-size', '200'],
    { env: childEnv(cliEnv(srv)), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const text = fs.existsSync(`${file}.import-state`) ? fs.readFileSync(`${file}.import-state`, 'utf8') : '';
    if ((text.match(/\d+/g) ?? []).map(Number).some((n) => n >= 2000 && n < ROWS)) break;
    await sleep(2);
  }
  assert.equal(child.exitCode, null, `the import ended before keyward could be stopped:\n${stderr}`);
  await srv.kill9();
  await sleep(1500);
  await srv.restart();
  const { code } = await exited;
  assert.equal(code, 0, stderr);
  assert.match(stderr, /trying again/i, 'the CLI said it waits for keyward');
  const s = summaryOf(stderr);
  assert.equal(s.rejected, 0, s.line);
  assert.equal(s.imported + s.unchanged, ROWS, s.line);
  assert.equal(await activeKeys(srv, ws.id), ROWS, 'every key once');
  assert.ok(!fs.existsSync(`${file}.import-state`));
  for (const i of [0, 2500, ROWS - 1]) assert.equal(await authCode(srv, keys[i]), 'valid');
});

// A legacy format whose random part is short (here 8 characters, the default
// short_prefix_length) must not make the whole key its short prefix, which
// lists, exports and import answers show.
test('a legacy format never makes the whole key its short prefix', async (t) => {
  const config = `[[keys.legacy]]
pattern = "^tok_[a-z0-9]{8}$"
environment = "live"
`;
  const dir = makeTempDir('keyward-import-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'keyward.toml'), config);
  const refused = await tryServe(['serve', '--listen', '127.0.0.1:0', '--data', path.join(dir, 'data'), '--config', path.join(dir, 'keyward.toml')]);
  if (!refused.listened) return; // a configuration that would show whole keys is refused: fine
  const srv = await startServer({ config });
  t.after(() => srv.close());
  const ws = await srv.createWorkspace('short keys');
  const key = `tok_${randomAlnum(8).toLowerCase()}`;
  const file = path.join(dir, 'keys.csv');
  writeCsv(file, ['key'], [[key]]);
  const r = await importCli(srv, ['--file', file, '--workspace', ws.id, '--environment', 'live']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await authCode(srv, key), 'valid');
  const listed = (await srv.get(`/v1/api-keys?workspace_id=${ws.id}`)).json.data[0];
  assert.ok(listed.short_prefix.length <= key.length - 8, `the list shows too much of the key as its short prefix: ${listed.short_prefix}`);
  assert.ok(key.startsWith(listed.short_prefix));
});
