// Webhooks and leak reports, black box: the real keyward sends events to a
// real receiver on 127.0.0.1 that verifies EVERY delivery with the
// `standardwebhooks` package (as a customer's receiver would) and checks that
// no body holds a secret (a whole key, a root key, a signing secret).
//
// Covered: every event type (api_key.created / updated / rotated / revoked /
// expiring (7 and 1 day) / expired / unused / leaked, workspace.credits_low /
// credits_exhausted, webhook_endpoint.disabled on a 410); a workspace's
// endpoint gets its workspace's events only, and a managing key cannot see,
// change, delete or create another workspace's or the operator's endpoints
// (404), a plain key gets 403; retries in real time (500 then 204: attempt 2,
// the same webhook-id; 429 with Retry-After: 7 is not retried sooner); a
// SIGKILL after a failed attempt (and during one) loses no event; the
// private-address guard (and URLs with a user, another scheme, a fragment);
// secret rolls with and without overlap; the deliveries list and manual
// retries (409 while pending); POST /v1/leaks in revoke and notify mode;
// GitHub secret scanning with ECDSA P-256 signatures and its refusals.
//
// Every case has a server (and receiver) of its own, and they run at once.
// Engine-neutral: it uses the API only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { assertError, corruptKey, fabricateKey, isoIn, poll, startServer, trackSecrets } from './lib/keyward.mjs';

const WEBHOOKS = { allow_private_targets: true, schedule_seconds: 1, unused_days: 30 };
const KEY_SHAPE = /[a-z][a-z0-9]{0,15}_[a-z][a-z0-9]{0,15}_[0-9A-Za-z]{40}(?![0-9A-Za-z])/;
const DAY = 86_400_000;

