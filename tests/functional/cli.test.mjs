// The operator command line over HTTP, black box: every group (workspaces,
// keys, verify, plans, usage, audit-log, webhooks, leaks, portal-sessions,
// health) against a real server, in its table form and with --json, checked
// against what the API then says. Also: unknown and missing subcommands name
// what exists; the exit codes (0 done, 1 refused, 2 usage, 3 unreachable, 4
// credential refused); keys are read from standard input, never printed
// where they were not asked for; a keys:manage key with an endpoint
// allow-list manages its workspace through the CLI (it once could not).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fabricateKey, runCli, startServer } from './lib/keyward.mjs';

let srv;

before(async () => {
  srv = await startServer({ config: { webhooks: { allow_private_targets: true } } });
});
after(() => srv?.close());

// keyward ARGS against srv with the root key (or env's).
function cli(args, { env = {}, input } = {}) {
  return runCli(args, { env: { KEYWARD_URL: srv.url, KEYWARD_ROOT_KEY: srv.rootKey, ...env }, input });
}

async function ok(args, opts) {
  const r = await cli(args, opts);
  assert.equal(r.code, 0, `keyward ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return r;
}

async function okJson(args, opts) {
  return JSON.parse((await ok([...args, '--json'], opts)).stdout);
}

// The value of a "name  value" line.
function field(stdout, name) {
  const line = stdout.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no "${name}" line in:\n${stdout}`);
  return line.slice(name.length).trim();
}

test('workspaces: create prints the id alone, list and show as tables or JSON, update changes only what it is given', async () => {
  const created = await ok(['workspaces', 'create', '--name', 'Acme CLI', '--max-active-keys', '7']);
  const id = created.stdout.trim();
  assert.match(id, /^ws_[0-9A-Za-z]+$/);
  const api = (await srv.get(`/v1/workspaces/${id}`)).json;
  assert.equal(api.name, 'Acme CLI');
  assert.equal(api.max_active_keys, 7);

  const table = (await ok(['workspaces', 'list', '--query', 'acme cli'])).stdout;
  assert.match(table.split('\n')[0], /^ID\s+NAME\s+PLAN\s+ACTIVE KEYS\s+CREATED$/);
  assert.ok(table.includes(id) && table.includes('0/7'), table);
  const listed = await okJson(['workspaces', 'list']);
  assert.ok(listed.some((w) => w.id === id));

  const updated = await okJson(['workspaces', 'update', id, '--name', 'Acme 2', '--rate-limit', '50/10', '--rotate-after-days', '90']);
  assert.equal(updated.name, 'Acme 2');
  assert.deepEqual(updated.rate_limit, { limit: 50, period_seconds: 10 });
  assert.equal(updated.max_active_keys, 7, 'an option not given changed');
  const shown = (await ok(['workspaces', 'show', id])).stdout;
  assert.equal(field(shown, 'name'), 'Acme 2');
  assert.equal(field(shown, 'rate_limit'), '50 per 10 s');
  assert.equal(field(shown, 'active_keys'), '0 of 7');
  // --clear sets a limit back to the deployment's.
  const cleared = await okJson(['workspaces', 'update', id, '--clear', 'rate_limit', '--clear', 'rotate_after_days']);
  assert.equal(cleared.rate_limit_override, null);
  assert.equal(cleared.rotate_after_days_override, null);

  const nothing = await cli(['workspaces', 'update', id]);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /nothing to change/);
  const bad = await cli(['workspaces', 'update', id, '--rate-limit', 'fast']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--rate-limit fast: must look like 100\/60/);
  const missing = await cli(['workspaces', 'show', 'ws_0000000000000000000X']);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /not_found/);
});

