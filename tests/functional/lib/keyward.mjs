// Helpers for the black-box functional tests: start the real keyward binary
// on a temporary data directory, talk to it over HTTP, stop it, restart it.
//
// The binary is $KEYWARD_BIN, or build/keyward of this repository.
//
// The storage engine is SQLite in the data directory, unless
// KEYWARD_TEST_POSTGRES_URL (or a file named by KEYWARD_TEST_POSTGRES_URL_FILE)
// gives the admin URL of a PostgreSQL server (scripts/test-postgres start
// prints one): then every server gets a database of its own on it, created
// with psql, passed with --database and dropped when the server is closed.
// ctest runs every suite both ways (functional.<name>, functional-pg.<name>).
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const KEYWARD_BIN = process.env.KEYWARD_BIN
  ? path.resolve(process.env.KEYWARD_BIN)
  : fileURLToPath(new URL('../../../build/keyward', import.meta.url));

export const START_TIMEOUT_MS = 10_000;

// Every child we start, so that a crashing test run leaves no server behind.
const liveChildren = new Set();
process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

// ---------------------------------------------------------------------------
// Evidence for the secrets sweep. With KEYWARD_EVIDENCE_DIR set (ctest sets
// it), every secret a test sees or sends (keys handed out, credentials
// presented, root keys printed by the CLI), every error body, and each
// server's logs, final /metrics and audit log are written there; after the
// whole functional run, sweep/secrets.mjs looks for any secret in any of
// them. A server's database (audit log included) is dumped when its test
// closes it.

export const EVIDENCE_DIR = process.env.KEYWARD_EVIDENCE_DIR || null;
const evidence = { secrets: new Set(), errorBodies: [], cliOutput: [], servers: [] };
const SECRET_SHAPE = /[a-z][a-z0-9]{0,15}_[a-z][a-z0-9]{0,15}_[0-9A-Za-z]{40}(?![0-9A-Za-z])/g;

// Remembers every key-shaped secret in text (prefix_env_ and 40 base62
// characters: issued, presented, fabricated or corrupted) for the sweep.
export function noteSecret(text) {
  if (!EVIDENCE_DIR || typeof text !== 'string') return;
  for (const m of text.matchAll(SECRET_SHAPE)) evidence.secrets.add(m[0]);
}

function noteExchange(sentHeaders, status, text) {
  if (!EVIDENCE_DIR) return;
  for (const [k, v] of Object.entries(sentHeaders)) {
    const lk = k.toLowerCase();
    if (typeof v !== 'string') continue;
    if (lk === 'authorization' || lk === 'x-api-key') noteSecret(v);
  }
  noteSecret(text); // a key handed out by a create or a rotate
  if (status >= 400 && text) evidence.errorBodies.push(text);
}

// The first-start banner prints the first root key on purpose: the operator
// needs it and it exists nowhere else. It is the one place a secret may be.
export function withoutRootKeyBanner(text) {
  return text.replace(/(keyward created the first root key for this database:\s*\n\s*)\S+/g, '$1[banner]');
}