function iso(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sha256hex(text) {
  return crypto.createHash('sha256').update(text).digest('hex');
}

// A webhook receiver: records every request, answers as the test scripts
// (per path), and verifies each delivery on arrival with the secrets the
// test registered for its path.
class Receiver {
  constructor() {
    this.got = [];
    this.secrets = new Map(); // path -> [secret, ...] any of which must verify
    this.responders = new Map(); // path -> (record, nth on this path) => {status, headers, after} | 'hang'
    this.hanging = [];
  }

  async start() {
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const rec = { path: req.url, method: req.method, headers: { ...req.headers }, body, at: Date.now() };
        rec.id = req.headers['webhook-id'];
        try {
          rec.json = JSON.parse(body);
          rec.type = rec.json.type;
          rec.data = rec.json.data;
        } catch {
          rec.json = null;
        }
        rec.verifyError = this.verifyError(rec, this.secrets.get(rec.path) ?? []);
        this.got.push(rec);
        const nth = this.at(rec.path).length;
        const respond = this.responders.get(rec.path);
        const answer = respond ? respond(rec, nth) : { status: 204 };
        if (answer === 'hang') {
          this.hanging.push(res);
          return;
        }
        res.writeHead(answer.status, answer.headers ?? {});
        res.end();
        answer.after?.();
      });
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  url(p) {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  // Why rec does not verify with any of secrets; null when one verifies.
  verifyError(rec, secrets) {
    if (secrets.length === 0) return 'no secret registered for this path';
    let why = null;
    for (const s of secrets) {
      try {
        new Webhook(s).verify(rec.body, rec.headers);
        return null;
      } catch (e) {
        why = e.message;
      }
    }
    return why;
  }

  verifiesWith(rec, secret) {
    return this.verifyError(rec, [secret]) === null;
  }

  at(p) {
    return this.got.filter((r) => r.path === p);
  }

  // Waits for a delivery to p matching pred; returns it (or fails).
  async waitFor(p, pred = () => true, { timeoutMs = 20_000, what = '' } = {}) {
    const found = await poll(() => this.at(p).find(pred), { timeoutMs, intervalMs: 50 });
    assert.ok(found, `no delivery ${what} to ${p} within ${timeoutMs} ms; got ${JSON.stringify(this.at(p).map((r) => r.type))}`);
    return found;
  }

  // Every delivery verified, and none holds a secret.
  assertAllGood(secrets) {
    for (const rec of this.got) {
      assert.equal(rec.verifyError, null, `${rec.path} ${rec.type} ${rec.id} did not verify: ${rec.verifyError}`);
      assert.equal(rec.method, 'POST');
      assert.match(rec.id ?? '', /^msg_[A-Za-z0-9]+$/);
      assert.equal(rec.headers['content-type'], 'application/json');
      assert.ok(rec.json && typeof rec.json.type === 'string' && rec.json.data, `${rec.path}: body ${rec.body}`);
      assertNoSecretInBody(rec.body, secrets, `${rec.path} ${rec.type}`);
    }
  }

  async close() {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function assertNoSecretInBody(body, secrets, where) {
  assert.ok(!KEY_SHAPE.test(body), `${where} holds a whole key: ${body}`);
  assert.ok(!/whsec_/.test(body), `${where} holds a signing secret: ${body}`);
  assert.ok(!/kw_root_/.test(body), `${where} holds a root key: ${body}`);
  for (const s of secrets) {
    assert.ok(!body.includes(s), `${where} holds the secret ${s.slice(0, 14)}…`);
    if (s.length > 30) assert.ok(!body.includes(s.slice(-24)), `${where} holds the hidden part of ${s.slice(0, 14)}…`);
  }
}

// A server with a receiver; closed after the test.
async function setup(t, config = { webhooks: WEBHOOKS }) {
  const srv = await startServer({ config });
  const rcv = await new Receiver().start();
  const keys = trackSecrets(srv);
  t.after(async () => {
    await rcv.close();
    await srv.close();
  });
  // Every secret the test may meet: keys handed out, the root key, the
  // endpoints' signing secrets.
  const secrets = () => [...keys, srv.rootKey, ...[...rcv.secrets.values()].flat()];
  return { srv, rcv, keys, secrets };
}

// Creates an endpoint for the receiver's path p; registers its secret.
async function endpoint(srv, rcv, p, body = {}, opts = {}) {
  const r = await srv.post('/v1/webhook-endpoints', { url: rcv.url(p), ...body }, opts);
  assert.equal(r.status, 201, `create endpoint ${p}: ${r.status} ${r.text}`);
  assert.match(r.json.secret, /^whsec_[A-Za-z0-9+/=]+$/);
  assert.match(r.json.id, /^we_/);
  rcv.secrets.set(p, [r.json.secret]);
  return r.json;
}

async function deliveries(srv, endpointId, opts = {}) {
  const r = await srv.get(`/v1/webhook-endpoints/${endpointId}/deliveries`, opts);
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

async function importKeys(srv, rows) {
  const r = await srv.post('/v1/api-keys/import', { keys: rows });
  assert.equal(r.status, 200, r.text);
  for (const row of r.json.results) assert.equal(row.status, 'imported', JSON.stringify(row));
  return r.json.results.map((row) => row.id);
}

function hashRow(workspaceId, extra) {
  const key = fabricateKey('kw', 'live');
  return {
    workspace_id: workspaceId,
    environment: 'live',
    hash: { algorithm: 'sha256', encoding: 'hex', value: sha256hex(key) },
    short_prefix: 'imported_' + Math.random().toString(36).slice(2, 8),
    ...extra,
  };
}

describe('webhooks and leak reports', { concurrency: true }, () => {
  it('every event type is raised, delivered and signed, and no body holds a secret', async (t) => {
    const { srv, rcv, secrets } = await setup(t);
    const all = await endpoint(srv, rcv, '/all');
    assert.equal(all.workspace_id, null);
    assert.deepEqual(all.events, []);
    // The secret is answered by create only.
    const got = await srv.get(`/v1/webhook-endpoints/${all.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.secret, undefined);
    assert.ok(!got.text.includes('whsec_'));

    const ws = await srv.createWorkspace('acme', { monthly_credits: 10 });
    const k1 = await srv.createKey(ws.id, { name: 'first ✓ ключ "quoted" \\ </script>' }); // signed as UTF-8 bytes
    assert.equal((await srv.patch(`/v1/api-keys/${k1.id}`, { name: 'renamed' })).status, 200);
    const rotated = await srv.post(`/v1/api-keys/${k1.id}/rotate`, { grace_seconds: 0 });
    assert.equal(rotated.status, 201, rotated.text);
    const k2 = await srv.createKey(ws.id, { name: 'second' });
    assert.equal((await srv.del(`/v1/api-keys/${k2.id}`)).status, 200);
    const in2d = await srv.createKey(ws.id, { name: 'two days', expires_at: isoIn(2 * 86400) });
    const in1h = await srv.createKey(ws.id, { name: 'one hour', expires_at: isoIn(3600) });
    const now = Date.now();
    const [expiredId, unusedId] = await importKeys(srv, [
      hashRow(ws.id, { name: 'expired yesterday', created_at: iso(now - 3 * DAY), expires_at: iso(now - DAY / 2) }),
      hashRow(ws.id, { name: 'old and unused', created_at: iso(now - 100 * DAY) }),
    ]);
    const leaked = await srv.createKey(ws.id, { name: 'leaked' });
    const report = await srv.post('/v1/leaks', { keys: [leaked.key], source: 'paste', url: 'https://paste.example.com/1' });
    assert.equal(report.status, 200, report.text);
    // 10 credits a month: 8 spent is 80 %, 10 is all.
    const spender = rotated.json;
    for (let i = 0; i < 10; i++) {
      const v = await srv.verify({ key: spender.key });
      assert.equal(v.code, 'valid', JSON.stringify(v));
    }

    // A second endpoint that answers 410 Gone is disabled, which the first hears.
    const gone = await endpoint(srv, rcv, '/gone', { events: ['api_key.created'] });
    rcv.responders.set('/gone', () => ({ status: 410 }));
    await srv.createKey(ws.id, { name: 'after gone' });

    const want = [
      'api_key.created', 'api_key.updated', 'api_key.rotated', 'api_key.revoked', 'api_key.expiring',
      'api_key.expired', 'api_key.unused', 'api_key.leaked', 'workspace.credits_low',
      'workspace.credits_exhausted', 'webhook_endpoint.disabled',
    ];
    const complete = await poll(() => {
      const types = new Set(rcv.at('/all').map((r) => r.type));
      const expiring = rcv.at('/all').filter((r) => r.type === 'api_key.expiring').length;
      return want.every((w) => types.has(w)) && expiring >= 2;
    }, { timeoutMs: 25_000, intervalMs: 100 });
    assert.ok(complete, `missing: ${want.filter((w) => !rcv.at('/all').some((r) => r.type === w))}`);

    const of = (type, pred = () => true) => rcv.at('/all').filter((r) => r.type === type && pred(r.data));
    const one = (type, pred, what) => {
      const found = of(type, pred);
      assert.ok(found.length >= 1, `no ${type} ${what}; ${JSON.stringify(rcv.at('/all').map((r) => r.body))}`);
      return found[0].data;
    };
    const created = one('api_key.created', (d) => d.key_id === k1.id, 'for k1');
    assert.equal(created.name, k1.name);
    assert.equal(created.workspace_id, ws.id);
    assert.equal(created.short_prefix, k1.short_prefix);
    assert.equal(created.environment, 'live');
    assert.deepEqual(one('api_key.updated', (d) => d.key_id === k1.id, 'for k1').changed, ['name']);
    const rot = one('api_key.rotated', (d) => d.key_id === k1.id, 'for k1');
    assert.equal(rot.new_key_id, rotated.json.id);
    assert.equal(rot.grace_seconds, 0);
    assert.ok(one('api_key.revoked', (d) => d.key_id === k2.id, 'for k2'));
    assert.equal(one('api_key.expiring', (d) => d.key_id === in2d.id, 'for the 2-day key').within_days, 7);
    assert.equal(one('api_key.expiring', (d) => d.key_id === in1h.id, 'for the 1-hour key').within_days, 1);
    assert.ok(one('api_key.expired', (d) => d.key_id === expiredId, 'for the imported expired key'));
    const unused = one('api_key.unused', (d) => d.key_id === unusedId, 'for the imported old key');
    assert.equal(unused.unused_days, 30);
    assert.equal(unused.last_used_at, null);
    // Keys used or made lately are not unused.
    assert.equal(of('api_key.unused', (d) => d.key_id !== unusedId).length, 0, 'only the old key is unused');
    const leak = one('api_key.leaked', (d) => d.key_id === leaked.id, 'for the reported key');
    assert.equal(leak.action, 'revoked');
    assert.equal(leak.source, 'paste');
    assert.equal(leak.url, 'https://paste.example.com/1');
    assert.equal(one('api_key.revoked', (d) => d.key_id === leaked.id, 'for the reported key').reason, 'leaked');
    const low = one('workspace.credits_low', (d) => d.workspace_id === ws.id, 'for acme');
    assert.equal(low.threshold, 80);
    assert.equal(low.limit, 10);
    assert.equal(one('workspace.credits_exhausted', (d) => d.workspace_id === ws.id, 'for acme').threshold, 100);
    const disabled = one('webhook_endpoint.disabled', (d) => d.endpoint_id === gone.id, 'for /gone');
    assert.equal(disabled.reason, 'gone');
    assert.equal(disabled.response_status, 410);

    const goneNow = await srv.get(`/v1/webhook-endpoints/${gone.id}`);
    assert.equal(goneNow.json.enabled, false);
    assert.equal(goneNow.json.disabled_reason, 'gone');
    assert.equal(rcv.at('/gone').length, 1, 'a disabled endpoint gets nothing more');
    const audit = await srv.get(`/v1/audit-log?action=webhook_endpoint.disable&target=${gone.id}`);
    assert.equal(audit.json.data.length, 1);
    const [goneDelivery] = await deliveries(srv, gone.id);
    assert.equal(goneDelivery.status, 'failed');
    assert.equal(goneDelivery.response_status, 410);
    assertError(await srv.post(`/v1/webhook-endpoints/${gone.id}/deliveries/${goneDelivery.id}/retry`, {}), 409, 'conflict', 'retry to a disabled endpoint');

    // Each event once per endpoint (the scheduler's raise once per key and cause).
    const ids = rcv.at('/all').map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'an event was delivered twice');
    assert.equal(of('api_key.expired', (d) => d.key_id === expiredId).length, 1, 'api_key.expired raised twice');
    assert.equal(of('api_key.unused', (d) => d.key_id === unusedId).length, 1, 'api_key.unused raised twice');
    // A rotation without grace ends the old key at once: that is an expiry too.
    assert.ok(one('api_key.expired', (d) => d.key_id === k1.id, 'for the key rotated without grace'));
    // Every delivery carries the time of its attempt: never after it arrived
    // (the header is whole seconds), never before its event was raised, and
    // well inside the receivers' 5 minute tolerance. (Arrival is when this
    // busy test process read it: on a loaded sanitizer run, seconds late.)
    for (const rec of rcv.got) {
      const stamp = Number(rec.headers['webhook-timestamp']) * 1000;
      assert.ok(stamp <= rec.at + 1000, `${rec.type}: webhook-timestamp ${stamp} is after its arrival ${rec.at}`);
      assert.ok(stamp >= Date.parse(rec.json.timestamp) - 1000, `${rec.type}: webhook-timestamp before its event`);
      assert.ok(rec.at - stamp < 60_000, `${rec.type}: webhook-timestamp ${rec.at - stamp} ms old on arrival`);
    }
    rcv.assertAllGood(secrets());
  });

  it('workspace.key_limit_reached is raised when a workspace hits its key limit', async (t) => {
    const { srv, rcv, secrets } = await setup(t);
    await endpoint(srv, rcv, '/all');
    const ws = await srv.createWorkspace('small', { max_active_keys: 1 });
    await srv.createKey(ws.id);
    assertError(await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'x' }), 409, 'key_limit_reached');
    const ev = await rcv.waitFor('/all', (r) => r.type === 'workspace.key_limit_reached', { timeoutMs: 20_000 });
    assert.equal(ev.data.workspace_id, ws.id);
    rcv.assertAllGood(secrets());
  });

  it('api_key.rotation_due is raised for keys older than [keys] rotate_after_days', async (t) => {
    const { srv, rcv, secrets } = await setup(t, `[webhooks]
allow_private_targets = true
schedule_seconds = 1
unused_days = 0

[keys]
rotate_after_days = 30
`);
    await endpoint(srv, rcv, '/all');
    const ws = await srv.createWorkspace('acme');
    const [oldId] = await importKeys(srv, [hashRow(ws.id, { created_at: iso(Date.now() - 100 * DAY) })]);
    const ev = await rcv.waitFor('/all', (r) => r.type === 'api_key.rotation_due');
    assert.equal(ev.data.key_id, oldId);
    rcv.assertAllGood(secrets());
  });

  it("a workspace's endpoint gets its workspace's events only; a managing key reaches no other endpoint", async (t) => {
    const { srv, rcv, secrets } = await setup(t);
    const wsA = await srv.createWorkspace('A');
    const wsB = await srv.createWorkspace('B');
    const mA = await srv.createKey(wsA.id, { name: 'manager A', scopes: ['keys:manage'] });
    const mB = await srv.createKey(wsB.id, { name: 'manager B', scopes: ['keys:manage'] });
    const plainA = await srv.createKey(wsA.id, { name: 'plain A', scopes: ['orders:read'] });

    const epA = await endpoint(srv, rcv, '/a', {}, { token: mA.key });
    assert.equal(epA.workspace_id, wsA.id, "a managing key's endpoint is its workspace's");
    const epB = await endpoint(srv, rcv, '/b', { workspace_id: wsB.id }, { token: mB.key });
    assert.equal(epB.workspace_id, wsB.id);
    const epOp = await endpoint(srv, rcv, '/op');

    // Creating one for another workspace, or for the operator.
    const before = await srv.get('/v1/webhook-endpoints');
    assertError(await srv.post('/v1/webhook-endpoints', { url: rcv.url('/x'), workspace_id: wsB.id }, { token: mA.key }), 404, 'not_found', 'A for B');
    assertError(await srv.post('/v1/webhook-endpoints', { url: rcv.url('/x'), workspace_id: '' }, { token: mA.key }), 404, 'not_found', 'A for the operator');
    // Another's endpoints: not seen, not changed, not deleted, not rolled.
    for (const other of [epB, epOp]) {
      const p = `/v1/webhook-endpoints/${other.id}`;
      for (const [method, path, body] of [
        ['GET', p],
        ['PATCH', p, { url: rcv.url('/stolen'), description: 'mine now' }],
        ['DELETE', p],
        ['POST', `${p}/roll-secret`, { overlap_seconds: 0 }],
        ['GET', `${p}/deliveries`],
        ['POST', `${p}/deliveries/whd_nope/retry`, {}],
      ]) {
        const r = await srv.api(method, path, { body, token: mA.key });
        assertError(r, 404, 'not_found', `A ${method} ${path}`);
        assert.ok(!r.text.includes('whsec_'));
      }
    }
    const listA = await srv.get('/v1/webhook-endpoints', { token: mA.key });
    assert.equal(listA.status, 200);
    assert.ok(!listA.text.includes('whsec_') && !before.text.includes('whsec_'), 'a list shows a signing secret');
    assert.deepEqual(listA.json.data.map((e) => e.id), [epA.id]);
    assertError(await srv.get(`/v1/webhook-endpoints?workspace_id=${wsB.id}`, { token: mA.key }), 404, 'not_found', 'list B as A');
    assertError(await srv.get('/v1/webhook-endpoints?workspace_id=', { token: mA.key }), 404, 'not_found', "list the operator's as A");
    // A key without keys:manage: 403 everywhere, even on its own workspace's.
    for (const [method, path, body] of [
      ['GET', '/v1/webhook-endpoints'],
      ['POST', '/v1/webhook-endpoints', { url: rcv.url('/plain') }],
      ['GET', `/v1/webhook-endpoints/${epA.id}`],
      ['PATCH', `/v1/webhook-endpoints/${epA.id}`, { description: 'x' }],
      ['DELETE', `/v1/webhook-endpoints/${epA.id}`],
      ['POST', `/v1/webhook-endpoints/${epA.id}/roll-secret`, {}],
      ['GET', `/v1/webhook-endpoints/${epA.id}/deliveries`],
    ]) {
      assertError(await srv.api(method, path, { body, token: plainA.key }), 403, 'insufficient_scope', `plain ${method} ${path}`);
    }
    // Nothing changed.
    assert.deepEqual((await srv.get('/v1/webhook-endpoints')).json, before.json);
    assert.equal((await srv.get('/v1/audit-log?action=webhook_endpoint.update')).json.data.length, 0);

    const kA = await srv.createKey(wsA.id, { name: 'in A' });
    const kB = await srv.createKey(wsB.id, { name: 'in B' });
    await rcv.waitFor('/op', (r) => r.data?.key_id === kA.id);
    await rcv.waitFor('/op', (r) => r.data?.key_id === kB.id);
    await rcv.waitFor('/a', (r) => r.data?.key_id === kA.id);
    await rcv.waitFor('/b', (r) => r.data?.key_id === kB.id);
    // Give a stray delivery a chance to arrive, then look.
    await poll(() => false, { timeoutMs: 1500 });
    for (const rec of rcv.at('/a')) assert.equal(rec.data.workspace_id, wsA.id, `A heard ${rec.body}`);
    for (const rec of rcv.at('/b')) assert.equal(rec.data.workspace_id, wsB.id, `B heard ${rec.body}`);
    // A's manager sees its endpoint's deliveries.
    const dA = await deliveries(srv, epA.id, { token: mA.key });
    assert.ok(dA.length >= 1 && dA.every((d) => d.endpoint_id === epA.id));
    rcv.assertAllGood(secrets());
  });

  it("a managing key's endpoint hears only its own environment", async (t) => {
    const { srv, rcv, secrets } = await setup(t);
    const ws = await srv.createWorkspace('A');
    const mTest = await srv.createKey(ws.id, { environment: 'test', name: 'test manager', scopes: ['keys:manage'] });
    await endpoint(srv, rcv, '/test-env', {}, { token: mTest.key });
    await endpoint(srv, rcv, '/op');
    const live = await srv.createKey(ws.id, { environment: 'live', name: 'production secret name' });
    await rcv.waitFor('/op', (r) => r.data?.key_id === live.id);
    await poll(() => false, { timeoutMs: 1500 });
    rcv.assertAllGood(secrets());
    assert.deepEqual(rcv.at('/test-env').map((r) => r.data), [], 'the test-environment manager heard of live keys');
  });

  it('retries in real time: 500 then 204 delivers on attempt 2 with the same webhook-id; 429 Retry-After: 7 waits 7 s', async (t) => {
    const { srv, rcv, secrets } = await setup(t);
    const e500 = await endpoint(srv, rcv, '/r500', { events: ['api_key.created'] });
    const e429 = await endpoint(srv, rcv, '/r429', { events: ['api_key.created'] });
    const redir = await endpoint(srv, rcv, '/redirect', { events: ['api_key.created'] });
    rcv.responders.set('/redirect', () => ({ status: 307, headers: { location: rcv.url('/followed') } }));
    rcv.responders.set('/r500', (rec, n) => ({ status: n === 1 ? 500 : 204 }));
    rcv.responders.set('/r429', (rec, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '7' } } : { status: 204 }));
    const ws = await srv.createWorkspace('acme');
    const k = await srv.createKey(ws.id);

    const first500 = await rcv.waitFor('/r500');
    const pending = await poll(async () => (await deliveries(srv, e500.id)).find((d) => d.attempts === 1 && d.status === 'pending'));
    assert.ok(pending, 'after a 500 the delivery is pending');
    assert.equal(pending.response_status, 500);
    assert.equal(pending.error, 'HTTP 500');
    const wait = Date.parse(pending.next_attempt_at) - Date.parse(pending.last_attempt_at);
    assert.ok(wait >= 4000 && wait <= 6000, `the second attempt is planned ${wait} ms after the first (5 s ±10 %)`);

    const second500 = await rcv.waitFor('/r500', (r) => r !== first500, { timeoutMs: 30_000 });
    assert.equal(second500.id, first500.id, 'a retry keeps the webhook-id');
    assert.equal(second500.body, first500.body, 'a retry sends the same bytes');
    assert.equal(second500.data.key_id, k.id);
    const gap = second500.at - first500.at;
    assert.ok(gap >= 4400, `the retry came ${gap} ms after the 500 (5 s -10 % at least)`);
    // webhook-timestamp is the attempt's time, not the event's.
    const stampGap = Number(second500.headers['webhook-timestamp']) - Number(first500.headers['webhook-timestamp']);
    assert.ok(stampGap >= 4, `the retry's webhook-timestamp is ${stampGap} s after the first attempt's`);
    const done = await poll(async () => (await deliveries(srv, e500.id)).find((d) => d.status === 'delivered'));
    assert.equal(done.attempts, 2);
    assert.equal(done.response_status, 204);
    assert.equal(done.error, null);
    assert.equal(done.event_id, first500.id);

    const first429 = rcv.at('/r429')[0];
    const second429 = await rcv.waitFor('/r429', (r) => r !== first429, { timeoutMs: 30_000 });
    assert.equal(second429.id, first429.id);
    const gap429 = second429.at - first429.at;
    assert.ok(gap429 >= 6900, `after 429 Retry-After: 7 the retry came ${gap429} ms later`);
    assert.equal(rcv.at('/r429').length, 2);
    const d429 = await poll(async () => (await deliveries(srv, e429.id)).find((d) => d.status === 'delivered'));
    assert.equal(d429.attempts, 2);
    // A redirect is a failure, never followed (it could point anywhere).
    const [dRedir] = await deliveries(srv, redir.id);
    assert.equal(dRedir.status, 'pending');
    assert.equal(dRedir.response_status, 307);
    assert.equal(dRedir.error, 'HTTP 307');
    assert.equal(rcv.at('/followed').length, 0, 'a redirect was followed');
    rcv.assertAllGood(secrets());
  });

  it('a SIGKILL after a failed attempt loses no event: it arrives after the restart with the same webhook-id', async (t) => {
    // The default 15 s timeout: the kill comes after the 503 is written
    // down, so no claim has to lapse (and a 2 s budget for a whole attempt
    // could run out on a loaded machine after the 204 arrived).
    const { srv, rcv, secrets } = await setup(t);
    const ep = await endpoint(srv, rcv, '/crash', { events: ['api_key.created'] });
    rcv.responders.set('/crash', (rec, n) => ({ status: n === 1 ? 503 : 204 }));
    const ws = await srv.createWorkspace('acme');
    const k = await srv.createKey(ws.id);
    const first = await rcv.waitFor('/crash');
    // Killed once the 503 is written down (the next attempt due in 5 s).
    const failed = await poll(async () => (await deliveries(srv, ep.id)).find((x) => x.response_status === 503));
    assert.equal(failed.status, 'pending');
    await srv.kill9();
    await srv.restart();
    const again = await rcv.waitFor('/crash', (r) => r !== first, { timeoutMs: 40_000 });
    assert.equal(again.id, first.id);
    assert.equal(again.body, first.body);
    assert.equal(again.data.key_id, k.id);
    assert.ok(again.at - first.at >= 4400, 'the retry kept its schedule across the restart');
    const d = await poll(async () => (await deliveries(srv, ep.id)).find((x) => x.status === 'delivered'), { timeoutMs: 30_000 });
    assert.ok(d, `delivered after the restart: ${JSON.stringify(await deliveries(srv, ep.id))}`);
    assert.equal(d.attempts, 2);
    assert.equal(d.event_id, first.id);
    rcv.assertAllGood(secrets());
  });

  it('a SIGKILL during an attempt (the receiver holds the request): the claim lapses and the event comes again', async (t) => {
    const { srv, rcv, secrets } = await setup(t, { webhooks: { ...WEBHOOKS, timeout_seconds: 2 } });
    const ep = await endpoint(srv, rcv, '/held', { events: ['api_key.created'] });
    rcv.responders.set('/held', (rec, n) => (n === 1 ? 'hang' : { status: 204 }));
    const ws = await srv.createWorkspace('acme');
    await srv.createKey(ws.id);
    const first = await rcv.waitFor('/held');
    await srv.kill9();
    await srv.restart();
    const again = await rcv.waitFor('/held', (r) => r !== first, { timeoutMs: 45_000 });
    assert.equal(again.id, first.id);
    // An attempt has 2 s here: on a loaded machine it may run out after the
    // 204 arrived, and the next attempt (5 s on) delivers.
    const d = await poll(async () => (await deliveries(srv, ep.id)).find((x) => x.status === 'delivered'), { timeoutMs: 30_000 });
    assert.ok(d, `delivered after the restart: ${JSON.stringify(await deliveries(srv, ep.id))}`);
    rcv.assertAllGood(secrets());
  });

  it('the private-address guard refuses internal targets, and URLs with a user, another scheme or a fragment', async (t) => {
    const srv = await startServer({ config: { webhooks: { max_endpoints: 2 } } });
    t.after(() => srv.close());
    const ws = await srv.createWorkspace('acme');
    const manager = await srv.createKey(ws.id, { name: 'manager', scopes: ['keys:manage'] });
    const refused = [
      'http://127.0.0.1/hook', 'http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://LOCALHOST./hook',
      'http://10.0.0.1/hook', 'http://172.16.5.4/', 'http://192.168.1.1/', 'http://100.64.0.1/',
      'http://[::1]/hook', 'http://[0:0:0:0:0:0:0:1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/',
      'http://[fe80::1]/', 'http://[fc00::1]/', 'http://[::]/', 'http://169.254.169.254/latest/meta-data/',
      'http://0.0.0.0/', 'http://0/', 'http://2130706433/', 'http://0x7f000001/', 'http://0177.0.0.1/',
      'http://127.1/', 'https://10.1.2.3/', 'http://[64:ff9b::7f00:1]/', 'http://224.0.0.1/',
      // Not a URL keyward sends to.
      'http://a:b@8.8.8.8/hook', 'http://user@8.8.8.8/', 'ftp://8.8.8.8/hook', 'http://8.8.8.8/hook#frag',
      'file:///etc/passwd', 'gopher://8.8.8.8/', '//8.8.8.8/', 'http:///hook', 'http://8.8.8.8:0/',
      'http://8.8.8.8:99999/', 'http://8.8.8.8 /x', 'http://[::1/', 'javascript:alert(1)', '',
    ];
    for (const url of refused) {
      for (const token of [undefined, manager.key]) {
        const r = await srv.post('/v1/webhook-endpoints', { url }, { token });
        assertError(r, 400, 'invalid_request', `create ${JSON.stringify(url)}`);
      }
    }
    assert.deepEqual((await srv.get('/v1/webhook-endpoints')).json.data, []);
    assert.equal((await srv.get('/v1/audit-log?action=webhook_endpoint.create')).json.data.length, 0);

    // A public address is taken (nothing is sent to it here); moving it
    // inside is refused as creating there is.
    const ok = await srv.post('/v1/webhook-endpoints', { url: 'http://8.8.8.8/hook', events: ['api_key.leaked'] });
    assert.equal(ok.status, 201, ok.text);
    for (const url of ['http://127.0.0.1/', 'http://[::1]/', 'http://169.254.169.254/', 'http://a@8.8.8.8/']) {
      assertError(await srv.patch(`/v1/webhook-endpoints/${ok.json.id}`, { url }), 400, 'invalid_request', `move to ${url}`);
    }
    const after = await srv.get(`/v1/webhook-endpoints/${ok.json.id}`);
    assert.equal(after.json.url, 'http://8.8.8.8/hook');
    assert.equal((await srv.get('/v1/audit-log?action=webhook_endpoint.update')).json.data.length, 0);
    // [webhooks] max_endpoints per owner: the operator, each workspace.
    assert.equal((await srv.post('/v1/webhook-endpoints', { url: 'https://8.8.4.4/' })).status, 201);
    assertError(await srv.post('/v1/webhook-endpoints', { url: 'https://1.1.1.1/' }), 409, 'conflict', 'a third operator endpoint');
    assert.equal((await srv.post('/v1/webhook-endpoints', { url: 'https://1.1.1.1/' }, { token: manager.key })).status, 201);
    // A roll without a body keeps the old secret a day.
    const rolled = await srv.api('POST', `/v1/webhook-endpoints/${ok.json.id}/roll-secret`, {});
    assert.equal(rolled.status, 200, rolled.text);
    assert.ok(Math.abs(Date.parse(rolled.json.previous_secret_expires_at) - Date.now() - DAY) < 10_000);
    // Unknown event types, repeats, unknown fields.
    for (const body of [
      { url: 'http://8.8.8.8/', events: ['api_key.nope'] },
      { url: 'http://8.8.8.8/', events: ['api_key.created', 'api_key.created'] },
      { url: 'http://8.8.8.8/', secret: 'whsec_AAAA' },
      { url: 'http://8.8.8.8/', description: 'a\nb' },
    ]) {
      assertError(await srv.post('/v1/webhook-endpoints', body), 400, 'invalid_request', JSON.stringify(body));
    }
  });

  it('a rolled secret: both sign during the overlap, only the new one after a roll without overlap', async (t) => {
    const { srv, rcv, secrets } = await setup(t);
    const ep = await endpoint(srv, rcv, '/roll', { events: ['api_key.created'] });
    const s1 = ep.secret;
    const ws = await srv.createWorkspace('acme');
    const trigger = async () => {
      const k = await srv.createKey(ws.id);
      return rcv.waitFor('/roll', (r) => r.data?.key_id === k.id);
    };
    const d1 = await trigger();
    assert.equal(d1.headers['webhook-signature'].split(' ').length, 1);
    assert.ok(rcv.verifiesWith(d1, s1));

    const roll = await srv.post(`/v1/webhook-endpoints/${ep.id}/roll-secret`, { overlap_seconds: 3600 });
    assert.equal(roll.status, 200, roll.text);
    const s2 = roll.json.secret;
    assert.match(s2, /^whsec_/);
    assert.notEqual(s2, s1);
    const until = Date.parse(roll.json.previous_secret_expires_at);
    assert.ok(Math.abs(until - Date.now() - 3600_000) < 10_000, `previous_secret_expires_at ${roll.json.previous_secret_expires_at}`);
    rcv.secrets.set('/roll', [s2, s1]);
    const d2 = await trigger();
    const sigs = d2.headers['webhook-signature'].split(' ');
    assert.equal(sigs.length, 2, `two signatures during the overlap: ${d2.headers['webhook-signature']}`);
    assert.ok(sigs.every((s) => s.startsWith('v1,')));
    assert.ok(rcv.verifiesWith(d2, s1), 'the old secret verifies during the overlap');
    assert.ok(rcv.verifiesWith(d2, s2), 'the new secret verifies');
    // The secret is never answered but by create and roll.
    const got = await srv.get(`/v1/webhook-endpoints/${ep.id}`);
    assert.ok(!got.text.includes('whsec_'));

    const roll0 = await srv.post(`/v1/webhook-endpoints/${ep.id}/roll-secret`, { overlap_seconds: 0 });
    assert.equal(roll0.status, 200, roll0.text);
    const s3 = roll0.json.secret;
    assert.equal(roll0.json.previous_secret_expires_at, null);
    rcv.secrets.set('/roll', [s3]);
    const d3 = await trigger();
    assert.equal(d3.headers['webhook-signature'].split(' ').length, 1);
    assert.ok(rcv.verifiesWith(d3, s3));
    assert.ok(!rcv.verifiesWith(d3, s2), 'the secret before a roll without overlap no longer verifies');
    assert.ok(!rcv.verifiesWith(d3, s1));
    for (const bad of [{ overlap_seconds: -1 }, { overlap_seconds: 604801 }, { overlap_seconds: 'x' }, { nope: 1 }]) {
      assertError(await srv.post(`/v1/webhook-endpoints/${ep.id}/roll-secret`, bad), 400, 'invalid_request', JSON.stringify(bad));
    }
    const audit = await srv.get(`/v1/audit-log?action=webhook_endpoint.roll_secret&target=${ep.id}`);
    assert.equal(audit.json.data.length, 2);
    assert.ok(!audit.text.includes('whsec_'));
    rcv.assertAllGood([...secrets(), s1, s2, s3]);
  });

  it('the deliveries list and a manual retry (202, the same webhook-id; 409 while pending)', async (t) => {
    const { srv, rcv, secrets } = await setup(t);
    const ep = await endpoint(srv, rcv, '/man', { events: ['api_key.created'] });
    const failing = await endpoint(srv, rcv, '/pend', { events: ['api_key.created'] });
    rcv.responders.set('/pend', () => ({ status: 500 }));
    const ws = await srv.createWorkspace('acme');
    const k = await srv.createKey(ws.id);
    const first = await rcv.waitFor('/man');
    const d = await poll(async () => (await deliveries(srv, ep.id)).find((x) => x.status === 'delivered'));
    assert.ok(d);
    assert.equal(d.object, 'webhook_delivery');
    assert.equal(d.endpoint_id, ep.id);
    assert.equal(d.event_id, first.id);
    assert.equal(d.event_type, 'api_key.created');
    assert.equal(d.attempts, 1);
    assert.equal(d.manual, false);
    assert.equal(d.next_attempt_at, null);
    assert.equal(d.response_status, 204);
    assert.ok(Number.isInteger(d.latency_ms));

    const retry = await srv.post(`/v1/webhook-endpoints/${ep.id}/deliveries/${d.id}/retry`, {});
    assert.equal(retry.status, 202, retry.text);
    assert.equal(retry.json.id, d.id);
    assert.equal(retry.json.manual, true);
    const again = await rcv.waitFor('/man', (r) => r !== first, { timeoutMs: 20_000 });
    assert.equal(again.id, first.id, 'a manual retry keeps the webhook-id');
    assert.equal(again.data.key_id, k.id);
    const after = await poll(async () => (await deliveries(srv, ep.id)).find((x) => x.id === d.id && x.attempts === 2 && x.status === 'delivered'));
    assert.ok(after, 'the retry is recorded as attempt 2');
    assert.equal(after.manual, true);
    const audit = await srv.get(`/v1/audit-log?action=webhook_delivery.retry&target=${ep.id}`);
    assert.equal(audit.json.data.length, 1);

    await rcv.waitFor('/pend');
    const pending = await poll(async () => (await deliveries(srv, failing.id)).find((x) => x.status === 'pending' && x.attempts >= 1));
    assert.ok(pending);
    assertError(await srv.post(`/v1/webhook-endpoints/${failing.id}/deliveries/${pending.id}/retry`, {}), 409, 'conflict', 'retry a pending delivery');
    // Another endpoint's delivery, an unknown one.
    assertError(await srv.post(`/v1/webhook-endpoints/${failing.id}/deliveries/${d.id}/retry`, {}), 404, 'not_found', 'retry through the wrong endpoint');
    assertError(await srv.post(`/v1/webhook-endpoints/${ep.id}/deliveries/whd_nope/retry`, {}), 404, 'not_found', 'retry an unknown delivery');
    // Paging.
    const page = await srv.get(`/v1/webhook-endpoints/${ep.id}/deliveries?limit=1`);
    assert.equal(page.status, 200);
    assert.equal(page.json.data.length, 1);
    assertError(await srv.get(`/v1/webhook-endpoints/${ep.id}/deliveries?limit=1001`), 400, 'invalid_request');
    assertError(await srv.get(`/v1/webhook-endpoints/${ep.id}/deliveries?cursor=whd_nope`), 400, 'invalid_request');
    // Deleting an endpoint: gone, with its deliveries.
    assert.equal((await srv.del(`/v1/webhook-endpoints/${failing.id}`)).status, 200);
    assertError(await srv.get(`/v1/webhook-endpoints/${failing.id}/deliveries`), 404, 'not_found');
    rcv.assertAllGood(secrets());
  });

  it('POST /v1/leaks revokes a reported live key, ignores look-alikes, and never answers the key', async (t) => {
    const { srv, rcv, secrets } = await setup(t);
    await endpoint(srv, rcv, '/leaks', { events: ['api_key.leaked', 'api_key.revoked'] });
    const ws = await srv.createWorkspace('acme');
    const k = await srv.createKey(ws.id, { name: 'leaked' });
    const other = await srv.createKey(ws.id, { name: 'bystander' });
    const lookAlike = corruptKey(other.key);
    const stranger = fabricateKey('kw', 'live');
    const url = `https://paste.example.com/raw/${k.key}`;
    const r = await srv.post('/v1/leaks', { keys: [k.key, lookAlike, stranger, 'hello', k.key], source: 'a paste', url });
    assert.equal(r.status, 200, r.text);
    assert.ok(!r.text.includes(k.key) && !r.text.includes(lookAlike) && !r.text.includes(stranger), `the answer quotes a key: ${r.text}`);
    const [hit, alike, unknown, garbage, repeat] = r.json.results;
    assert.deepEqual(hit, { short_prefix: k.short_prefix, label: 'true_positive', action: 'revoked', key_id: k.id });
    assert.equal(alike.label, 'false_positive');
    assert.equal(alike.action, 'none');
    assert.equal(alike.reason, 'not_a_key');
    assert.equal(alike.key_id, undefined);
    assert.equal(unknown.label, 'false_positive');
    assert.equal(unknown.reason, 'unknown_key');
    assert.equal(garbage.short_prefix, null);
    assert.equal(garbage.reason, 'not_a_key');
    assert.equal(repeat.action, 'none');
    assert.equal(repeat.label, 'true_positive');

    assert.equal((await srv.verify({ key: k.key })).code, 'revoked');
    assert.equal((await srv.verify({ key: other.key })).code, 'valid', 'a look-alike changes nothing');
    const audit = await srv.get(`/v1/audit-log?action=key.revoke&target=${k.id}`);
    assert.equal(audit.json.data.length, 1);
    const details = audit.json.data[0].details;
    assert.equal(details.reason, 'leaked');
    assert.equal(details.leak.source, 'a paste');
    assert.ok(details.leak.url.startsWith('https://paste.example.com/raw/'), details.leak.url);
    assert.ok(!audit.text.includes(k.key), 'the audit log quotes the key from the URL');
    assert.equal((await srv.get(`/v1/audit-log?target=${other.id}&action=key.revoke`)).json.data.length, 0);

    const leak = await rcv.waitFor('/leaks', (x) => x.type === 'api_key.leaked');
    assert.equal(leak.data.key_id, k.id);
    assert.equal(leak.data.action, 'revoked');
    assert.equal(leak.data.source, 'a paste');
    assert.ok(!leak.body.includes(k.key));
    const revoked = await rcv.waitFor('/leaks', (x) => x.type === 'api_key.revoked');
    assert.equal(revoked.data.reason, 'leaked');

    const second = await srv.post('/v1/leaks', { keys: [k.key] });
    assert.equal(second.status, 200);
    assert.equal(second.json.results[0].action, 'none');
    assert.equal(second.json.results[0].reason, 'already_revoked');
    // Only a root key reports; bad bodies are refused whole.
    const plain = await srv.post('/v1/leaks', { keys: [other.key] }, { token: other.key });
    assert.ok([401, 403].includes(plain.status), `a plain key reporting: ${plain.status}`);
    for (const body of [{}, { keys: [] }, { keys: 'x' }, { keys: [other.key], nope: 1 }, { keys: [other.key], source: 'a\u0001' }]) {
      const bad = await srv.post('/v1/leaks', body);
      assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
      assert.ok(!bad.text.includes(other.key));
    }
    assert.equal((await srv.verify({ key: other.key })).code, 'valid');
    await poll(() => false, { timeoutMs: 1000 });
    assert.equal(rcv.at('/leaks').filter((x) => x.type === 'api_key.leaked').length, 1, 'one leak, one event');
    rcv.assertAllGood(secrets());
  });

  it('[leaks] action = "notify": the key stays valid and api_key.leaked says notified', async (t) => {
    const { srv, rcv, secrets } = await setup(t, { webhooks: WEBHOOKS, leaks: { action: 'notify' } });
    await endpoint(srv, rcv, '/leaks');
    const ws = await srv.createWorkspace('acme');
    const k = await srv.createKey(ws.id);
    const r = await srv.post('/v1/leaks', { keys: [k.key], source: 'forum' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.results[0], { short_prefix: k.short_prefix, label: 'true_positive', action: 'notified', key_id: k.id });
    assert.equal((await srv.verify({ key: k.key })).code, 'valid');
    const leak = await rcv.waitFor('/leaks', (x) => x.type === 'api_key.leaked');
    assert.equal(leak.data.action, 'notified');
    assert.equal(leak.data.key_id, k.id);
    assert.equal(leak.data.source, 'forum');
    const again = await srv.post('/v1/leaks', { keys: [k.key] });
    assert.equal(again.json.results[0].action, 'none');
    assert.equal(again.json.results[0].reason, 'already_reported');
    assert.equal((await srv.get(`/v1/audit-log?action=key.leak_report&target=${k.id}`)).json.data.length, 1);
    await poll(() => false, { timeoutMs: 1000 });
    assert.ok(!rcv.got.some((x) => x.type === 'api_key.revoked'));
    assert.equal(rcv.got.filter((x) => x.type === 'api_key.leaked').length, 1);
    rcv.assertAllGood(secrets());
  });

  it('GitHub secret scanning: a signed alert revokes; a wrong signature, an unknown key id, a missing header or a changed byte answer 401', async (t) => {
    const gh = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const forger = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = gh.publicKey.export({ type: 'spki', format: 'pem' });
    const config = `[leaks]
action = "revoke"

[[leaks.github_keys]]
key_identifier = "gh-key-1"
pem = """
${pem.trim()}
"""
`;
    const srv = await startServer({ config });
    t.after(() => srv.close());
    const secrets = trackSecrets(srv);
    const ws = await srv.createWorkspace('acme');
    const target = await srv.createKey(ws.id, { name: 'pushed to github' });
    const body = JSON.stringify([
      { token: target.key, type: 'keyward_api_key', url: 'https://github.com/o/r/blob/main/.env', source: 'content' },
      { token: fabricateKey('kw', 'live'), type: 'keyward_api_key', url: 'https://github.com/o/r', source: 'commit' },
    ]);
    const sign = (text, key = gh.privateKey) => crypto.sign('sha256', Buffer.from(text), key).toString('base64');
    const send = (raw, headers) =>
      srv.api('POST', '/v1/secret-scanning/github', { raw, token: null, headers: { 'content-type': 'application/json', ...headers } });
    const auditCount = async () => (await srv.listAll('/v1/audit-log')).length;
    const before = await auditCount();

    const changed = body.replace('"content"', '"Content"');
    assert.notEqual(changed, body);
    for (const [what, raw, headers] of [
      ['a forger', body, { 'github-public-key-identifier': 'gh-key-1', 'github-public-key-signature': sign(body, forger.privateKey) }],
      ['an unknown key identifier', body, { 'github-public-key-identifier': 'gh-key-2', 'github-public-key-signature': sign(body) }],
      ['no signature', body, { 'github-public-key-identifier': 'gh-key-1' }],
      ['no key identifier', body, { 'github-public-key-signature': sign(body) }],
      ['a changed byte', changed, { 'github-public-key-identifier': 'gh-key-1', 'github-public-key-signature': sign(body) }],
      ['garbage', body, { 'github-public-key-identifier': 'gh-key-1', 'github-public-key-signature': 'not base64!' }],
      ['an empty signature', body, { 'github-public-key-identifier': 'gh-key-1', 'github-public-key-signature': '' }],
      ['a root key instead', body, { authorization: `Bearer ${srv.rootKey}` }],
    ]) {
      const r = await send(raw, headers);
      assertError(r, 401, 'unauthorized', what);
      assert.ok(!r.text.includes(target.key));
      assert.equal((await srv.verify({ key: target.key })).code, 'valid', `${what} revoked the key`);
    }
    assert.equal(await auditCount(), before, 'a refused alert wrote to the audit log');

    const ok = await send(body, { 'github-public-key-identifier': 'gh-key-1', 'github-public-key-signature': sign(body) });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(!ok.text.includes(target.key));
    const parsed = JSON.parse(body);
    assert.deepEqual(ok.json, [
      { token_hash: sha256hex(parsed[0].token), token_type: 'keyward_api_key', label: 'true_positive' },
      { token_hash: sha256hex(parsed[1].token), token_type: 'keyward_api_key', label: 'false_positive' },
    ]);
    assert.equal((await srv.verify({ key: target.key })).code, 'revoked');
    const audit = await srv.get(`/v1/audit-log?action=key.revoke&target=${target.id}`);
    assert.equal(audit.json.data.length, 1);
    assert.equal(audit.json.data[0].details.reason, 'leaked');
    assert.equal(audit.json.data[0].details.leak.source, 'github:content');
    assert.equal(audit.json.data[0].details.leak.url, 'https://github.com/o/r/blob/main/.env');
    assert.equal(audit.json.data[0].actor, 'github');
    // A valid signature over a body that is not an alert.
    const notArray = '{"token":"x"}';
    assertError(await send(notArray, { 'github-public-key-identifier': 'gh-key-1', 'github-public-key-signature': sign(notArray) }), 400, 'invalid_request');
    assertNoSecretInBody(ok.text, [...secrets, srv.rootKey], 'the GitHub answer');
  });

  it('a GitHub alert refused with 400 changes nothing', async (t) => {
    const gh = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = gh.publicKey.export({ type: 'spki', format: 'pem' }).trim();
    const srv = await startServer({ config: `[[leaks.github_keys]]\nkey_identifier = "k"\npem = """\n${pem}\n"""\n` });
    t.after(() => srv.close());
    const ws = await srv.createWorkspace('acme');
    const k = await srv.createKey(ws.id);
    const body = JSON.stringify([{ token: k.key, type: 't' }, { type: 'no token' }]);
    const r = await srv.api('POST', '/v1/secret-scanning/github', {
      raw: body,
      token: null,
      headers: {
        'content-type': 'application/json',
        'github-public-key-identifier': 'k',
        'github-public-key-signature': crypto.sign('sha256', Buffer.from(body), gh.privateKey).toString('base64'),
      },
    });
    assertError(r, 400, 'invalid_request');
    assert.equal((await srv.verify({ key: k.key })).code, 'valid', 'the refused alert revoked its first key');
  });
});
