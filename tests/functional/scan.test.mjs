// `keyward scan`: the secret scanner, run as a user runs it. Real keys
// (issued by a keyward server over the API) are planted in a temporary tree
// and a temporary git repository beside look-alikes (a bad checksum, an
// unknown environment, another product, inside a longer token); every real
// key must be found at its file:line by its short prefix, no look-alike may
// be, the whole key is never printed, and --report posts the keys to a
// receiver in the /v1/leaks shape.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startServer, runCli, makeTempDir, corruptKey, fabricateKey } from './lib/keyward.mjs';

const CONFIG = { keys: { product_prefix: 'asa', environments: ['live', 'test'] } };

let srv;
let dir; // everything this suite writes
let configPath;
let keys; // {live1, live2, test1, gitOnly}: issued by the server
const shortPrefix = (key) => key.slice(0, key.indexOf('_', 4) + 1 + 12);

function write(rel, text) {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function git(repo, ...args) {
  const r = spawnSync('git', ['-C', repo, '-c', 'user.name=scan test', '-c', 'user.email=scan@test', ...args], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

// The look-alikes of key: none is a finding.
function lookAlikes(key) {
  const body = key.slice(key.indexOf('_', 4) + 1);
  return [
    corruptKey(key), // bad checksum
    `asa_prod_${body}`, // unknown environment
    fabricateKey('asa', 'prod'), // … with a checksum that holds for it
    fabricateKey('asax', 'live'), // another product
    `x${key}`, // inside a longer token
    `${key}A`, // followed by more base62
    `${key}-old`,
    `_${key}`,
    key.slice(0, -1), // 39 characters
  ];
}

function assertNoFullKey(text, where) {
  for (const k of Object.values(keys)) {
    assert.ok(!text.includes(k), `${where} shows a whole key`);
    assert.ok(!text.includes(k.slice(-20)), `${where} shows a key's hidden part`);
  }
}

before(async () => {
  srv = await startServer({ config: CONFIG });
  configPath = srv.configPath;
  const ws = await srv.createWorkspace('scan');
  keys = {
    live1: (await srv.createKey(ws.id, { environment: 'live', name: 'one' })).key,
    live2: (await srv.createKey(ws.id, { environment: 'live', name: 'two' })).key,
    test1: (await srv.createKey(ws.id, { environment: 'test', name: 'three' })).key,
    gitOnly: (await srv.createKey(ws.id, { environment: 'live', name: 'history' })).key,
  };
  dir = makeTempDir('keyward-scan-');
  // The tree.
  write('tree/src/app.js', `import x from 'y';\n\nconst key = "${keys.live1}";\n`);
  write('tree/config/.env', `API_KEY=${keys.test1}\nOTHER=1\n`);
  write(
    'tree/nested/deep/notes.md',
    ['# notes', ...lookAlikes(keys.live1), `curl -H "Authorization: Bearer ${keys.live2}"`, ''].join('\n'),
  );
  write('tree/lookalikes.txt', [...lookAlikes(keys.live2), ...lookAlikes(keys.test1), ''].join('\n'));
  write('tree/image.bin', Buffer.concat([Buffer.from([0x89, 0x50, 0, 1, 2]), Buffer.from(` ${keys.live2} `)]));
  write('tree/.git/config', `token=${keys.live2}\n`); // not a repository's history: skipped
  fs.symlinkSync('.', path.join(dir, 'tree/loop'));
  fs.symlinkSync('src/app.js', path.join(dir, 'tree/link-to-app.js'));
  // The clean tree: look-alikes only.
  write('clean/a.txt', lookAlikes(keys.live1).join('\n'));
  // The repository: gitOnly is committed, then removed.
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo);
  git(repo, 'init', '-q');
  write('repo/README.md', '# repo\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'first');
  write('repo/deploy/settings.py', `DEBUG = False\nAPI_KEY = '${keys.gitOnly}'\n`);
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'add settings');
  keys.gitCommit = git(repo, 'rev-parse', 'HEAD');
  write('repo/deploy/settings.py', `DEBUG = False\nAPI_KEY = os.environ['API_KEY']\n`);
  git(repo, 'commit', '-q', '-a', '-m', 'key from the environment');
  write('repo/other.txt', `${lookAlikes(keys.gitOnly).join('\n')}\n`);
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'look-alikes');
});

after(async () => {
  await srv?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const expectedTree = () => [
  `${dir}/tree/config/.env:1: ${shortPrefix(keys.test1)}… (test)`,
  `${dir}/tree/nested/deep/notes.md:11: ${shortPrefix(keys.live2)}… (live)`,
  `${dir}/tree/src/app.js:3: ${shortPrefix(keys.live1)}… (live)`,
];

test('scan finds every real key at its file:line by its short prefix, and no look-alike', async () => {
  const r = await runCli(['scan', '--config', configPath, path.join(dir, 'tree')]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), expectedTree());
  assertNoFullKey(r.stdout + r.stderr, 'scan output');
  // The summary says what was skipped.
  const summary = r.stderr.trim().split('\n').at(-1);
  assert.match(summary, /^keyward scan: 4 files \(.+\) in .+ s, 3 findings; skipped 1 binary, 2 symlinks$/);
});

test('--prefix and --environments stand for the configuration; the default is kw', async () => {
  const r = await runCli(['scan', '--prefix', 'asa', '--environments', 'live,test', path.join(dir, 'tree')]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), expectedTree());
  // Only the live environment: the test key is not this deployment's.
  const live = await runCli(['scan', '--prefix', 'asa', '--environments', 'live', path.join(dir, 'tree')]);
  assert.equal(live.code, 1, live.stderr);
  assert.equal(live.stdout.trim().split('\n').length, 2);
  const byDefault = await runCli(['scan', path.join(dir, 'tree')]);
  assert.equal(byDefault.code, 0, byDefault.stdout + byDefault.stderr);
  assert.equal(byDefault.stdout, '');
  // KEYWARD_CONFIG names the file, as for serve.
  const viaEnv = await runCli(['scan', path.join(dir, 'tree')], { env: { KEYWARD_CONFIG: configPath } });
  assert.equal(viaEnv.code, 1, viaEnv.stderr);
});

test('files named one by one, a file behind a symlink named on the command line', async () => {
  const r = await runCli([
    'scan',
    '-c',
    configPath,
    path.join(dir, 'tree/src/app.js'),
    path.join(dir, 'tree/link-to-app.js'),
    path.join(dir, 'tree/lookalikes.txt'),
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `${dir}/tree/src/app.js:3: ${shortPrefix(keys.live1)}… (live)`,
    `${dir}/tree/link-to-app.js:3: ${shortPrefix(keys.live1)}… (live)`,
  ]);
});

test('nothing found exits 0; a path that is not there exits 2', async () => {
  const clean = await runCli(['scan', '-c', configPath, path.join(dir, 'clean')]);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.equal(clean.stdout, '');
  assert.match(clean.stderr, /1 file .* 0 findings; skipped none/);
  const missing = await runCli(['scan', '-c', configPath, path.join(dir, 'nothing-here')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nothing-here: No such file or directory/);
  const usage = await runCli(['scan']);
  assert.equal(usage.code, 2);
  const badConfig = await runCli(['scan', '--prefix', 'Bad_Prefix', path.join(dir, 'clean')]);
  assert.equal(badConfig.code, 2);
});

test('--json prints one object per finding', async () => {
  const r = await runCli(['scan', '--json', '-q', '-c', configPath, path.join(dir, 'tree')]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, '', '-q: no summary');
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines[0], {
    kind: 'finding',
    path: `${dir}/tree/config/.env`,
    line: 1,
    column: 9,
    short_prefix: shortPrefix(keys.test1),
    environment: 'test',
    verified: true,
  });
  assert.deepEqual(
    lines.map((l) => [l.path, l.line, l.short_prefix]),
    [
      [`${dir}/tree/config/.env`, 1, shortPrefix(keys.test1)],
      [`${dir}/tree/nested/deep/notes.md`, 11, shortPrefix(keys.live2)],
      [`${dir}/tree/src/app.js`, 3, shortPrefix(keys.live1)],
    ],
  );
  assertNoFullKey(r.stdout, 'scan --json');
});

test('a key deleted in a later commit is found by --git only, with its commit and path', async () => {
  const repo = path.join(dir, 'repo');
  const tree = await runCli(['scan', '-c', configPath, repo]);
  assert.equal(tree.code, 0, tree.stdout + tree.stderr);
  const r = await runCli(['scan', '--git', '-c', configPath, repo]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `${keys.gitCommit.slice(0, 12)}:deploy/settings.py:2: ${shortPrefix(keys.gitOnly)}… (live)`,
  ]);
  assert.match(r.stderr, /keyward scan: 4 blobs \(.+\) in .+ s, 1 finding; skipped none/);
  assertNoFullKey(r.stdout + r.stderr, 'scan --git');
  const json = await runCli(['scan', '--git', '--json', '-c', configPath, repo]);
  const [finding] = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(finding.commit, keys.gitCommit);
  assert.equal(finding.path, 'deploy/settings.py');
  assert.equal(finding.line, 2);
  assert.match(finding.blob, /^[0-9a-f]{40}$/);
  const notRepo = await runCli(['scan', '--git', '-c', configPath, path.join(dir, 'clean')]);
  assert.equal(notRepo.code, 2, notRepo.stderr);
});