test('keys: create, list, show, update, disable, enable, rotate and revoke, each checked through the API', async () => {
  const ws = await srv.createWorkspace('keys via cli');
  const quiet = await ok(['keys', 'create', '-w', ws.id, '-e', 'live', '-n', 'quiet one', '-q']);
  assert.match(quiet.stdout, /^[a-z]+_live_[0-9A-Za-z]{40}\n$/, 'create -q prints the key alone');

  const made = await ok(['keys', 'create', '-w', ws.id, '-e', 'live', '-n', 'server', '--scope', 'orders:read',
    '--scope', 'orders:write', '--ip', '10.0.0.0/8', '--endpoint', 'GET /v1/orders/*', '--rate-limit', '100/60',
    '--meta', '{"team":"payments"}', '--credits', '500', '--refill', '100/daily']);
  const id = field(made.stdout, 'id');
  const key = made.stdout.match(/^ {2}([a-z]+_live_[0-9A-Za-z]{40})$/m)?.[1];
  assert.ok(key, `the new key is not shown on a line of its own:\n${made.stdout}`);
  assert.match(made.stdout, /only time the key is shown/);
  const api = (await srv.get(`/v1/api-keys/${id}`)).json;
  assert.deepEqual(api.scopes, ['orders:read', 'orders:write']);
  assert.deepEqual(api.ip_allowlist, ['10.0.0.0/8']);
  assert.deepEqual(api.endpoint_allowlist, ['GET /v1/orders/*']);
  assert.deepEqual(api.rate_limit, { limit: 100, period_seconds: 60 });
  assert.deepEqual(api.meta, { team: 'payments' });
  assert.equal(api.credits.remaining, 500);
  assert.deepEqual(api.credits.refill, { amount: 100, interval: 'daily' });

  const table = (await ok(['keys', 'list', '-w', ws.id])).stdout;
  assert.match(table.split('\n')[0], /^ID\s+PREFIX\s+NAME\s+ENV\s+STATUS\s+LAST USED\s+CREATED$/);
  assert.ok(table.includes(id) && table.includes('server'), table);
  assert.ok(!table.includes(key), 'a list shows a key');
  assert.equal((await okJson(['keys', 'list', '-w', ws.id])).length, 2);
  const shown = (await ok(['keys', 'show', id])).stdout;
  assert.equal(field(shown, 'scopes'), 'orders:read,orders:write');
  assert.equal(field(shown, 'credits'), '500 left, 100 daily');
  assert.ok(!shown.includes(key), 'show shows the key');

  // update: only what is given; a list replaces the list; --clear empties.
  const up = await okJson(['keys', 'update', id, '--name', 'server 2', '--scope', 'orders:read', '--clear', 'ip_allowlist', '--clear', 'rate_limit']);
  assert.equal(up.name, 'server 2');
  assert.deepEqual(up.scopes, ['orders:read']);
  assert.deepEqual(up.ip_allowlist, []);
  assert.equal(up.rate_limit, null);
  assert.deepEqual(up.endpoint_allowlist, ['GET /v1/orders/*'], 'an option not given changed');
  const none = await cli(['keys', 'update', id]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /nothing to change/);

  assert.equal(field((await ok(['keys', 'disable', id])).stdout, 'status'), 'disabled');
  assert.equal((await srv.get(`/v1/api-keys/${id}`)).json.enabled, false);
  const call = { method: 'GET', path: '/v1/orders/1' }; // within its endpoint allow-list
  assert.equal((await srv.verify({ key, ...call })).code, 'disabled');
  assert.equal((await okJson(['keys', 'enable', id])).status, 'active');
  assert.equal((await srv.verify({ key, ...call })).code, 'valid');

  const rotated = await okJson(['keys', 'rotate', id, '--grace', '600']);
  assert.match(rotated.key, /^[a-z]+_live_/);
  assert.equal(rotated.old_key.id, id);
  assert.equal((await srv.verify({ key: rotated.key, ...call })).code, 'valid');
  assert.equal((await srv.verify({ key, ...call })).code, 'valid', 'the old key works during its grace');

  const revoked = await ok(['keys', 'revoke', rotated.id, '--reason', 'cli test']);
  assert.match(revoked.stdout, new RegExp(`^revoked ${rotated.id} at \\d{4}-`));
  assert.equal((await srv.get(`/v1/api-keys/${rotated.id}`)).json.status, 'revoked');
  assert.equal((await srv.get(`/v1/api-keys/${rotated.id}`)).json.revoked_reason, 'cli test');
});

test('verify reads the key from standard input: exit 0 valid, 1 refused with the code; no key, exit 2', async () => {
  const ws = await srv.createWorkspace('verify via cli');
  const k = await srv.createKey(ws.id, { scopes: ['orders:read'] });
  const valid = await cli(['verify', '--scope', 'orders:read'], { input: `${k.key}\n` });
  assert.equal(valid.code, 0, valid.stderr);
  assert.equal(field(valid.stdout, 'valid'), 'yes');
  assert.equal(field(valid.stdout, 'key_id'), k.id);
  assert.ok(!valid.stdout.includes(k.key), 'verify printed the key');
  const scope = await cli(['verify', '--scope', 'orders:write', '--json'], { input: k.key });
  assert.equal(scope.code, 1);
  assert.equal(JSON.parse(scope.stdout).code, 'insufficient_scope');
  const unknown = await cli(['verify', '--json'], { input: `${fabricateKey('kw', 'live')}\n` });
  assert.equal(unknown.code, 1);
  assert.equal(JSON.parse(unknown.stdout).code, 'invalid');
  const empty = await cli(['verify'], { input: '' });
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /no the API key on standard input|never taken from the command line/);
  // A key pasted on the command line is refused, and not echoed back.
  for (const args of [['verify', k.key], [k.key], ['keys', k.key], ['verify', '--scope', 'x', k.key]]) {
    const argv = await cli(args, { input: '' });
    assert.equal(argv.code, 2, `keyward ${args.map((a) => (a === k.key ? 'KEY' : a)).join(' ')}: a key on the command line is refused`);
    assert.ok(!argv.stderr.includes(k.key.slice(-20)), `the key was echoed: ${argv.stderr.replace(k.key, 'KEY')}`);
  }
});

