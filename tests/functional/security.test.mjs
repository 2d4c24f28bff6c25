// What keyward leaves on disk is its owner's alone: the data directory is
// created 0700 and the database and its WAL and shared-memory files 0600,
// whatever the umask; a data directory that others can open is warned about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KeywardServer, makeTempDir, runCli, ENGINE } from './lib/keyward.mjs';

// These are about the SQLite files in the data directory; on PostgreSQL
// keyward keeps nothing there (--data is accepted and unused), and who may
// read the database is PostgreSQL's roles' business (deploy/cluster).
const sqliteOnly = ENGINE === 'postgres' && 'about the SQLite files in the data directory, which PostgreSQL mode does not use';

function mode(p) {
  return fs.statSync(p).mode & 0o777;
}

function octal(m) {
  return '0' + m.toString(8);
}

test('serve creates the data directory 0700 and every database file 0600, even under umask 000', { skip: sqliteOnly }, async () => {
  const base = makeTempDir();
  const dataDir = path.join(base, 'fresh-data');
  // No root key beforehand: serve itself creates the directory and the
  // database, and prints the first root key.
  const srv = new KeywardServer({ dataDir, rootKey: false });
  fs.rmSync(dataDir, { recursive: true, force: true });
  const old = process.umask(0o000); // the child inherits it
  try {
    await srv.spawn();
  } finally {
    process.umask(old);
  }
  try {
    srv.rootKey = srv.stderr.match(/kw_root_[0-9A-Za-z]{40}/)?.[0];
    assert.ok(srv.rootKey, `no root key banner: ${srv.stderr}`);
    const ws = await srv.createWorkspace('perm');
    await srv.createKey(ws.id); // a write, so the WAL exists
    assert.equal(octal(mode(dataDir)), '0700', 'data directory');
    const files = fs.readdirSync(dataDir).filter((f) => f.startsWith('keyward.db'));
    assert.ok(files.includes('keyward.db') && files.includes('keyward.db-wal'), `files: ${files}`);
    for (const f of files) assert.equal(octal(mode(path.join(dataDir, f))), '0600', f);
  } finally {
    await srv.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('root-keys create on a new data directory creates it 0700 with the database 0600', { skip: sqliteOnly }, async () => {
  const base = makeTempDir();
  const dataDir = path.join(base, 'cli-data');
  const old = process.umask(0o000);
  let r;
  try {
    r = await runCli(['root-keys', 'create', '--data', dataDir, '--name', 'ops']);
  } finally {
    process.umask(old);
  }
  try {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(octal(mode(dataDir)), '0700');
    assert.equal(octal(mode(path.join(dataDir, 'keyward.db'))), '0600');
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('a data directory open to other users is served, with a warning naming it', { skip: sqliteOnly }, async () => {
  const base = makeTempDir();
  const dataDir = path.join(base, 'open-data');
  fs.mkdirSync(dataDir, { mode: 0o755 });
  fs.chmodSync(dataDir, 0o755);
  const srv = await KeywardServer.start({ dataDir });
  try {
    const warning = srv.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.level === 'warn' && /data directory is open to other users/.test(l.msg));
    assert.ok(warning, `no warning in ${srv.stdout}`);
    assert.equal(warning.data_dir, dataDir);
    assert.equal(warning.mode, '0755');
    assert.equal((await srv.get('/healthz')).status, 200);
    // Files keyward creates in it are still its owner's alone.
    assert.equal(octal(mode(path.join(dataDir, 'keyward.db'))), '0600');
  } finally {
    await srv.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
});