// A stand-in for POST /v1/leaks: records each request, answers each key.
async function startReceiver() {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const parsed = JSON.parse(body);
      requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body: parsed });
      const results = parsed.keys.map((k, i) => ({
        short_prefix: shortPrefix(k),
        label: i % 2 ? 'false_positive' : 'true_positive',
        action: i % 2 ? 'none' : 'revoked',
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ results }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, requests, url: `http://127.0.0.1:${server.address().port}` };
}

test('--report posts the keys found to /v1/leaks and prints each answer', async () => {
  const receiver = await startReceiver();
  try {
    const r = await runCli(['scan', '-c', configPath, '--report', receiver.url, path.join(dir, 'tree')], {
      env: { KEYWARD_ROOT_KEY: srv.rootKey },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(receiver.requests.length, 1);
    const [req] = receiver.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/v1/leaks');
    assert.equal(req.authorization, `Bearer ${srv.rootKey}`);
    assert.deepEqual(req.body, {
      keys: [keys.test1, keys.live2, keys.live1],
      source: 'keyward scan',
      url: `${dir}/tree/config/.env`,
    });
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), expectedTree());
    assert.deepEqual(lines.slice(3), [
      `reported ${shortPrefix(keys.test1)}…: true_positive, revoked`,
      `reported ${shortPrefix(keys.live2)}…: false_positive, none`,
      `reported ${shortPrefix(keys.live1)}…: true_positive, revoked`,
    ]);
    assertNoFullKey(r.stdout + r.stderr, 'scan --report');
  } finally {
    receiver.server.close();
  }
});

