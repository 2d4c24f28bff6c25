// The README runs as written: every ```sh block of README.md is marked,
// on the line before it, `<!-- readme-test: run -->` or `<!-- readme-test:
// skip: why -->`. The blocks marked run are pasted, in order, into one bash
// (`set -euo pipefail`, as a reader's terminal would keep its variables)
// against a fresh keyward, with `keyward` on PATH, ROOT set to its root key
// and KEYWARD_URL to its address, in an empty directory. Each must succeed,
// and what they did is then checked through the API.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEYWARD_BIN, makeTempDir, noteSecret, startServer } from './lib/keyward.mjs';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const MARK = /^<!-- readme-test: (run|skip: .+) -->$/;

// [{line, mark, body}] for each ```sh block (line: 1-based, the fence's).
export function shellBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `README.md:${i + 1}: a shell block that never ends`);
    const m = MARK.exec(lines[i - 1] ?? '');
    blocks.push({ line: i + 1, mark: m ? m[1] : null, body: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

function bash(script, { cwd, env }) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const dirs = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

test('every shell block of the README says whether the README test runs it', () => {
  const blocks = shellBlocks(fs.readFileSync(README, 'utf8'));
  assert.ok(blocks.length >= 10, `only ${blocks.length} shell blocks found`);
  const unmarked = blocks.filter((b) => b.mark === null).map((b) => `README.md:${b.line}`);
  assert.deepEqual(unmarked, [], 'shell blocks with no <!-- readme-test: run --> or <!-- readme-test: skip: why --> before them');
  assert.ok(blocks.filter((b) => b.mark === 'run').length >= 3, 'the walk-through is not run');
});

test('the README\'s blocks run as written against a fresh keyward, and do what they say', async (t) => {
  const srv = await startServer();
  t.after(() => srv.close());
  const cwd = makeTempDir('keyward-readme-');
  const bin = makeTempDir('keyward-readme-bin-');
  dirs.push(cwd, bin);
  fs.symlinkSync(path.resolve(KEYWARD_BIN), path.join(bin, 'keyward'));
  const run = shellBlocks(fs.readFileSync(README, 'utf8')).filter((b) => b.mark === 'run');
  const script = ['set -euo pipefail', ...run.map((b) => `echo "readme-test: README.md:${b.line}" >&2\n${b.body}`)].join('\n');
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, ROOT: srv.rootKey, KEYWARD_URL: srv.url };
  delete env.KEYWARD_ROOT_KEY;
  const r = await bash(script, { cwd, env });
  noteSecret(r.stdout);
  const at = [...r.stderr.matchAll(/readme-test: (README\.md:\d+)/g)].pop()?.[1];
  assert.equal(r.code, 0, `the block at ${at} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}\nstdout:\n${r.stdout.slice(-2000)}`);

  // What the walk-through says happened, through the API.
  const workspaces = await srv.listAll('/v1/workspaces');
  const acme = workspaces.find((w) => w.name === 'Acme');
  assert.ok(acme, 'no workspace Acme');
  assert.equal(acme.max_active_keys, 5);
  const acmeKeys = await srv.listAll(`/v1/api-keys?workspace_id=${acme.id}`);
  assert.equal(acmeKeys.length, 2, 'a key and its rotation');
  const heir = acmeKeys.find((k) => k.rotated_from);
  assert.equal(heir.status, 'revoked', 'the rotated key was revoked');
  assert.match(r.stdout, /^HTTP\/1\.1 200 OK/m);
  assert.match(r.stdout, /^x-keyward-workspace-id: ws_/im);
  assert.match(r.stdout, /^HTTP\/1\.1 401 Unauthorized/m);
  assert.match(r.stdout, /\{"error":"revoked"/);
  // The command-line block.
  const globex = workspaces.find((w) => w.name === 'Globex');
  assert.ok(globex, 'no workspace Globex');
  const globexKeys = await srv.listAll(`/v1/api-keys?workspace_id=${globex.id}`);
  const staging = globexKeys.find((k) => k.name === 'staging-2' && !k.rotated_from);
  assert.ok(staging, JSON.stringify(globexKeys));
  assert.equal(staging.status, 'revoked');
  assert.equal(staging.revoked_reason, 'leaked in a paste bin');
  assert.deepEqual(staging.scopes, ['products:read', 'orders:read']);
  assert.ok(fs.existsSync(path.join(cwd, 'usage.csv')), 'usage export wrote no file');
  assert.match(r.stdout, /^valid\s+yes$/m, 'keyward verify of the rotated key');
  // The portal link.
  assert.match(r.stdout, /"url":"http:\/\/[^"]+\/portal\?code=kw_code_/);
});