function writeEvidence() {
  if (!EVIDENCE_DIR) return;
  const dir = path.join(EVIDENCE_DIR, `${process.pid}-${path.basename(process.argv[1] ?? 'node')}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'secrets.txt'), [...evidence.secrets].join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'error-bodies.txt'), evidence.errorBodies.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'cli-output.txt'), evidence.cliOutput.join('\n') + '\n');
  evidence.servers.forEach((srv, i) => {
    fs.writeFileSync(path.join(dir, `server-${i}.stdout.log`), srv.allStdout);
    fs.writeFileSync(path.join(dir, `server-${i}.stderr.log`), withoutRootKeyBanner(srv.allStderr));
    if (srv.finalMetrics) fs.writeFileSync(path.join(dir, `server-${i}.metrics.txt`), srv.finalMetrics);
    if (srv.databaseDump) fs.writeFileSync(path.join(dir, `server-${i}.database.sql`), srv.databaseDump);
    if (srv.evidenceError) fs.writeFileSync(path.join(dir, `server-${i}.unreadable.txt`), srv.evidenceError);
  });
}
process.on('exit', writeEvidence);

// ---------------------------------------------------------------------------
// The storage engine: SQLite (the default) or PostgreSQL.

function readPostgresAdminUrl() {
  const direct = process.env.KEYWARD_TEST_POSTGRES_URL?.trim();
  if (direct) return direct;
  const file = process.env.KEYWARD_TEST_POSTGRES_URL_FILE;
  if (file) {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (!text) throw new Error(`KEYWARD_TEST_POSTGRES_URL_FILE ${file} is empty`);
    return text;
  }
  return null;
}

// The admin URL (database "postgres") of the PostgreSQL server the suite
// runs on, or null for SQLite.
export const POSTGRES_ADMIN_URL = readPostgresAdminUrl();
// 'postgres' or 'sqlite': what the servers of this run store their data in.
export const ENGINE = POSTGRES_ADMIN_URL ? 'postgres' : 'sqlite';

// The same server and credentials, another database.
export function postgresUrlFor(adminUrl, database) {
  const m = /^(postgres(?:ql)?:\/\/[^/?#]*)(\/[^?#]*)?(.*)$/.exec(adminUrl);
  if (!m) throw new Error(`not a postgresql:// URL: ${adminUrl}`);
  return `${m[1]}/${encodeURIComponent(database)}${m[3]}`;
}

// Runs SQL (or psql's other arguments) with psql against url; returns its
// stdout (tuples only, unaligned), throws with its stderr when it fails.
export function psql(url, sql, { args = [], timeoutMs = 30_000 } = {}) {
  const argv = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, ...args];
  if (sql !== null && sql !== undefined) argv.push('-c', sql);
  const r = spawnSync('psql', argv, {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
  });
  if (r.error) throw new Error(`psql: ${r.error.message} (is postgresql-client installed?)`);
  if (r.status !== 0) throw new Error(`psql ${sql ?? args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

let databaseCounter = 0;
const createdDatabases = new Map(); // name -> admin URL, until dropped

// A new, empty database on the server of adminUrl: {name, url}.
export function createDatabase(adminUrl = POSTGRES_ADMIN_URL, label = 'kwt') {
  if (!adminUrl) throw new Error('createDatabase: no PostgreSQL (KEYWARD_TEST_POSTGRES_URL)');
  const name = `${label}_${process.pid}_${++databaseCounter}_${Math.random().toString(36).slice(2, 8)}`;
  psql(adminUrl, `CREATE DATABASE "${name}"`);
  createdDatabases.set(name, adminUrl);
  return { name, url: postgresUrlFor(adminUrl, name) };
}

// Drops a database made by createDatabase, even with sessions still open.
export function dropDatabase(name) {
  const adminUrl = createdDatabases.get(name);
  if (!adminUrl) return;
  createdDatabases.delete(name);
  psql(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

// The databases of this run's data directories: a data directory stands for
// one database in PostgreSQL mode, so that tests which share a data
// directory between servers (or run `root-keys create` on one) share the
// database as they would share keyward.db. path -> {name, url, users}.
const dataDirDatabases = new Map();

// The database URL that stands for dataDir (made on first use).
export function databaseFor(dataDir) {
  const at = path.resolve(dataDir);
  let entry = dataDirDatabases.get(at);
  if (!entry) {
    entry = { ...createDatabase(POSTGRES_ADMIN_URL), users: 0 };
    dataDirDatabases.set(at, entry);
  }
  return entry.url;
}

function acquireDatabase(dataDir) {
  databaseFor(dataDir);
  const entry = dataDirDatabases.get(path.resolve(dataDir));
  entry.users++;
  return entry.url;
}

function releaseDatabase(url) {
  for (const [at, entry] of dataDirDatabases) {
    if (entry.url !== url) continue;
    if (--entry.users > 0) return;
    dataDirDatabases.delete(at);
    dropDatabase(entry.name);
    return;
  }
}

// The command-line arguments naming a store: --database URL (the database
// standing for dataDir) in PostgreSQL mode, --data DIR otherwise. database:
// a URL to use instead, or null for SQLite in dataDir whatever the engine.
export function storeArgs(dataDir, { database } = {}) {
  if (typeof database === 'string') return ['--database', database];
  if (database === null || ENGINE === 'sqlite') return ['--data', dataDir];
  return ['--database', databaseFor(dataDir)];
}

// Whatever a crashed or careless test left: dropped when the run ends (the
// servers are killed first, by the handler above).
process.on('exit', () => {
  for (const name of [...createdDatabases.keys()]) {
    try {
      dropDatabase(name);
    } catch {
      // the server may be gone already
    }
  }
});

// ---------------------------------------------------------------------------
// Small utilities

export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// An RFC 3339 UTC time `seconds` from now, on a whole second (at least
// `seconds` ahead, less than seconds+1).
export function isoIn(seconds) {
  const ms = Math.ceil(Date.now() / 1000) * 1000 + seconds * 1000;
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

// Calls fn until it returns a truthy value or timeoutMs passes; returns the
// last value.
export async function poll(fn, { timeoutMs = 8000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) return last;
    await sleep(intervalMs);
  }
}

// CRC32 (IEEE), as the key checksum uses.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32(text) {
  let c = 0xffffffff;
  for (const b of Buffer.from(text, 'utf8')) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function base62Fixed(value, n) {
  let out = '';
  for (let i = 0; i < n; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

// A well-formed key (right shape, right checksum) that no server issued:
// `prefix_env_` + 34 random base62 characters + 6 checksum characters.
export function fabricateKey(prefix = 'kw', env = 'live') {
  let body = '';
  for (let i = 0; i < 34; i++) body += BASE62[Math.floor(Math.random() * 62)];
  const head = `${prefix}_${env}_${body}`;
  return head + base62Fixed(crc32(head), 6);
}

export function checksumOk(key) {
  const head = key.slice(0, -6);
  return key.slice(-6) === base62Fixed(crc32(head), 6);
}

// The key with one character of its random part changed: fails the checksum.
export function corruptKey(key) {
  const at = key.length - 20; // inside the random part, before the checksum
  const c = key[at];
  const other = c === 'A' ? 'B' : 'A';
  return key.slice(0, at) + other + key.slice(at + 1);
}

// Environment for a child: ours without any KEYWARD_* variable, plus extra.
export function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('KEYWARD_')) env[k] = v;
  }
  return { ...env, ...extra };
}

function tomlValue(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  throw new Error(`cannot write ${JSON.stringify(v)} as TOML`);
}

// A TOML document from {key: value, table: {key: value}}; a string is
// written verbatim.
export function toToml(config) {
  if (typeof config === 'string') return config;
  const top = [];
  const tables = [];
  for (const [k, v] of Object.entries(config)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      tables.push(`[${k}]`);
      for (const [k2, v2] of Object.entries(v)) tables.push(`${k2} = ${tomlValue(v2)}`);
      tables.push('');
    } else {
      top.push(`${k} = ${tomlValue(v)}`);
    }
  }
  return [...top, '', ...tables].join('\n') + '\n';
}

export function makeTempDir(label = 'keyward-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), label));
}

// Runs the keyward command line; resolves {code, signal, stdout, stderr}.
// input: what its standard input reads (else none).
export function runCli(args, { env = {}, timeoutMs = 15_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(KEYWARD_BIN, args, { env: childEnv(env), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    liveChildren.add(child);
    if (input !== undefined) child.stdin.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keyward ${args.join(' ')} did not finish in ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(new Error(`cannot run ${KEYWARD_BIN}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      noteSecret(stdout);
      // stdout may be a key the command hands out; stderr and messages may not.
      if (EVIDENCE_DIR) evidence.cliOutput.push(withoutRootKeyBanner(stderr));
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// `keyward root-keys create`: the new root key, which must be alone on stdout.
// The store is dataDir's (see storeArgs; options.database overrides it).
export async function createRootKey(dataDir, name = 'tests', options = {}) {
  const r = await runCli(['root-keys', 'create', ...storeArgs(dataDir, options), '--name', name]);
  assert.equal(r.code, 0, `root-keys create exited ${r.code}: ${r.stderr}`);
  const key = r.stdout.trim();
  assert.match(key, /^kw_root_[0-9A-Za-z]+$/, `root-keys create printed ${JSON.stringify(r.stdout)}`);
  return key;
}

// ---------------------------------------------------------------------------
// The server

export class KeywardServer {
  // options:
  //   dataDir     use this data directory (default: a new temporary one)
  //   config      TOML text or object; written to a file passed with --config
  //   args        more command-line arguments for `serve`
  //   env         environment variables for the server (KEYWARD_*)
  //   rootKey     true (default): `root-keys create` before the first start;
  //               false: no root key (the first start prints the banner)
  //   listen      the --listen value (default 127.0.0.1:0); null: no flag
  //   passData    pass --data (default true)
  //   database    in PostgreSQL mode the database is the one standing for
  //               dataDir (a new one unless another server or root-keys
  //               create used that data directory), passed with --database;
  //               a URL: pass that instead (in either mode); null: no
  //               --database (SQLite, or whatever config or env says)
  //   configDatabase  with database null: the URL the config or env gives,
  //               for the evidence dump and storeArgs()
  constructor(options = {}) {
    this.options = options;
    this.baseDir = makeTempDir();
    this.dataDir = options.dataDir ?? path.join(this.baseDir, 'data');
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.database = null; // the database it uses, when known
    this.passDatabase = false; // passed with --database
    this.ownsDatabase = false; // dropped by close()
    if (typeof options.database === 'string') {
      this.database = options.database;
      this.passDatabase = true;
    } else if (options.database === undefined && ENGINE === 'postgres') {
      this.database = acquireDatabase(this.dataDir);
      this.passDatabase = true;
      this.ownsDatabase = true;
    } else if (options.database === null && typeof options.configDatabase === 'string') {
      this.database = options.configDatabase;
    }
    this.configPath = null;
    if (options.config !== undefined) {
      this.configPath = path.join(this.baseDir, 'keyward.toml');
      fs.writeFileSync(this.configPath, toToml(options.config));
    }
    this.rootKey = null;
    this.proc = null;
    this.url = null;
    this.port = null;
    this.stdout = ''; // this run
    this.stderr = '';
    this.allStdout = ''; // every run of this server
    this.allStderr = '';
    this.exitCode = null;
    this.exitSignal = null;
    this.generation = 0;
    this.finalMetrics = null;
    this.databaseDump = null;
    this.evidenceError = null;
    if (EVIDENCE_DIR) evidence.servers.push(this);
  }

  static async start(options = {}) {
    const srv = new KeywardServer(options);
    try {
      if (options.rootKey !== false) {
        srv.rootKey = await createRootKey(srv.dataDir, 'tests', { database: srv.passDatabase ? srv.database : null });
      }
      await srv.spawn();
    } catch (e) {
      await srv.close();
      throw e;
    }
    return srv;
  }

  // The command-line arguments naming this server's store, for the
  // commands that open it directly (root-keys): --database or --data.
  storeArgs() {
    return this.database ? ['--database', this.database] : ['--data', this.dataDir];
  }

  serveArgs() {
    const o = this.options;
    const args = ['serve'];
    const listen = o.listen === undefined ? '127.0.0.1:0' : o.listen;
    if (listen !== null) args.push('--listen', listen);
    if (o.passData !== false) args.push('--data', this.dataDir);
    if (this.passDatabase) args.push('--database', this.database);
    if (this.configPath) args.push('--config', this.configPath);
    args.push(...(o.args ?? []));
    return args;
  }

  // Starts the process and waits for its "listening" log line.
  spawn() {
    const args = this.serveArgs();
    this.stdout = '';
    this.stderr = '';
    this.exitCode = null;
    this.exitSignal = null;
    this.generation++;
    const child = spawn(KEYWARD_BIN, args, {
      env: childEnv(this.options.env ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = child;
    liveChildren.add(child);
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        liveChildren.delete(child);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve({ code, signal });
      });
    });
    return new Promise((resolve, reject) => {
      let settled = false;
      let lineBuf = '';
      const fail = (why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        try {
          child.kill('SIGKILL');
        } catch {
          // gone
        }
        reject(
          new Error(
            `keyward ${args.join(' ')}: ${why}\n--- stderr ---\n${this.stderr}\n--- stdout ---\n${this.stdout}`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`no "listening" line within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
      child.on('error', (e) => fail(`cannot start: ${e.message}`));
      child.stderr.setEncoding('utf8').on('data', (d) => {
        this.stderr += d;
        this.allStderr += d;
      });
      child.stdout.setEncoding('utf8').on('data', (d) => {
        this.stdout += d;
        this.allStdout += d;
        if (settled) return;
        lineBuf += d;
        let nl;
        while ((nl = lineBuf.indexOf('\n')) >= 0) {
          const line = lineBuf.slice(0, nl).trim();
          lineBuf = lineBuf.slice(nl + 1);
          let obj;
          try {
            obj = JSON.parse(line);
          } catch {
            continue;
          }
          if (obj && obj.msg === 'listening' && typeof obj.address === 'string') {
            const address = obj.address;
            const port = Number(address.slice(address.lastIndexOf(':') + 1));
            if (!Number.isInteger(port) || port <= 0) {
              fail(`cannot read a port from ${line}`);
              return;
            }
            this.port = port;
            this.url = `http://${address}`;
            settled = true;
            clearTimeout(timer);
            resolve(this);
            return;
          }
        }
      });
      this.exited.then(({ code, signal }) => fail(`exited (code ${code}, signal ${signal}) before listening`));
    });
  }

  get running() {
    return this.proc !== null && this.exitCode === null && this.exitSignal === null;
  }

  // Sends a signal (SIGTERM by default) and waits for the exit; resolves the
  // exit code (null when a signal ended it).
  async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
    if (!this.proc) return this.exitCode;
    if (this.running) this.proc.kill(signal);
    const timer = setTimeout(() => {
      if (this.running) this.proc.kill('SIGKILL');
    }, timeoutMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async kill9() {
    if (!this.proc) return;
    if (this.running) this.proc.kill('SIGKILL');
    await this.exited;
  }

  // Starts again on the same data directory and database (stopping first
  // with SIGTERM if still running). options may change env/args for the new run.
  async restart(options = {}) {
    if (this.running) await this.stop();
    if (options.env !== undefined) this.options.env = options.env;
    if (options.args !== undefined) this.options.args = options.args;
    await this.spawn();
    return this;
  }

  // Stops the server if it runs and removes the temporary directory; in
  // PostgreSQL mode drops its database once no other server uses it.
  async close() {
    if (this.closed) return;
    this.closed = true;
    if (EVIDENCE_DIR && this.proc && this.running) await this.collectMetrics();
    if (this.proc && this.running) await this.stop('SIGTERM', 5000);
    if (EVIDENCE_DIR) this.dumpDatabase();
    if (this.ownsDatabase) {
      this.ownsDatabase = false;
      try {
        releaseDatabase(this.database);
      } catch (e) {
        this.evidenceError = `${this.database}: drop: ${e.message}`;
      }
    }
    fs.rmSync(this.baseDir, { recursive: true, force: true });
    if (this.options.dataDir === undefined) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  // For the secrets sweep, when the test is done with this server: its last
  // /metrics page if it still runs, then a dump of everything its database
  // holds (audit log, names, meta, reasons), read with the sqlite3 command
  // line (pg_dump on PostgreSQL) whatever state the test left the server in.
  async collectMetrics() {
    try {
      const m = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5000) });
      this.finalMetrics = await m.text();
    } catch (e) {
      this.evidenceError = `${this.dataDir}: /metrics: ${e.message}`;
    }
  }

  dumpDatabase() {
    if (this.database) {
      const r = spawnSync('pg_dump', ['--inserts', '--no-owner', '--no-privileges', '-d', this.database], {
        encoding: 'utf8',
        maxBuffer: 1 << 30,
        timeout: 60_000,
        env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
      });
      if (r.status === 0) this.databaseDump = r.stdout;
      else this.evidenceError = `${this.database}: pg_dump exited ${r.status}: ${r.stderr ?? r.error}`;
      return;
    }
    const db = path.join(this.dataDir, 'keyward.db');
    if (!fs.existsSync(db)) return;
    const r = spawnSync('sqlite3', [db, '.dump'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status === 0) this.databaseDump = r.stdout;
    else this.evidenceError = `${db}: sqlite3 .dump exited ${r.status}: ${r.stderr ?? r.error}`;
  }

  // One HTTP call. opts:
  //   body     a value sent as JSON with Content-Type: application/json
  //   raw      a string or Buffer sent as is (no Content-Type unless given)
  //   token    the bearer token (default: the root key; null: none)
  //   headers  more headers; a null value removes a header
  async api(method, urlPath, { body, raw, token, headers = {} } = {}) {
    const h = {};
    const tok = token === undefined ? this.rootKey : token;
    if (tok !== null && tok !== undefined) h.authorization = `Bearer ${tok}`;
    let payload;
    if (raw !== undefined) {
      payload = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
    } else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body), 'utf8');
      h['content-type'] = 'application/json';
    }
    for (const [k, v] of Object.entries(headers)) {
      const lk = k.toLowerCase();
      if (v === null) delete h[lk];
      else h[lk] = v;
    }
    const res = await fetch(this.url + urlPath, { method, headers: h, body: payload });
    const text = await res.text();
    if (payload) noteSecret(payload.toString('utf8')); // a key sent to /v1/keys/verify
    noteExchange(h, res.status, text);
    let json;
    try {
      json = text.length ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  }

  get(p, opts) {
    return this.api('GET', p, opts);
  }
  post(p, body, opts = {}) {
    return this.api('POST', p, { ...opts, body });
  }
  patch(p, body, opts = {}) {
    return this.api('PATCH', p, { ...opts, body });
  }
  del(p, opts) {
    return this.api('DELETE', p, opts);
  }

  // A request with node:http, sending the path byte for byte (fetch would
  // resolve dot segments such as /a/../b before sending). Resolves
  // {status, headers (a Headers object), json, text}.
  raw(method, rawPath, headers = {}, body = undefined) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: this.port, method, path: rawPath, headers, agent: false },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            noteExchange(headers, res.statusCode, text);
            let json;
            try {
              json = text.length ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : String(v));
            resolve({ status: res.statusCode, headers: h, json, text });
          });
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  // POST /v1/keys/verify with the root key.
  async verify(body, opts = {}) {
    const r = await this.post('/v1/keys/verify', body, opts);
    assert.equal(r.status, 200, `verify answered ${r.status}: ${r.text}`);
    return r.json;
  }

  // GET /v1/auth with only the given headers (no root key).
  auth(headers = {}) {
    return this.api('GET', '/v1/auth', { token: null, headers });
  }

  async createWorkspace(name = 'acme', extra = {}, opts = {}) {
    const r = await this.post('/v1/workspaces', { name, ...extra }, opts);
    assert.equal(r.status, 201, `POST /v1/workspaces answered ${r.status}: ${r.text}`);
    return r.json;
  }

  async createKey(workspaceId, fields = {}, opts = {}) {
    const body = { workspace_id: workspaceId, environment: 'live', name: 'a key', ...fields };
    const r = await this.post('/v1/api-keys', body, opts);
    assert.equal(r.status, 201, `POST /v1/api-keys ${JSON.stringify(body)} answered ${r.status}: ${r.text}`);
    return r.json;
  }

  // Every item of a list route, following next_cursor.
  async listAll(p, { limit = 1000, token } = {}) {
    const items = [];
    let cursor = null;
    for (let i = 0; i < 1000; i++) {
      const sep = p.includes('?') ? '&' : '?';
      const q = `${p}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await this.get(q, { token });
      assert.equal(r.status, 200, `GET ${q} answered ${r.status}: ${r.text}`);
      items.push(...r.json.data);
      cursor = r.json.next_cursor;
      if (cursor === null) return items;
    }
    throw new Error(`${p}: the cursor never ends`);
  }

  // What a failing write must leave unchanged: every workspace, key and
  // audit entry, without the fields that move on their own (last_used_at and
  // the request counts are usage, flushed in batches; status and active_keys
  // change when a key expires).
  async snapshot() {
    const workspaces = (await this.listAll('/v1/workspaces')).map(({ active_keys: _a, ...w }) => w);
    const keys = (await this.listAll('/v1/api-keys')).map(
      ({ last_used_at: _l, requests_24h: _d, requests_30d: _m, status: _s, ...k }) => k);
    return { workspaces, keys, audit: await this.listAll('/v1/audit-log') };
  }
}

// Records every secret (`key` of a create or rotate answer) the server hands
// out through srv.api, so that a test can search logs and lists for them.
export function trackSecrets(srv) {
  const secrets = [];
  const api = srv.api.bind(srv);
  srv.api = async (...args) => {
    const r = await api(...args);
    if (r.json && typeof r.json.key === 'string') secrets.push(r.json.key);
    return r;
  };
  return secrets;
}

// Fails when any secret appears in text.
export function assertNoSecretIn(text, secrets, where) {
  for (const s of secrets) {
    assert.ok(!text.includes(s), `${where} contains the secret ${s.slice(0, 16)}…`);
    assert.ok(!text.includes(s.slice(-24)), `${where} contains the hidden part of ${s.slice(0, 16)}…`);
  }
}

export function startServer(options) {
  return KeywardServer.start(options);
}

// Runs `keyward serve` expecting it to fail at start-up. Resolves
// {code, stdout, stderr, listened}; if it listens after all, it is stopped
// and listened is true.
export async function tryServe(args, { env = {}, timeoutMs = START_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(KEYWARD_BIN, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    let stdout = '';
    let stderr = '';
    let listened = false;
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      if (!listened && /"msg"\s*:\s*"listening"/.test(stdout)) {
        listened = true;
        child.kill('SIGKILL');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      if (EVIDENCE_DIR) evidence.cliOutput.push(stdout, withoutRootKeyBanner(stderr));
      resolve({ code, signal, stdout, stderr, listened });
    });
  });
}

// ---------------------------------------------------------------------------
// Assertions shared by the test files

export function assertNoStore(res, what = '') {
  assert.equal(res.headers.get('cache-control'), 'no-store', `Cache-Control of ${what} ${res.status}: ${res.text}`);
}

// An error answer: the status, {"error": code, "message": string}.
export function assertError(res, status, code, what = '') {
  const desc = `${what} answered ${res.status} ${res.text}`;
  assert.equal(res.status, status, desc);
  assert.ok(res.json && typeof res.json === 'object', `${desc}: not a JSON object`);
  assert.equal(res.json.error, code, desc);
  assert.equal(typeof res.json.message, 'string', `${desc}: no message`);
  assert.ok(res.json.message.length > 0, `${desc}: empty message`);
  assertNoStore(res, what);
}

export const WORKSPACE_FIELDS = ['id', 'name', 'max_active_keys', 'max_active_keys_override', 'rotate_after_days', 'rotate_after_days_override', 'active_keys', 'created_at'];

export function assertWorkspace(ws) {
  for (const f of WORKSPACE_FIELDS) assert.ok(f in ws, `workspace has no ${f}: ${JSON.stringify(ws)}`);
  assert.match(ws.id, /^ws_\S+$/);
  assert.equal(typeof ws.name, 'string');
  assert.ok(Number.isInteger(ws.max_active_keys), 'max_active_keys is an integer');
  assert.ok(ws.max_active_keys_override === null || Number.isInteger(ws.max_active_keys_override));
  assert.ok(Number.isInteger(ws.active_keys), 'active_keys is an integer');
  assert.match(ws.created_at, RFC3339_UTC);
}

export const KEY_FIELDS = [
  'id',
  'short_prefix',
  'workspace_id',
  'environment',
  'name',
  'status',
  'rotation_due',
  'enabled',
  'scopes',
  'ip_allowlist',
  'referrer_allowlist',
  'endpoint_allowlist',
  'rate_limit',
  'meta',
  'created_at',
  'created_by',
  'expires_at',
  'last_used_at',
  'revoked_at',
  'revoked_reason',
  'rotated_from',
];

export function assertKeyObject(k) {
  for (const f of KEY_FIELDS) assert.ok(f in k, `key has no ${f}: ${JSON.stringify(k)}`);
  assert.match(k.id, /^key_\S+$/);
  assert.equal(typeof k.short_prefix, 'string');
  assert.match(k.workspace_id, /^ws_\S+$/);
  assert.ok(['active', 'revoked', 'expired', 'disabled'].includes(k.status), `status ${k.status}`);
  assert.equal(typeof k.rotation_due, 'boolean', 'rotation_due is a boolean');
  assert.ok(!k.rotation_due || k.status === 'active', 'only an active key is due for rotation');
  assert.equal(typeof k.enabled, 'boolean');
  for (const f of ['scopes', 'ip_allowlist', 'referrer_allowlist', 'endpoint_allowlist']) {
    assert.ok(Array.isArray(k[f]), `${f} is an array`);
  }
  assert.ok(k.rate_limit === null || (Number.isInteger(k.rate_limit.limit) && Number.isInteger(k.rate_limit.period_seconds)));
  assert.ok(k.meta !== null && typeof k.meta === 'object' && !Array.isArray(k.meta), 'meta is an object');
  assert.match(k.created_at, RFC3339_UTC);
  for (const f of ['expires_at', 'last_used_at', 'revoked_at']) {
    assert.ok(k[f] === null || RFC3339_UTC.test(k[f]), `${f}: ${k[f]}`);
  }
}

export const AUDIT_FIELDS = ['id', 'at', 'actor', 'action', 'target', 'workspace_id', 'ip', 'details'];