test('--report sends at most 100 keys a request, each key once; git findings name commit:path', async () => {
  const receiver = await startReceiver();
  try {
    const many = Array.from({ length: 150 }, () => fabricateKey('asa', 'live'));
    const file = write('many/keys.txt', [...many, ...many].join('\n') + '\n');
    const r = await runCli(['scan', '-c', configPath, '--report', receiver.url, file], {
      env: { KEYWARD_ROOT_KEY: srv.rootKey },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(
      receiver.requests.map((q) => q.body.keys.length),
      [100, 50],
    );
    assert.deepEqual(receiver.requests.flatMap((q) => q.body.keys), many);
    assert.equal(r.stdout.trim().split('\n').filter((l) => l.startsWith('reported ')).length, 150);
    for (const k of many) assert.ok(!r.stdout.includes(k));

    receiver.requests.length = 0;
    const g = await runCli(['scan', '--git', '-c', configPath, '--report', receiver.url, path.join(dir, 'repo')], {
      env: { KEYWARD_ROOT_KEY: srv.rootKey },
    });
    assert.equal(g.code, 1, g.stderr);
    assert.deepEqual(receiver.requests.map((q) => q.body), [
      { keys: [keys.gitOnly], source: 'keyward scan', url: `${keys.gitCommit}:deploy/settings.py` },
    ]);
  } finally {
    receiver.server.close();
  }
  // Without a root key nothing is scanned or sent.
  const noKey = await runCli(['scan', '-c', configPath, '--report', 'http://127.0.0.1:9', path.join(dir, 'tree')]);
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /KEYWARD_ROOT_KEY/);
  // A receiver that cannot be reached: the findings are printed, the exit says so.
  const down = await runCli(['scan', '-c', configPath, '--report', 'http://127.0.0.1:9', path.join(dir, 'tree')], {
    env: { KEYWARD_ROOT_KEY: srv.rootKey },
  });
  assert.equal(down.code, 3, down.stderr);
  assert.deepEqual(down.stdout.trim().split('\n'), expectedTree());
});