test('plans, usage and the audit log', async () => {
  const planId = (await ok(['plans', 'create', '--name', 'cli-pro', '--monthly-credits', '1000', '--rate-limit', '10/1', '--cost', 'POST /v1/search=5'])).stdout.trim();
  assert.match(planId, /^plan_/);
  const plan = (await srv.get(`/v1/plans/${planId}`)).json;
  assert.equal(plan.monthly_credits, 1000);
  assert.deepEqual(plan.costs, { 'POST /v1/search': 5 });
  assert.ok((await ok(['plans', 'list'])).stdout.includes(planId));
  const changed = await okJson(['plans', 'update', planId, '--cost', 'GET /v1/*=2', '--clear', 'rate_limit']);
  assert.deepEqual(changed.costs, { 'GET /v1/*': 2 }, '--cost replaces every rule');
  assert.equal(changed.rate_limit, null);
  assert.equal(field((await ok(['plans', 'show', planId])).stdout, 'costs'), 'GET /v1/*=2');

  const ws = (await okJson(['workspaces', 'create', '--name', 'on a plan', '--plan', planId]));
  assert.equal(ws.plan_id, planId);
  const k = await srv.createKey(ws.id);
  for (let i = 0; i < 3; i++) await srv.verify({ key: k.key, method: 'GET', path: '/v1/things' });
  await srv.verify({ key: k.key, environment: 'test' });
  // Usage is counted in memory and written once a second.
  let report;
  for (let i = 0; i < 50; i++) {
    report = await okJson(['usage', '-w', ws.id, '-g', 'day']);
    if (report.total >= 4) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(report.valid, 3);
  assert.equal(report.total, 4);
  assert.equal(report.credits, 6, 'three requests of GET /v1/* at 2 credits');
  const table = (await ok(['usage', '-w', ws.id, '-g', 'day'])).stdout;
  assert.match(table, /^START\s+VALID\s+REFUSED\s+CREDITS\s+REFUSED BY CODE$/m);
  assert.match(table, /wrong_environment=1/);
  assert.match(table, /^total: 3 valid of 4 requests, 6 credits$/m);
  const noWs = await cli(['usage']);
  assert.equal(noWs.code, 2);

  const audit = await okJson(['audit-log', '--target', planId]);
  assert.deepEqual(audit.map((e) => e.action), ['plan.update', 'plan.create']);
  const auditTable = (await ok(['audit-log', '--workspace', ws.id])).stdout;
  assert.match(auditTable.split('\n')[0], /^AT\s+ACTOR\s+ACTION\s+TARGET\s+WORKSPACE\s+IP$/);
  assert.match(auditTable, /workspace\.create/);
});

test('webhooks: the signing secret is shown at creation and on a roll, never by show or list', async () => {
  const made = await ok(['webhooks', 'create', '--url', 'http://127.0.0.1:9/hook', '--event', 'api_key.revoked', '--description', 'cli']);
  const id = field(made.stdout, 'id');
  const secret = made.stdout.match(/^ {2}(whsec_\S+)$/m)?.[1];
  assert.ok(secret, made.stdout);
  assert.equal(field(made.stdout, 'events'), 'api_key.revoked');
  const shown = (await ok(['webhooks', 'show', id])).stdout;
  assert.ok(!shown.includes(secret));
  assert.ok((await ok(['webhooks', 'list'])).stdout.includes(id));
  const off = await okJson(['webhooks', 'update', id, '--disable', '--event', 'all']);
  assert.equal(off.enabled, false);
  assert.deepEqual(off.events, []);
  const rolled = await ok(['webhooks', 'roll-secret', id, '--overlap', '0']);
  const next = rolled.stdout.match(/^ {2}(whsec_\S+)$/m)?.[1];
  assert.ok(next && next !== secret, rolled.stdout);
  assert.match((await ok(['webhooks', 'deliveries', id])).stdout, /^ID\s+EVENT\s+STATUS/);
  const both = await cli(['webhooks', 'update', id, '--enable', '--disable']);
  assert.equal(both.code, 2);
  assert.match((await ok(['webhooks', 'delete', id])).stdout, new RegExp(`^deleted ${id}`));
  assert.equal((await srv.get(`/v1/webhook-endpoints/${id}`)).status, 404);
});

test('leaks report reads keys from standard input and revokes live ones, printing short prefixes only', async () => {
  const ws = await srv.createWorkspace('leaky');
  const k = await srv.createKey(ws.id);
  const fake = fabricateKey('kw', 'live');
  const r = await ok(['leaks', 'report', '--source', 'paste'], { input: `${k.key}\n\n${fake}\n` });
  assert.ok(!r.stdout.includes(k.key) && !r.stdout.includes(fake), 'the report printed a key');
  assert.match(r.stdout, /true_positive\s+revoked/);
  assert.equal((await srv.get(`/v1/api-keys/${k.id}`)).json.status, 'revoked');
  const none = await cli(['leaks', 'report'], { input: '\n' });
  assert.equal(none.code, 2);
});

test('portal-sessions: create prints the one-time link alone; show and end', async () => {
  const ws = await srv.createWorkspace('portal via cli');
  const made = await ok(['portal-sessions', 'create', '-w', ws.id, '--permission', 'keys:read', '--member-id', 'u_1']);
  const url = made.stdout.trim();
  assert.match(url, /\/portal\?code=kw_code_/);
  const id = made.stderr.match(/portal session (ps_\S+);/)?.[1];
  assert.ok(id, made.stderr);
  assert.equal(field((await ok(['portal-sessions', 'show', id])).stdout, 'permissions'), 'keys:read');
  assert.equal((await okJson(['portal-sessions', 'end', id])).status, 'ended');
});

test('a keys:manage key with an endpoint allow-list manages its own workspace through the CLI', async () => {
  const ws = await srv.createWorkspace('self-service');
  const manager = await srv.createKey(ws.id, { scopes: ['keys:manage', 'orders:read'], endpoint_allowlist: ['GET /v1/orders/*'] });
  const env = { KEYWARD_ROOT_KEY: manager.key };
  const child = await okJson(['keys', 'create', '-w', ws.id, '-e', 'live', '-n', 'child', '--scope', 'orders:read'], { env });
  assert.deepEqual(child.endpoint_allowlist, ['GET /v1/orders/*'], 'the child is bounded by its maker');
  const listed = await okJson(['keys', 'list'], { env });
  assert.deepEqual(listed.map((k) => k.id).sort(), [child.id, manager.id].sort());
  const other = await srv.createWorkspace('not its own');
  const refused = await cli(['keys', 'list', '-w', other.id], { env });
  assert.notEqual(refused.code, 0);
});

test('health, unknown and missing commands, and the exit codes', async () => {
  const h = await ok(['health']);
  assert.match(h.stdout, /^readyz\s+200 ready$/m);
  for (const [args, says] of [
    [['keys', 'frobnicate'], /^keyward keys: unknown command 'frobnicate'; the commands are: create, list, show, update, enable, disable, rotate, revoke$/m],
    [['keys'], /^keyward keys needs a command: create, list, show, update, enable, disable, rotate, revoke$/m],
    [['webhook'], /^keyward: unknown command 'webhook'; the commands are: .*\bwebhooks\b/m],
    [['usage', 'exprot'], /^keyward usage: unknown command 'exprot'; the commands are: export$/m],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, says);
  }
  const wrongRoot = await cli(['workspaces', 'list'], { env: { KEYWARD_ROOT_KEY: `kw_root_${'x'.repeat(20)}A1b2C3d4E5f6G7h8I9j0` } });
  assert.equal(wrongRoot.code, 4, wrongRoot.stderr);
  const noRoot = await cli(['workspaces', 'list'], { env: { KEYWARD_ROOT_KEY: '' } });
  assert.equal(noRoot.code, 2);
  assert.match(noRoot.stderr, /KEYWARD_ROOT_KEY/);
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
  const down = await cli(['health'], { env: { KEYWARD_URL: `http://127.0.0.1:${port}` } });
  assert.equal(down.code, 3);
  const downList = await cli(['keys', 'list'], { env: { KEYWARD_URL: `http://127.0.0.1:${port}` } });
  assert.equal(downList.code, 3);
});
