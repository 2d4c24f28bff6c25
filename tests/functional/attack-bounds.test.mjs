// Black-box attack suite, written from docs/http-api.md and README.md only:
// every restriction the documentation promises, attacked through
// POST /v1/keys/verify (root key), GET /v1/auth and /v1/auth/{path} (gateway
// mode, forged headers) and the management API with keys:manage keys (a key
// managing itself, its siblings, racing requests).
//
// Each test names the promise it checks. A test that fails is a broken
// promise, not a broken test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startServer,
  assertError,
  isoIn,
  sleep,
  fabricateKey,
  noteSecret,
  crc32,
  BASE62,
} from './lib/keyward.mjs';

let srv; // default configuration: trusted_proxies is loopback, so this client is a trusted proxy
let srvU; // trusted_proxies = ["127.0.0.2/32"], failed_verifications_per_ip = 5, default rate limit 1000/60

before(async () => {
  [srv, srvU] = await Promise.all([
    startServer({ args: ['--threads', '4'] }),
    startServer({
      config: {
        trusted_proxies: ['127.0.0.2/32'],
        limits: { failed_verifications_per_ip: 5, rate_limit: 1000, rate_period_seconds: 60 },
      },
    }),
  ]);
});
after(async () => {
  await Promise.all([srv?.close(), srvU?.close()]);
});

// ---------------------------------------------------------------------------
// helpers

const DAY = 86_400;

// A request from a chosen local address (127.0.0.x), headers may repeat
// (array values), the path is sent byte for byte.
function peer(server, localAddress, method, target, headers = {}, body = undefined) {
  const h = { ...headers };
  let payload;
  if (body !== undefined) {
    payload = Buffer.from(JSON.stringify(body), 'utf8');
    h['content-type'] = 'application/json';
    noteSecret(payload.toString('utf8'));
  }
  for (const v of Object.values(h)) for (const x of [v].flat()) if (typeof x === 'string') noteSecret(x);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, localAddress, method, path: target, headers: h, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          noteSecret(text);
          let json;
          try {
            json = text.length ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          const hh = new Headers();
          for (const [k, v] of Object.entries(res.headers)) hh.set(k, Array.isArray(v) ? v.join(', ') : String(v));
          resolve({ status: res.statusCode, headers: hh, json, text });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

// srv.raw with repeated headers noted for the secrets sweep.
function rawReq(server, method, target, headers = {}) {
  for (const v of Object.values(headers)) for (const x of [v].flat()) if (typeof x === 'string') noteSecret(x);
  return server.raw(method, target, headers);
}

const bearer = (k) => ({ authorization: `Bearer ${typeof k === 'string' ? k : k.key}` });

// How many of these secrets verify as valid right now.
async function working(server, secrets) {
  let n = 0;
  for (const s of secrets) if ((await server.verify({ key: s })).code === 'valid') n++;
  return n;
}

async function activeKeys(server, wsId) {
  const r = await server.get(`/v1/workspaces/${wsId}`);
  assert.equal(r.status, 200, r.text);
  return r.json.active_keys;
}

function ttlIso(msFromNow) {
  return new Date(Date.now() + msFromNow).toISOString();
}

function describeRes(r) {
  return `${r.status} ${r.text.slice(0, 300)}`;
}

// ---------------------------------------------------------------------------
// Self-service bounds

// A managing key restricted in every kind the docs name (no endpoint list:
// see the endpoint test below for why).
async function restrictedManager(server, wsId, extra = {}) {
  return server.createKey(wsId, {
    name: 'restricted manager',
    scopes: ['keys:manage', 'orders:read'],
    ip_allowlist: ['10.0.0.0/8', '127.0.0.0/8'],
    referrer_allowlist: ['https://app.example.com/x/**'],
    rate_limit: { limit: 100000, period_seconds: 60 },
    expires_at: isoIn(DAY),
    ...extra,
  });
}
const FROM_APP = { referer: 'https://app.example.com/x/settings' };
const asMgr = (m) => ({ token: m.key, headers: FROM_APP });

function widerCreateBodies(m) {
  const later = new Date(Date.parse(m.expires_at) + 1).toISOString();
  return [
    { ip_allowlist: ['0.0.0.0/0'] },
    { ip_allowlist: ['::/0'] },
    { ip_allowlist: ['10.0.0.0/7'] },
    { ip_allowlist: ['11.0.0.0/8'] },
    { ip_allowlist: ['10.0.0.0/8', '192.168.0.0/16'] },
    { ip_allowlist: ['::ffff:0:0/96'] }, // all of IPv4, mapped
    { ip_allowlist: ['::ffff:10.0.0.0/103'] }, // 10.0.0.0/7 in mapped form
    { ip_allowlist: ['::ffff:0.0.0.0/100'] }, // 0.0.0.0/4 in mapped form
    { ip_allowlist: ['::a00:0/104'] }, // IPv4-compatible form: another block
    { ip_allowlist: ['64:ff9b::a00:0/104'] }, // NAT64 form: another block
    { ip_allowlist: ['2002:a00::/24'] }, // 6to4 form: another block
    { ip_allowlist: ['2001:db8::/32'] },
    { referrer_allowlist: ['app.example.com'] }, // any scheme, port and page
    { referrer_allowlist: ['*.example.com'] },
    { referrer_allowlist: ['https://app.example.com:*/x/**'] },
    { referrer_allowlist: ['https://app.example.com:8443/x/y'] },
    { referrer_allowlist: ['http://app.example.com/x/y'] },
    { referrer_allowlist: ['https://*.example.com/x/y'] },
    { referrer_allowlist: ['https://app.example.com/**'] },
    { referrer_allowlist: ['https://app.example.com/xy'] },
    { referrer_allowlist: ['https://app.example.com/x/y', 'https://evil.example.org/'] },
    { rate_limit: { limit: 200000, period_seconds: 120 } }, // same rate, larger burst
    { rate_limit: { limit: 100001, period_seconds: 60 } },
    { rate_limit: { limit: 100000, period_seconds: 59 } },
    { rate_limit: { limit: 1700, period_seconds: 1 } }, // smaller burst, faster rate
    { rate_limit: { limit: 1000000000, period_seconds: 2678400 } },
    { expires_at: later },
    { expires_at: '9999-12-31T23:59:59Z' },
  ];
}

test('self-service create: no wider key in any dimension is stored (403 forbidden, nothing stored)', async () => {
  const ws = await srv.createWorkspace('bounds-create', { max_active_keys: 100 });
  const m = await restrictedManager(srv, ws.id);
  const snap = await srv.snapshot();
  const leaks = [];
  for (const extra of widerCreateBodies(m)) {
    const body = { workspace_id: ws.id, environment: 'live', name: 'wider', ...extra };
    const r = await srv.post('/v1/api-keys', body, asMgr(m));
    if (r.status === 201) {
      leaks.push(`${JSON.stringify(extra)} -> 201 ${JSON.stringify({ ip: r.json.ip_allowlist, ref: r.json.referrer_allowlist, rl: r.json.rate_limit, exp: r.json.expires_at })}`);
      continue;
    }
    assertError(r, 403, 'forbidden', `create ${JSON.stringify(extra)}`);
    // "a message naming the bound"
    const field = Object.keys(extra)[0];
    assert.ok(r.json.message.includes(field), `the refusal of ${JSON.stringify(extra)} does not name ${field}: ${r.json.message}`);
  }
  for (const scopes of [['keys:*'], ['*'], ['orders:*'], ['keys:manage', 'admin']]) {
    const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'wider', scopes }, asMgr(m));
    if (r.status === 201) leaks.push(`scopes ${scopes} -> 201`);
    else assertError(r, 403, 'insufficient_scope', `create scopes ${scopes}`);
  }
  assert.deepEqual(leaks, [], 'wider keys were handed out');
  assert.deepEqual(await srv.snapshot(), snap, 'a refused create stored something');
});

test('self-service create: omitted or emptied restrictions mean "as the caller", never unrestricted', async () => {
  const ws = await srv.createWorkspace('bounds-omitted', { max_active_keys: 100 });
  const m = await restrictedManager(srv, ws.id);
  const bodies = [{}, { ip_allowlist: [] }, { referrer_allowlist: [] }, { rate_limit: null }, { expires_at: null }];
  for (const extra of bodies) {
    const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'omitted', ...extra }, asMgr(m));
    if (r.status !== 201) {
      assertError(r, 403, 'forbidden', `create ${JSON.stringify(extra)}`);
      continue;
    }
    const k = r.json;
    assert.deepEqual(k.ip_allowlist, m.ip_allowlist, `${JSON.stringify(extra)}: ip_allowlist`);
    assert.deepEqual(k.referrer_allowlist, m.referrer_allowlist, `${JSON.stringify(extra)}: referrer_allowlist`);
    assert.deepEqual(k.rate_limit, m.rate_limit, `${JSON.stringify(extra)}: rate_limit`);
    assert.ok(k.expires_at !== null && Date.parse(k.expires_at) <= Date.parse(m.expires_at), `${JSON.stringify(extra)}: expires_at ${k.expires_at}`);
    // And it really is restricted: from outside the caller's blocks and referrers it is refused.
    const outside = await srv.verify({ key: k.key, ip: '192.0.2.7', referrer: 'https://app.example.com/x/a' });
    assert.equal(outside.code, 'ip_not_allowed', `${JSON.stringify(extra)}: ${JSON.stringify(outside)}`);
    const badRef = await srv.verify({ key: k.key, ip: '10.1.2.3', referrer: 'https://evil.example.org/' });
    assert.equal(badRef.code, 'referrer_not_allowed', `${JSON.stringify(extra)}: ${JSON.stringify(badRef)}`);
    assert.equal((await srv.verify({ key: k.key, ip: '10.1.2.3', referrer: 'https://app.example.com/x/a' })).code, 'valid');
  }
});

test('self-service create: an equivalent IPv4-mapped block is the IPv4 block, and works as one', async () => {
  const ws = await srv.createWorkspace('bounds-mapped', { max_active_keys: 100 });
  const m = await restrictedManager(srv, ws.id);
  const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'mapped', ip_allowlist: ['::ffff:10.0.0.0/112'] }, asMgr(m));
  assert.equal(r.status, 201, describeRes(r));
  assert.deepEqual(r.json.ip_allowlist, ['10.0.0.0/16']);
  const ok = { referrer: 'https://app.example.com/x/a' };
  assert.equal((await srv.verify({ key: r.json.key, ip: '10.0.200.1', ...ok })).code, 'valid');
  assert.equal((await srv.verify({ key: r.json.key, ip: '::ffff:10.0.200.1', ...ok })).code, 'valid');
  assert.equal((await srv.verify({ key: r.json.key, ip: '10.1.0.1', ...ok })).code, 'ip_not_allowed');
});

test('self-service rate limit: "no faster rate" holds at the edge of integer precision', async () => {
  const ws = await srv.createWorkspace('bounds-rate-precision', { max_active_keys: 100 });
  const m = await srv.createKey(ws.id, { name: 'mgr', scopes: ['keys:manage'], rate_limit: { limit: 1000000000, period_seconds: 2678400 } });
  const snap = await srv.snapshot();
  // 999999999 per 2678399 s is a (very slightly) faster rate than 10^9 per 2678400 s.
  for (const rl of [{ limit: 999999999, period_seconds: 2678399 }, { limit: 1000000000, period_seconds: 2678399 }, { limit: 374, period_seconds: 1 }]) {
    const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'edge', rate_limit: rl }, { token: m.key });
    assertError(r, 403, 'forbidden', `rate_limit ${JSON.stringify(rl)}`);
  }
  assert.deepEqual(await srv.snapshot(), snap);
  for (const rl of [{ limit: 999999999, period_seconds: 2678400 }, { limit: 500000000, period_seconds: 1339200 }, { limit: 373, period_seconds: 1 }]) {
    const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'edge-ok', rate_limit: rl }, { token: m.key });
    assert.equal(r.status, 201, `rate_limit ${JSON.stringify(rl)} is not faster and not larger: ${describeRes(r)}`);
  }
});

test('self-service PATCH: a child cannot be widened in any dimension, cleared lists/limits included', async () => {
  const ws = await srv.createWorkspace('bounds-patch', { max_active_keys: 100 });
  const m = await restrictedManager(srv, ws.id);
  const child = (await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'child', ip_allowlist: ['10.1.0.0/16'] }, asMgr(m))).json;
  assert.ok(child?.id, 'child created');
  const snap = await srv.snapshot();
  const patches = [
    ...widerCreateBodies(m),
    { ip_allowlist: [] },
    { referrer_allowlist: [] },
    { rate_limit: null },
    { expires_at: null },
  ];
  const leaks = [];
  for (const p of patches) {
    const r = await srv.patch(`/v1/api-keys/${child.id}`, p, asMgr(m));
    if (r.status === 200) leaks.push(`${JSON.stringify(p)} -> 200`);
    else assertError(r, 403, 'forbidden', `PATCH ${JSON.stringify(p)}`);
  }
  assert.deepEqual(leaks, []);
  assert.deepEqual(await srv.snapshot(), snap);
});

test('self-service: a managing key cannot change its own restrictions or enabled state (rename and meta are fine)', async () => {
  const ws = await srv.createWorkspace('bounds-self', { max_active_keys: 100 });
  const m = await restrictedManager(srv, ws.id);
  const snap = await srv.snapshot();
  const narrower = [
    { ip_allowlist: ['10.0.0.0/16', '127.0.0.0/8'] },
    { referrer_allowlist: ['https://app.example.com/x/settings'] },
    { rate_limit: { limit: 1, period_seconds: 60 } },
    { expires_at: isoIn(3600) },
    { scopes: ['keys:manage'] },
    { enabled: false },
    { enabled: true },
    { ip_allowlist: [] },
    { rate_limit: null },
    { expires_at: null },
    { scopes: ['keys:manage', 'orders:read', 'admin'] },
  ];
  for (const p of narrower) {
    const r = await srv.patch(`/v1/api-keys/${m.id}`, p, asMgr(m));
    assert.ok(r.status === 403, `self PATCH ${JSON.stringify(p)}: ${describeRes(r)}`);
    assert.ok(['forbidden', 'insufficient_scope'].includes(r.json?.error), `self PATCH ${JSON.stringify(p)}: ${r.text}`);
  }
  // Self-rotation to a later or no expiry is refused too.
  for (const body of [{ expires_at: null }, { expires_at: isoIn(2 * DAY) }]) {
    const r = await srv.post(`/v1/api-keys/${m.id}/rotate`, body, asMgr(m));
    assert.ok(!(r.json && typeof r.json.key === 'string'), `self rotate ${JSON.stringify(body)} handed out a key`);
    assertError(r, 403, 'forbidden', `self rotate ${JSON.stringify(body)}`);
  }
  assert.deepEqual(await srv.snapshot(), snap);
  const ren = await srv.patch(`/v1/api-keys/${m.id}`, { name: 'renamed manager', meta: { team: 'ops' } }, asMgr(m));
  assert.equal(ren.status, 200, describeRes(ren));
});

test('self-service: a key less restricted than the manager cannot be renamed, disabled, patched or rotated', async () => {
  const ws = await srv.createWorkspace('bounds-wider-target', { max_active_keys: 100 });
  const m = await restrictedManager(srv, ws.id);
  const base = { ip_allowlist: ['10.1.0.0/16'], referrer_allowlist: ['https://app.example.com/x/y'], rate_limit: { limit: 10, period_seconds: 60 }, expires_at: isoIn(3600) };
  const targets = [
    await srv.createKey(ws.id, { name: 'no ip list', ...base, ip_allowlist: [] }),
    await srv.createKey(ws.id, { name: 'no referrer list', ...base, referrer_allowlist: [] }),
    await srv.createKey(ws.id, { name: 'no rate limit', ...base, rate_limit: null }),
    await srv.createKey(ws.id, { name: 'no expiry', ...base, expires_at: null }),
    await srv.createKey(ws.id, { name: 'later expiry', ...base, expires_at: isoIn(2 * DAY) }),
    await srv.createKey(ws.id, { name: 'wider block', ...base, ip_allowlist: ['10.0.0.0/7'] }),
    await srv.createKey(ws.id, { name: 'wider referrer', ...base, referrer_allowlist: ['app.example.com'] }),
  ];
  const snap = await srv.snapshot();
  for (const t of targets) {
    for (const p of [{ name: 'mine now' }, { meta: { x: 1 } }, { enabled: false }]) {
      assertError(await srv.patch(`/v1/api-keys/${t.id}`, p, asMgr(m)), 403, 'forbidden', `${t.name}: PATCH ${JSON.stringify(p)}`);
    }
    const rot = await srv.post(`/v1/api-keys/${t.id}/rotate`, { grace_seconds: 60 }, asMgr(m));
    assert.ok(!(rot.json && typeof rot.json.key === 'string'), `${t.name}: the manager got the secret of a wider key`);
    assertError(rot, 403, 'forbidden', `${t.name}: rotate`);
  }
  assert.deepEqual(await srv.snapshot(), snap);
});

test('self-service enable: only a key the manager disabled itself, whatever the sequence', async () => {
  const ws = await srv.createWorkspace('bounds-enable', { max_active_keys: 100 });
  const m1 = await srv.createKey(ws.id, { name: 'm1', scopes: ['keys:manage'] });
  const m2 = await srv.createKey(ws.id, { name: 'm2', scopes: ['keys:manage'] });
  const k = (await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'k' }, { token: m1.key })).json;
  const P = (body, token) => srv.patch(`/v1/api-keys/${k.id}`, body, { token });
  // disabled by the root key
  assert.equal((await P({ enabled: false }, srv.rootKey)).status, 200);
  assertError(await P({ enabled: true }, m1.key), 403, 'forbidden', 'enable a root-disabled key');
  // a redundant disable by the manager does not make it the manager's
  assert.equal((await P({ enabled: false }, m1.key)).status, 200);
  assertError(await P({ enabled: true }, m1.key), 403, 'forbidden', 'enable after a redundant own disable');
  assertError(await P({ enabled: true, name: 'sneak' }, m1.key), 403, 'forbidden', 'enable hidden in a rename');
  // manager disables, root enables and disables again: the root key's disable wins
  assert.equal((await P({ enabled: true }, srv.rootKey)).status, 200);
  assert.equal((await P({ enabled: false }, m1.key)).status, 200);
  assertError(await P({ enabled: true }, m2.key), 403, 'forbidden', 'another manager enables');
  assert.equal((await P({ enabled: true }, srv.rootKey)).status, 200);
  assert.equal((await P({ enabled: false }, srv.rootKey)).status, 200);
  assertError(await P({ enabled: true }, m1.key), 403, 'forbidden', 'enable after root re-disabled');
  assert.equal((await srv.verify({ key: k.key })).code, 'disabled');
  // its own disable it may undo
  assert.equal((await P({ enabled: true }, srv.rootKey)).status, 200);
  assert.equal((await P({ enabled: false }, m1.key)).status, 200);
  assert.equal((await P({ enabled: true }, m1.key)).status, 200);
  assert.equal((await srv.verify({ key: k.key })).code, 'valid');
});

test('self-service races: a root PATCH answered 200 (disable, narrowing) is never undone by concurrent managing-key PATCHes', async () => {
  // "can enable only a key it disabled itself": a managing key racing
  // no-op enables and renames against the root key's disable must not leave
  // the key enabled; nor may the root key's narrowing of a list vanish.
  const ws = await srv.createWorkspace('bounds-enable-race', { max_active_keys: 100 });
  const m = await srv.createKey(ws.id, { name: 'm', scopes: ['keys:manage'] });
  const undone = [];
  for (let i = 0; i < 80 && undone.length < 3; i++) {
    const k = (await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `race ${i}`, ip_allowlist: ['10.0.0.0/8'] }, { token: m.key })).json;
    const mgr = (body) => srv.patch(`/v1/api-keys/${k.id}`, body, { token: m.key });
    const rootBody = i % 2 ? { enabled: false } : { ip_allowlist: ['10.9.0.0/16'] };
    const rs = await Promise.all([mgr({ enabled: true }), mgr({ name: `r${i}` }), srv.patch(`/v1/api-keys/${k.id}`, rootBody), mgr({ enabled: true }), mgr({ meta: { i } })]);
    assert.equal(rs[2].status, 200, rs[2].text);
    const now = (await srv.get(`/v1/api-keys/${k.id}`)).json;
    if (i % 2 ? now.enabled : JSON.stringify(now.ip_allowlist) !== '["10.9.0.0/16"]') {
      undone.push(`iteration ${i}: root ${JSON.stringify(rootBody)} answered 200, the key ended ${JSON.stringify({ enabled: now.enabled, ip_allowlist: now.ip_allowlist })} (answers ${rs.map((r) => r.status)})`);
    }
    await srv.del(`/v1/api-keys/${k.id}`);
  }
  assert.deepEqual(undone, [], 'concurrent managing-key PATCHes silently undid the root key\'s change');
});

test('self-service races: a managing key renaming itself cannot undo the root key\'s disable or narrowing of it', async () => {
  // "A managing key cannot change its own ... allow-lists ... or enabled state
  // (renaming itself ... is fine)".
  const ws = await srv.createWorkspace('bounds-self-race', { max_active_keys: 200 });
  const kept = [];
  for (let i = 0; i < 100 && kept.length < 2; i++) {
    const m = await srv.createKey(ws.id, { name: `m${i}`, scopes: ['keys:manage'], ip_allowlist: ['127.0.0.0/8', '10.0.0.0/8'] });
    const self = (j) => srv.patch(`/v1/api-keys/${m.id}`, { name: `me ${i}.${j}` }, { token: m.key });
    const rootBody = i % 2 ? { enabled: false } : { ip_allowlist: ['10.0.0.0/8'] }; // either way it loses loopback
    const rs = await Promise.all([self(0), self(1), srv.patch(`/v1/api-keys/${m.id}`, rootBody), self(2), self(3)]);
    assert.equal(rs[2].status, 200, rs[2].text);
    const after = await srv.get('/v1/api-keys?limit=1', { token: m.key });
    if (after.status === 200) {
      const now = (await srv.get(`/v1/api-keys/${m.id}`)).json;
      kept.push(`iteration ${i}: root ${JSON.stringify(rootBody)} answered 200, yet the key still manages (enabled ${now.enabled}, ip_allowlist ${JSON.stringify(now.ip_allowlist)}; answers ${rs.map((r) => r.status)})`);
    }
    await srv.del(`/v1/api-keys/${m.id}`);
  }
  assert.deepEqual(kept, [], 'a managing key kept itself alive against the root key');
});

test('self-service rotation: never a later or no expiry, never a longer life for the old key', async () => {
  const ws = await srv.createWorkspace('bounds-rotate', { max_active_keys: 100 });
  const m = await srv.createKey(ws.id, { name: 'm', scopes: ['keys:manage'] }); // no expiry of its own
  const soon = ttlIso(60_000);
  const child = (await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'c', expires_at: soon }, { token: m.key })).json;
  const snap = await srv.snapshot();
  for (const body of [{ expires_at: null }, { expires_at: isoIn(3600) }, { expires_at: new Date(Date.parse(soon) + 1).toISOString(), grace_seconds: 0 }]) {
    const r = await srv.post(`/v1/api-keys/${child.id}/rotate`, body, { token: m.key });
    assert.ok(!(r.json && typeof r.json.key === 'string'), `rotate ${JSON.stringify(body)} handed out a key`);
    assertError(r, 403, 'forbidden', `rotate ${JSON.stringify(body)}`);
  }
  assert.deepEqual(await srv.snapshot(), snap);
  // A long grace does not extend the old key past its own expiry.
  const r = await srv.post(`/v1/api-keys/${child.id}/rotate`, { grace_seconds: 3600 }, { token: m.key });
  assert.equal(r.status, 201, describeRes(r));
  assert.ok(r.json.expires_at !== null && Date.parse(r.json.expires_at) <= Date.parse(soon), `new key expires ${r.json.expires_at}`);
  assert.ok(Date.parse(r.json.old_key.expires_at) <= Date.parse(soon), `old key now expires ${r.json.old_key.expires_at}, after ${soon}`);
  const old = (await srv.get(`/v1/api-keys/${child.id}`)).json;
  assert.ok(Date.parse(old.expires_at) <= Date.parse(soon), `stored old key expires ${old.expires_at}`);
  // An earlier expiry is fine.
  const r2 = await srv.post(`/v1/api-keys/${r.json.id}/rotate`, { expires_at: ttlIso(30_000), grace_seconds: 0 }, { token: m.key });
  assert.ok([201, 409].includes(r2.status), describeRes(r2)); // 409: predecessor still in its grace
});

test('self-service race: 68 concurrent wider creates, patches and rotations store nothing', async () => {
  const ws = await srv.createWorkspace('bounds-race', { max_active_keys: 200 });
  const m = await restrictedManager(srv, ws.id);
  const child = (await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'child' }, asMgr(m))).json;
  const wide = await srv.createKey(ws.id, { name: 'wide (root)' });
  const snap = await srv.snapshot();
  const bodies = widerCreateBodies(m);
  const calls = [];
  for (const b of bodies) {
    calls.push(srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'race', ...b }, asMgr(m)));
    calls.push(srv.patch(`/v1/api-keys/${child.id}`, b, asMgr(m)));
  }
  for (let i = 0; i < 4; i++) {
    calls.push(srv.post(`/v1/api-keys/${wide.id}/rotate`, { grace_seconds: 60 }, asMgr(m)));
    calls.push(srv.patch(`/v1/api-keys/${child.id}`, { ip_allowlist: [] }, asMgr(m)));
    calls.push(srv.patch(`/v1/api-keys/${m.id}`, { expires_at: null }, asMgr(m)));
  }
  const rs = await Promise.all(calls);
  const accepted = rs.filter((r) => r.status < 300).map((r) => r.text.slice(0, 200));
  assert.deepEqual(accepted, [], 'a wider request was accepted under concurrency');
  assert.deepEqual(await srv.snapshot(), snap);
});

test('self-service cache: the manager is bound by its new restrictions the moment the root PATCH answers', async () => {
  const ws = await srv.createWorkspace('bounds-cache', { max_active_keys: 100 });
  const m = await srv.createKey(ws.id, { name: 'm', scopes: ['keys:manage'], ip_allowlist: ['10.0.0.0/8', '127.0.0.0/8'] });
  const failures = [];
  for (let i = 0; i < 10; i++) {
    const narrow = await srv.patch(`/v1/api-keys/${m.id}`, { ip_allowlist: ['10.0.0.0/16', '127.0.0.0/8'] });
    assert.equal(narrow.status, 200, narrow.text);
    const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'stale', ip_allowlist: ['10.1.0.0/16'] }, { token: m.key });
    if (r.status === 201) {
      failures.push(`iteration ${i}: created with the old bound`);
      await srv.del(`/v1/api-keys/${r.json.id}`);
    }
    assert.equal((await srv.patch(`/v1/api-keys/${m.id}`, { ip_allowlist: ['10.0.0.0/8', '127.0.0.0/8'] })).status, 200);
  }
  // The same for a key checked in gateway mode.
  const g = await srv.createKey(ws.id, { name: 'gateway key', ip_allowlist: ['10.0.0.0/8'] });
  for (let i = 0; i < 10; i++) {
    assert.equal((await srv.patch(`/v1/api-keys/${g.id}`, { ip_allowlist: ['10.9.0.0/16'] })).status, 200);
    const r = await rawReq(srv, 'GET', '/v1/auth', { ...bearer(g), 'x-forwarded-for': '10.1.2.3' });
    if (r.status !== 403) failures.push(`iteration ${i}: /v1/auth answered ${r.status} right after the narrowing`);
    assert.equal((await srv.patch(`/v1/api-keys/${g.id}`, { ip_allowlist: ['10.0.0.0/8'] })).status, 200);
    const r2 = await rawReq(srv, 'GET', '/v1/auth', { ...bearer(g), 'x-forwarded-for': '10.1.2.3' });
    if (r2.status !== 200) failures.push(`iteration ${i}: /v1/auth answered ${r2.status} right after the widening`);
  }
  // Shorter expiry, then revocation.
  await srv.patch(`/v1/api-keys/${m.id}`, { expires_at: isoIn(3600) });
  const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'stale', expires_at: isoIn(7200) }, { token: m.key });
  if (r.status === 201) failures.push('created with an expiry past the new one');
  await srv.del(`/v1/api-keys/${m.id}`);
  const after = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'after revoke' }, { token: m.key });
  assertError(after, 401, 'unauthorized', 'manager right after its revocation');
  assert.deepEqual(failures, []);
});

test('self-service endpoint bounds: no wider endpoint list is stored; a literal path inside the caller\'s works', async () => {
  const ws = await srv.createWorkspace('bounds-endpoint', { max_active_keys: 100 });
  // The docs list only IP and referrer restrictions as applying to a managing
  // key's own calls; the endpoint list bounds what it hands out.
  const m = await srv.createKey(ws.id, {
    name: 'endpoint manager',
    scopes: ['keys:manage'],
    endpoint_allowlist: ['GET /v1/products/*', 'GET,POST /v1/orders/**', '/v1/api-keys', '/v1/api-keys/**'],
  });
  const snap = await srv.snapshot();
  const wider = [
    ['/v1/products/*'], // any method
    ['GET,POST /v1/products/*'], // another method
    ['get /v1/products/1'],
    ['GET /v1/products/**'], // ** is wider than *
    ['GET /v1/*/1'],
    ['GET /v1/products/*/x'],
    ['DELETE /v1/orders/1'],
    ['GET /v1/**'],
    ['/**'],
  ];
  // Not wider: "%2A" is a literal (escaped) "*", one product id inside
  // "GET /v1/products/*"; a request path is never read as a pattern.
  const literal = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'literal star', endpoint_allowlist: ['GET /v1/products/%2A'] }, { token: m.key });
  assert.equal(literal.status, 201, describeRes(literal));
  assert.equal((await srv.verify({ key: literal.json.key, method: 'GET', path: '/v1/products/%2A' })).code, 'valid');
  assert.equal((await srv.verify({ key: literal.json.key, method: 'GET', path: '/v1/products/1' })).code, 'endpoint_not_allowed');
  const snapAfterLiteral = await srv.snapshot();
  const leaks = [];
  for (const eps of wider) {
    const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'wider', endpoint_allowlist: eps }, { token: m.key });
    if (r.status === 201) leaks.push(`${JSON.stringify(eps)} -> ${JSON.stringify(r.json.endpoint_allowlist)}`);
    // 400: not a valid pattern at all (a lower-case method); 403: wider.
    else assert.ok([400, 401, 403].includes(r.status), `${JSON.stringify(eps)}: ${describeRes(r)}`);
  }
  // An empty list (no bound) may only mean "as the caller".
  const empty = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'empty', endpoint_allowlist: [] }, { token: m.key });
  if (empty.status === 201) {
    if (JSON.stringify(empty.json.endpoint_allowlist) !== JSON.stringify(m.endpoint_allowlist)) leaks.push(`[] -> ${JSON.stringify(empty.json.endpoint_allowlist)}`);
  } else {
    assert.ok([401, 403].includes(empty.status), `[]: ${describeRes(empty)}`);
    assert.deepEqual(await srv.snapshot(), snapAfterLiteral, 'a refused create stored something');
  }
  assert.deepEqual(leaks, [], 'a wider endpoint list was stored');
  // The positive half: a literal path one of its entries allows.
  const ok = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'narrow', endpoint_allowlist: ['GET /v1/products/42', 'POST /v1/orders/7/items'] }, { token: m.key });
  assert.equal(ok.status, 201, `a managing key with an endpoint allow-list (which covers /v1/api-keys) cannot create a key inside it: ${describeRes(ok)}`);
});

test('self-service usage: management calls are not usage and do not spend the key\'s verification budget', async () => {
  const ws = await srv.createWorkspace('bounds-usage', { max_active_keys: 100 });
  const m = await srv.createKey(ws.id, { name: 'm', scopes: ['keys:manage'], rate_limit: { limit: 3, period_seconds: 60 } });
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await srv.get('/v1/api-keys', { token: m.key })).status);
  statuses.push((await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'x', rate_limit: { limit: 1, period_seconds: 60 } }, { token: m.key })).status);
  await sleep(1300); // usage is written once a second
  const u = await srv.get(`/v1/usage?key_id=${m.id}&granularity=minute`);
  assert.equal(u.status, 200, u.text);
  assert.equal(u.json.total, 0, `management calls counted as usage: ${u.text}`);
  assert.equal(u.json.valid, 0);
  const k = (await srv.get(`/v1/api-keys/${m.id}`)).json;
  assert.equal(k.requests_24h ?? 0, 0, 'requests_24h counts management calls');
  // Management calls are "authentication, not verifications": they take
  // from a rate-limit budget of their own (docs/http-api.md), so after they
  // are limited, the key's verifications still have their whole budget.
  assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429], `management calls: ${statuses}`);
  for (let i = 0; i < 3; i++) {
    assert.equal((await srv.verify({ key: m.key })).code, 'valid', 'management calls spent the verification budget');
  }
  assert.equal((await srv.verify({ key: m.key })).code, 'rate_limited', 'the verification budget is the key\'s own');
});

test('self-service reach: a managing key sees no usage of another environment (or is refused the route)', async () => {
  const ws = await srv.createWorkspace('bounds-usage-env', { max_active_keys: 100 });
  const m = await srv.createKey(ws.id, { name: 'live manager', scopes: ['keys:manage'] });
  const t = await srv.createKey(ws.id, { name: 'test key', environment: 'test' });
  for (let i = 0; i < 7; i++) assert.equal((await srv.verify({ key: t.key })).code, 'valid');
  await sleep(1300);
  assertError(await srv.get(`/v1/usage?key_id=${t.id}`, { token: m.key }), 404, 'not_found', 'usage of a test key');
  for (const q of [`?workspace_id=${ws.id}`, '']) {
    const r = await srv.get(`/v1/usage${q}`, { token: m.key });
    if (r.status === 403) {
      assertError(r, 403, 'insufficient_scope', `GET /v1/usage${q}`);
      continue;
    }
    assert.equal(r.status, 200, describeRes(r));
    assert.equal(r.json.total, 0, `GET /v1/usage${q} as a live managing key shows the test environment's verifications: ${r.text}`);
  }
});

// ---------------------------------------------------------------------------
// Slots and rotation

async function fullWorkspace(limit, name) {
  const ws = await srv.createWorkspace(name, { max_active_keys: limit });
  const keys = [];
  for (let i = 0; i < limit; i++) keys.push(await srv.createKey(ws.id, { name: `slot ${i}` }));
  return { ws, keys };
}

test('slots: concurrent grace rotations of every key in a full workspace take it one over, never further', async () => {
  const { ws, keys } = await fullWorkspace(3, 'slots-concurrent-rotate');
  const rs = await Promise.all(keys.map((k) => srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 600 })));
  const won = rs.filter((r) => r.status === 201);
  for (const r of rs.filter((x) => x.status !== 201)) assertError(r, 409, 'key_limit_reached', 'second grace rotation');
  assert.equal(won.length, 1, `grace rotations accepted: ${rs.map((r) => r.status)}`);
  const secrets = [...keys.map((k) => k.key), ...won.map((r) => r.json.key)];
  assert.ok((await working(srv, secrets)) <= 4);
  assert.ok((await activeKeys(srv, ws.id)) <= 4);
  // During the grace: no create and no other grace rotation, even concurrently.
  const more = await Promise.all([
    srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'more' }),
    srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'more' }),
    ...keys.filter((k) => k.id !== won[0].json.rotated_from).map((k) => srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 60 })),
  ]);
  assert.deepEqual(more.map((r) => r.status), more.map(() => 409), more.map((r) => r.text).join('\n'));
  assert.ok((await working(srv, secrets)) <= 4);
});

test('slots: rotation chains stay within limit+1 (once per slot, once per key)', async () => {
  const { ws, keys } = await fullWorkspace(3, 'slots-chain');
  const secrets = keys.map((k) => k.key);
  const [a, b] = keys;
  const a1 = await srv.post(`/v1/api-keys/${a.id}/rotate`, { grace_seconds: 600 });
  assert.equal(a1.status, 201, a1.text);
  secrets.push(a1.json.key);
  assertError(await srv.post(`/v1/api-keys/${a1.json.id}/rotate`, { grace_seconds: 600 }), 409, 'conflict', 'rotate the replacement while its predecessor works');
  assertError(await srv.post(`/v1/api-keys/${a1.json.id}/rotate`, { grace_seconds: 0 }), 409, 'conflict', 'grace 0 rotation of the replacement while its predecessor works');
  assertError(await srv.post(`/v1/api-keys/${a.id}/rotate`, { grace_seconds: 0 }), 409, 'conflict', 'rotate a key twice');
  assertError(await srv.post(`/v1/api-keys/${b.id}/rotate`, { grace_seconds: 60 }), 409, 'key_limit_reached', 'a second grace');
  const b1 = await srv.post(`/v1/api-keys/${b.id}/rotate`, { grace_seconds: 0 });
  assert.equal(b1.status, 201, b1.text);
  secrets.push(b1.json.key);
  assert.ok((await working(srv, secrets)) <= 4, 'limit+1 during one grace');
  // Revoke the predecessor: the replacement may rotate again, with a grace.
  assert.equal((await srv.del(`/v1/api-keys/${a.id}`)).status, 200);
  const a2 = await srv.post(`/v1/api-keys/${a1.json.id}/rotate`, { grace_seconds: 600 });
  assert.equal(a2.status, 201, a2.text);
  secrets.push(a2.json.key);
  assert.ok((await working(srv, secrets)) <= 4);
  assert.ok((await activeKeys(srv, ws.id)) <= 4);
  // Disable and re-enable the old key during its grace: it needs a slot.
  assert.equal((await srv.patch(`/v1/api-keys/${a1.json.id}`, { enabled: false })).status, 200);
  assertError(await srv.patch(`/v1/api-keys/${a1.json.id}`, { enabled: true }), 409, 'key_limit_reached', 'enable the old key of a rotation during its grace');
  assert.ok((await working(srv, secrets)) <= 3);
});

test('slots: the grace cannot be stretched by clearing or moving the old key\'s expiry', async () => {
  const { ws, keys } = await fullWorkspace(3, 'slots-stretch');
  await srv.patch(`/v1/workspaces/${ws.id}`, { max_active_keys: 4 });
  const m = await srv.createKey(ws.id, { name: 'manager', scopes: ['keys:manage'] }); // the workspace is full: 4 of 4
  const all = [...keys.map((k) => k.key), m.key];
  const r = await srv.post(`/v1/api-keys/${keys[0].id}/rotate`, { grace_seconds: 2 });
  assert.equal(r.status, 201, r.text);
  all.push(r.json.key);
  const stretched = [];
  for (const [body, token] of [[{ expires_at: null }, srv.rootKey], [{ expires_at: isoIn(DAY) }, m.key]]) {
    const p = await srv.patch(`/v1/api-keys/${keys[0].id}`, body, { token });
    if (p.status === 200) stretched.push(`${JSON.stringify(body)} by ${token === m.key ? 'manager' : 'root'}: 200 expires_at ${p.json.expires_at}`);
  }
  await sleep(3200);
  const n = await working(srv, all);
  assert.ok(n <= 4, `after the 2 s grace ${n} keys work in a workspace limited to 4 (${stretched.join('; ')})`);
  assert.ok((await activeKeys(srv, ws.id)) <= 4);
});

test('slots: bringing back expired keys needs room, also when raced', async () => {
  const ws = await srv.createWorkspace('slots-revive', { max_active_keys: 3 });
  const expiring = [];
  for (let i = 0; i < 3; i++) expiring.push(await srv.createKey(ws.id, { name: `exp ${i}`, expires_at: ttlIso(1200) }));
  await sleep(1600);
  for (const k of expiring) assert.equal((await srv.verify({ key: k.key })).code, 'expired');
  assertError(await srv.post(`/v1/api-keys/${expiring[0].id}/rotate`, {}), 409, 'conflict', 'rotate an expired key');
  const fresh = [await srv.createKey(ws.id, { name: 'f1' }), await srv.createKey(ws.id, { name: 'f2' })];
  const rs = await Promise.all([
    srv.patch(`/v1/api-keys/${expiring[0].id}`, { expires_at: null }),
    srv.patch(`/v1/api-keys/${expiring[1].id}`, { expires_at: isoIn(3600) }),
    srv.patch(`/v1/api-keys/${expiring[2].id}`, { expires_at: null }),
    srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'racing create' }),
  ]);
  const won = rs.filter((r) => r.status === 200 || r.status === 201);
  for (const r of rs.filter((x) => !(x.status === 200 || x.status === 201))) assertError(r, 409, 'key_limit_reached', 'revive/create into a full workspace');
  assert.equal(won.length, 1, `revives/creates accepted: ${rs.map((r) => r.status)}`);
  const secrets = [...expiring, ...fresh].map((k) => k.key).concat(won.filter((r) => r.json.key).map((r) => r.json.key));
  assert.ok((await working(srv, secrets)) <= 3);
  assert.ok((await activeKeys(srv, ws.id)) <= 3);
});

test('slots: lowering the limit, then enabling disabled keys (root or manager) needs room', async () => {
  const ws = await srv.createWorkspace('slots-lower', { max_active_keys: 4 });
  const m = await srv.createKey(ws.id, { name: 'mgr', scopes: ['keys:manage'] });
  const ks = [];
  for (let i = 0; i < 3; i++) ks.push((await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `k${i}` }, { token: m.key })).json);
  assert.equal((await srv.patch(`/v1/api-keys/${ks[0].id}`, { enabled: false }, { token: m.key })).status, 200);
  assert.equal((await srv.patch(`/v1/api-keys/${ks[1].id}`, { enabled: false })).status, 200);
  const low = await srv.patch(`/v1/workspaces/${ws.id}`, { max_active_keys: 2 });
  assert.equal(low.status, 200, low.text);
  const rs = await Promise.all([
    srv.patch(`/v1/api-keys/${ks[0].id}`, { enabled: true }, { token: m.key }),
    srv.patch(`/v1/api-keys/${ks[1].id}`, { enabled: true }),
  ]);
  for (const r of rs) assertError(r, 409, 'key_limit_reached', 'enable over a lowered limit');
  assertError(await srv.post(`/v1/api-keys/${ks[2].id}/rotate`, { grace_seconds: 60 }), 409, 'key_limit_reached', 'grace rotation over a lowered limit');
  assert.ok((await working(srv, [m.key, ...ks.map((k) => k.key)])) <= 2);
});

test('slots: racing creates (root and managing key) fill exactly the free slots', async () => {
  const ws = await srv.createWorkspace('slots-race', { max_active_keys: 5 });
  const m = await srv.createKey(ws.id, { name: 'mgr', scopes: ['keys:manage'] });
  const body = { workspace_id: ws.id, environment: 'live', name: 'race' };
  const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => srv.post('/v1/api-keys', body, i % 2 ? { token: m.key } : {})));
  const ok = rs.filter((r) => r.status === 201);
  assert.equal(ok.length, 4, `creates accepted: ${rs.map((r) => r.status)}`);
  for (const r of rs.filter((x) => x.status !== 201)) assertError(r, 409, 'key_limit_reached', 'racing create');
  assert.equal(await activeKeys(srv, ws.id), 5);
  assert.equal(await working(srv, [m.key, ...ok.map((r) => r.json.key)]), 5);
});

test('slots race: a grace-0 rotation raced by PATCHes of the old key still retires the old key (and its slot)', async () => {
  // "rotate with grace_seconds: 0, which replaces the key in its slot"
  const found = [];
  const renames = (k, token, n, tag) => Array.from({ length: n }, (_, j) => srv.patch(`/v1/api-keys/${k.id}`, { name: `${tag}-${j}` }, { token }));
  // Phase 1: fresh keys in a workspace with room, eight renames around each rotation.
  const ws = await srv.createWorkspace('slots-rotate-race', { max_active_keys: 1000 });
  const m = await srv.createKey(ws.id, { name: 'mgr', scopes: ['keys:manage'] });
  for (let i = 0; i < 80 && found.length === 0; i++) {
    const k = await srv.createKey(ws.id, { name: `k${i}` });
    const ps = renames(k, m.key, 8, `n${i}`);
    const rs = await Promise.all([...ps.slice(0, 4), srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 0 }, { token: m.key }), ...ps.slice(4)]);
    const rot = rs[4];
    assert.equal(rot.status, 201, rot.text);
    const old = await srv.verify({ key: k.key });
    if (old.code === 'valid') {
      const stored = (await srv.get(`/v1/api-keys/${k.id}`)).json;
      found.push(`room, iteration ${i}: ${k.id} still valid after its grace-0 rotation answered 201 (old_key.expires_at ${rot.json.old_key.expires_at}; stored expires_at ${stored.expires_at}, status ${stored.status})`);
    }
    await srv.del(`/v1/api-keys/${rot.json.id}`);
    await srv.del(`/v1/api-keys/${k.id}`);
  }
  // Phase 2: a full workspace (limit 3), rotating the replacements in turn.
  const full = await srv.createWorkspace('slots-rotate-race-full', { max_active_keys: 3 });
  const fm = await srv.createKey(full.id, { name: 'mgr', scopes: ['keys:manage'] });
  const current = [await srv.createKey(full.id, { name: 'x' }), await srv.createKey(full.id, { name: 'y' })];
  const secrets = [fm.key, ...current.map((k) => k.key)];
  for (let i = 0; i < 100; i++) {
    const k = current[i % 2];
    const ps = renames(k, fm.key, 3, `f${i}`);
    const rs = await Promise.all([ps[0], ps[1], srv.post(`/v1/api-keys/${k.id}/rotate`, { grace_seconds: 0 }, { token: fm.key }), ps[2]]);
    if (rs[2].status !== 201) continue;
    secrets.push(rs[2].json.key);
    current[i % 2] = rs[2].json;
  }
  const n = await working(srv, secrets);
  if (n > 3) found.push(`full workspace: ${n} keys work in a workspace limited to 3 (active_keys ${await activeKeys(srv, full.id)})`);
  assert.deepEqual(found, []);
});

test('slots: a revoked key cannot be rotated, patched or brought back', async () => {
  const ws = await srv.createWorkspace('slots-revoked', { max_active_keys: 2 });
  const k = await srv.createKey(ws.id, { name: 'gone' });
  await srv.del(`/v1/api-keys/${k.id}`);
  assertError(await srv.post(`/v1/api-keys/${k.id}/rotate`, {}), 409, 'key_revoked', 'rotate revoked');
  assertError(await srv.patch(`/v1/api-keys/${k.id}`, { enabled: true }), 409, 'key_revoked', 'enable revoked');
  assertError(await srv.patch(`/v1/api-keys/${k.id}`, { expires_at: isoIn(3600) }), 409, 'key_revoked', 'expiry of revoked');
  assert.equal((await srv.verify({ key: k.key })).code, 'revoked');
});

// ---------------------------------------------------------------------------
// Rate limits

test('rate limits: every key of a rotation lineage shares one budget, on both verification routes', async () => {
  const ws = await srv.createWorkspace('rate-lineage', { max_active_keys: 10 });
  const a = await srv.createKey(ws.id, { name: 'a', rate_limit: { limit: 4, period_seconds: 60 } });
  assert.equal((await srv.verify({ key: a.key })).code, 'valid');
  assert.equal((await srv.auth(bearer(a))).status, 200);
  const b = (await srv.post(`/v1/api-keys/${a.id}/rotate`, { grace_seconds: 600 })).json;
  assert.equal((await srv.verify({ key: b.key })).code, 'valid');
  assert.equal((await srv.auth(bearer(b))).status, 200);
  assert.equal((await srv.verify({ key: b.key })).code, 'rate_limited', 'the new key has a budget of its own');
  assert.equal((await srv.verify({ key: a.key })).code, 'rate_limited');
  await srv.del(`/v1/api-keys/${a.id}`);
  const c = (await srv.post(`/v1/api-keys/${b.id}/rotate`, { grace_seconds: 0 })).json;
  assert.equal((await srv.verify({ key: c.key })).code, 'rate_limited', 'a later key of the lineage has a budget of its own');
  const g = await srv.auth(bearer(c));
  assertError(g, 429, 'rate_limited', 'gateway');
  assert.ok(g.headers.get('retry-after'), '429 carries Retry-After');
});

test('rate limits: the deployment default is what a managing key without its own rate limit is compared by', async () => {
  const ws = await srvU.createWorkspace('rate-default', { max_active_keys: 50 });
  const m = await srvU.createKey(ws.id, { name: 'mgr', scopes: ['keys:manage'] }); // default 1000/60 applies
  const snap = await srvU.snapshot();
  for (const rl of [{ limit: 5000, period_seconds: 60 }, { limit: 1001, period_seconds: 60 }, { limit: 1000, period_seconds: 59 }, { limit: 17, period_seconds: 1 }]) {
    assertError(await srvU.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'x', rate_limit: rl }, { token: m.key }), 403, 'forbidden', `rate ${JSON.stringify(rl)}`);
  }
  assert.deepEqual(await srvU.snapshot(), snap);
  const ok = await srvU.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'ok', rate_limit: { limit: 1000, period_seconds: 60 } }, { token: m.key });
  assert.equal(ok.status, 201, ok.text);
  // A manager with its own, lower limit cannot clear a child's (the child would get the higher default).
  const m2 = await srvU.createKey(ws.id, { name: 'mgr2', scopes: ['keys:manage'], rate_limit: { limit: 10, period_seconds: 60 } });
  const c = (await srvU.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'c' }, { token: m2.key })).json;
  assert.deepEqual(c.rate_limit, { limit: 10, period_seconds: 60 });
  assertError(await srvU.patch(`/v1/api-keys/${c.id}`, { rate_limit: null }, { token: m2.key }), 403, 'forbidden', 'clear a child rate limit');
});

// ---------------------------------------------------------------------------
// Gateway mode: forwarded headers from a trusted proxy (this client, loopback)

let gw; // keys for the gateway tests
async function gatewayKeys() {
  if (gw) return gw;
  const ws = await srv.createWorkspace('gateway', { max_active_keys: 100 });
  gw = {
    ws,
    ep: await srv.createKey(ws.id, { name: 'endpoint-limited', endpoint_allowlist: ['GET /v1/products/*', 'GET /v1/open/**'] }),
    ip: await srv.createKey(ws.id, { name: 'ip-limited', ip_allowlist: ['10.0.0.0/8'] }),
    plain: await srv.createKey(ws.id, { name: 'plain', scopes: ['admin'] }),
    scoped: await srv.createKey(ws.id, { name: 'scoped', scopes: ['products:read'] }),
    testEnv: await srv.createKey(ws.id, { name: 'test env', environment: 'test' }),
    ref: await srv.createKey(ws.id, { name: 'referrer-limited', referrer_allowlist: ['https://app.example.com/**'] }),
  };
  return gw;
}

test('gateway: conflicting method/URI header sets are refused 400, agreeing ones are fine', async () => {
  const { ep } = await gatewayKeys();
  const A = bearer(ep);
  const bad = [
    { 'x-original-uri': '/v1/products/1', 'x-forwarded-uri': '/v1/admin' },
    { 'x-original-uri': '/v1/admin', 'x-forwarded-uri': '/v1/products/1' },
    { 'x-original-uri': '/v1/products/1', 'x-original-method': 'GET', 'x-forwarded-method': 'DELETE' },
    { 'x-forwarded-uri': '/v1/products/1', 'x-original-method': 'DELETE', 'x-forwarded-method': 'GET' },
    { 'x-original-uri': '/v1/products/1', 'x-forwarded-uri': '/v1/products/1?x=1' },
  ];
  for (const h of bad) assertError(await rawReq(srv, 'GET', '/v1/auth', { ...A, ...h }), 400, 'invalid_request', JSON.stringify(h));
  // Envoy's path after /v1/auth against a header set.
  assertError(await rawReq(srv, 'GET', '/v1/auth/v1/products/1', { ...A, 'x-original-uri': '/v1/admin' }), 400, 'invalid_request', 'envoy path vs X-Original-URI');
  assertError(await rawReq(srv, 'GET', '/v1/auth/v1/products/1', { ...A, 'x-forwarded-uri': '/v1/admin' }), 400, 'invalid_request', 'envoy path vs X-Forwarded-Uri');
  for (const h of [
    { 'x-original-uri': '/v1/products/1', 'x-forwarded-uri': '/v1/products/1' },
    { 'x-original-uri': '/v1/products/1', 'x-original-method': 'GET', 'x-forwarded-method': 'GET' },
  ]) {
    const r = await rawReq(srv, 'GET', '/v1/auth', { ...A, ...h });
    assert.equal(r.status, 200, `${JSON.stringify(h)}: ${describeRes(r)}`);
  }
});

test('gateway: Envoy\'s request method and a method header that names another method are refused 400', async () => {
  // Envoy (path_prefix /v1/auth) sends the original method as the request's
  // method; a client can add X-Original-Method or X-Forwarded-Method.
  const { ep } = await gatewayKeys(); // GET /v1/products/* only
  const A = bearer(ep);
  assertError(await rawReq(srv, 'DELETE', '/v1/auth/v1/products/1', A), 403, 'endpoint_not_allowed', 'plain Envoy DELETE');
  const resolved = [];
  for (const [method, h] of [
    ['DELETE', { 'x-original-method': 'GET' }],
    ['POST', { 'x-forwarded-method': 'GET' }],
    ['PUT', { 'x-original-method': 'GET', 'x-forwarded-method': 'GET' }],
  ]) {
    const r = await rawReq(srv, method, '/v1/auth/v1/products/1', { ...A, ...h });
    if (r.status === 200) resolved.push(`${method} /v1/auth/v1/products/1 with ${JSON.stringify(h)} -> 200 (a GET-only key allowed a ${method})`);
    else assertError(r, 400, 'invalid_request', `${method} with ${JSON.stringify(h)}`);
  }
  assert.deepEqual(resolved, [], 'two methods were resolved in the client\'s favour');
  const same = await rawReq(srv, 'GET', '/v1/auth/v1/products/1', { ...A, 'x-forwarded-method': 'GET' });
  assert.equal(same.status, 200, describeRes(same));
});

test('gateway: forwarded headers repeated with different values are refused 400', async () => {
  const { ep } = await gatewayKeys();
  const A = bearer(ep);
  const cases = [
    { 'x-original-uri': ['/v1/products/1', '/v1/admin'] },
    { 'x-original-uri': ['/v1/admin', '/v1/products/1'] },
    { 'x-forwarded-uri': ['/v1/products/1', '/v1/admin'] },
    { 'x-original-uri': '/v1/products/1', 'x-original-method': ['GET', 'DELETE'] },
    { 'x-forwarded-uri': '/v1/products/1', 'x-forwarded-method': ['GET', 'DELETE'] },
    { 'x-original-uri': '/v1/products/1', 'x-real-ip': ['10.1.2.3', '192.0.2.1'] },
  ];
  for (const h of cases) assertError(await rawReq(srv, 'GET', '/v1/auth', { ...A, ...h }), 400, 'invalid_request', JSON.stringify(h));
  const same = await rawReq(srv, 'GET', '/v1/auth', { ...A, 'x-original-uri': ['/v1/products/1', '/v1/products/1'] });
  assert.equal(same.status, 200, describeRes(same));
});

// One test per header, so each shows on its own.
for (const [name, build] of [
  ['Authorization', (g) => ({ authorization: [`Bearer ${g.ep.key}`, `Bearer ${g.plain.key}`] })],
  ['X-API-Key', (g) => ({ 'x-api-key': [g.ep.key, g.plain.key] })],
  ['Referer', (g) => ({ ...bearer(g.ref), referer: ['https://app.example.com/a', 'https://evil.example.org/'] })],
  ['X-Keyward-Required-Scopes', (g) => ({ ...bearer(g.scoped), 'x-keyward-required-scopes': ['products:read', 'admin'] })],
  ['X-Keyward-Required-Environment', (g) => ({ ...bearer(g.testEnv), 'x-keyward-required-environment': ['test', 'live'] })],
]) {
  test(`gateway: ${name} repeated with different values is refused 400, never resolved`, async () => {
    const g = await gatewayKeys();
    const h = build(g);
    // /v1/admin: the endpoint-limited key is refused there, the plain one is not
    const fwd = name === 'Authorization' || name === 'X-API-Key' ? { 'x-original-uri': '/v1/admin' } : {};
    const r = await rawReq(srv, 'GET', '/v1/auth', { ...fwd, ...h });
    // Reversing the order must not change the answer either.
    const rev = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? [...v].reverse() : v]));
    const r2 = await rawReq(srv, 'GET', '/v1/auth', { ...fwd, ...rev });
    assert.ok(r.status !== 200 && r2.status !== 200, `${name} repeated: ${r.status} / reversed ${r2.status} (one order passes)`);
    assertError(r, 400, 'invalid_request', `${name} repeated`);
    assertError(r2, 400, 'invalid_request', `${name} repeated, reversed`);
  });
}

test('gateway: a credential in both Authorization and X-API-Key with different keys is refused 400', async () => {
  const g = await gatewayKeys();
  const fwd = { 'x-original-uri': '/v1/admin' }; // refused for the endpoint-limited key, fine for the plain one
  const r1 = await rawReq(srv, 'GET', '/v1/auth', { ...fwd, ...bearer(g.ep), 'x-api-key': g.plain.key });
  const r2 = await rawReq(srv, 'GET', '/v1/auth', { ...fwd, ...bearer(g.plain), 'x-api-key': g.ep.key });
  assertError(r1, 400, 'invalid_request', 'Authorization=endpoint-limited, X-API-Key=plain');
  assertError(r2, 400, 'invalid_request', 'Authorization=plain, X-API-Key=endpoint-limited');
  const same = await rawReq(srv, 'GET', '/v1/auth', { ...fwd, ...bearer(g.plain), 'x-api-key': g.plain.key }); // one credential, sent twice
  assert.equal(same.status, 200, describeRes(same));
});

test('gateway: X-Real-IP and X-Forwarded-For must name the same client; equal forms are equal', async () => {
  const { ip } = await gatewayKeys();
  const A = bearer(ip);
  for (const h of [
    { 'x-forwarded-for': '192.0.2.1', 'x-real-ip': '10.1.2.3' },
    { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '192.0.2.1' },
    { 'x-forwarded-for': '10.1.2.3, 192.0.2.1', 'x-real-ip': '10.1.2.3' }, // XFF's client is 192.0.2.1
  ]) assertError(await rawReq(srv, 'GET', '/v1/auth', { ...A, ...h }), 400, 'invalid_request', JSON.stringify(h));
  for (const h of [
    { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '::ffff:10.1.2.3' },
    { 'x-forwarded-for': '::ffff:a01:203', 'x-real-ip': '10.1.2.3' },
    { 'x-forwarded-for': '192.0.2.1, 10.1.2.3', 'x-real-ip': '10.1.2.3' },
  ]) {
    const r = await rawReq(srv, 'GET', '/v1/auth', { ...A, ...h });
    assert.equal(r.status, 200, `${JSON.stringify(h)}: ${describeRes(r)}`);
  }
});

test('gateway: forwarded values that are not addresses are refused 400 (both headers, management too)', async () => {
  const { ip } = await gatewayKeys();
  const A = bearer(ip);
  const notAddresses = ['010.1.2.3', '10.1.2.3:80', '[::ffff:10.1.2.3]:80', 'fe80::1%eth0', 'fe80::1%25eth0', '', 'garbage', '0x0a.1.2.3', '167838211', '10.1.515', '10.1.2.3.4', '10.1.2.256', '1.2.3.4/32', '10.1.2.3,', '10.1.2.3, garbage', '10.1.2.3, 127.0.0.1, unknown', '::ffff:10.1.2.3:80', '1::2::3', '10.1.2.3 10.1.2.4'];
  const accepted = [];
  for (const v of notAddresses) {
    for (const header of ['x-forwarded-for', 'x-real-ip']) {
      if (header === 'x-real-ip' && v.includes(',')) continue;
      const r = await rawReq(srv, 'GET', '/v1/auth', { ...A, [header]: v });
      if (r.status !== 400) accepted.push(`${header}: ${JSON.stringify(v)} -> ${r.status}`);
      else assertError(r, 400, 'invalid_request', `${header}: ${v}`);
    }
  }
  assert.deepEqual(accepted, []);
  // The management API reads the address the same way.
  assertError(await rawReq(srv, 'GET', '/v1/workspaces', { ...bearer(srv.rootKey), 'x-forwarded-for': '010.1.2.3' }), 400, 'invalid_request', 'management XFF');
  assertError(await rawReq(srv, 'GET', '/v1/workspaces', { ...bearer(srv.rootKey), 'x-real-ip': ['10.1.2.3', '10.1.2.4'] }), 400, 'invalid_request', 'management X-Real-IP twice');
  assertError(await srv.post('/v1/keys/verify', { key: ip.key, ip: '010.1.2.3' }), 400, 'invalid_request', 'verify ip with a leading zero');
  assertError(await srv.post('/v1/keys/verify', { key: ip.key, ip: 'fe80::1%eth0' }), 400, 'invalid_request', 'verify ip with a zone');
});

test('gateway: the client is the right-most untrusted X-Forwarded-For entry (every entry trusted: the left-most)', async () => {
  const { ip } = await gatewayKeys();
  const A = bearer(ip);
  const expect = [
    ['10.1.2.3', 200],
    ['192.0.2.1, 10.1.2.3', 200],
    ['10.1.2.3, 192.0.2.1', 403], // a client-added entry on the left
    ['10.1.2.3, 127.0.0.1', 200], // trusted proxy skipped
    ['10.1.2.3, ::ffff:127.0.0.1', 200], // the same proxy in mapped form
    ['10.1.2.3, ::1', 200],
    ['192.0.2.1, 10.1.2.3, 127.0.0.9, 127.0.0.1', 200],
    ['127.0.0.5, 127.0.0.1', 403], // all trusted: the left-most, not in 10/8
    ['::ffff:10.1.2.3', 200],
    ['::10.1.2.3', 403], // IPv4-compatible is not IPv4-mapped
  ];
  for (const [xff, status] of expect) {
    const r = await rawReq(srv, 'GET', '/v1/auth', { ...A, 'x-forwarded-for': xff });
    assert.equal(r.status, status, `X-Forwarded-For: ${xff}: ${describeRes(r)}`);
  }
  // Repeated X-Forwarded-For headers read as one list, right-most entry last.
  const r = await rawReq(srv, 'GET', '/v1/auth', { ...A, 'x-forwarded-for': ['10.1.2.3', '192.0.2.1'] });
  assert.notEqual(r.status, 200, `repeated XFF whose last entry is outside the list: ${describeRes(r)}`);
});

const CANONICAL_OK = ['/v1/products/1', '/v1/open', '/v1/open/a/b', '/v1/products/%20', '/v1/products/%C3%A9', '/v1/products/%25', '/v1/products/1?x=/../admin'];
const NOT_CANONICAL = [
  // the docs' list
  'http://host/v1/open/a', '*', 'v1/open/a', '/v1/open//a', '//v1/open/a', '/v1/open/./a', '/v1/open/../admin', '/v1/open/a/..', '/v1/open/a/.',
  '/v1/open\\..\\admin', '/v1/open/a;b', '/v1/products/1;jsessionid=x', '/v1/open/a b', '/v1/open/a\tb', '/v1/open/\u00e9', '/v1/open/a"b', '/v1/open/a<b>',
  '/v1/open/%41', '/v1/open/%2E', '/v1/open/%2e%2e/admin', '/v1/open/.%2e/admin', '/v1/open/%2e./admin', '/v1/open/%7E', '/v1/open/%7e',
  '/v1/open/%2F', '/v1/open/a%2fb', '/v1/open/%5C', '/v1/open/%5c..%5cadmin', '/v1/open/%3F', '/v1/open/%23', '/v1/open/%3B', '/v1/open/%3b',
  '/v1/open/%00', '/v1/open/%0A', '/v1/open/%0d%0a', '/v1/open/%', '/v1/open/%g1', '/v1/open/%2', '/v1/open/%252e%252e/admin', '/v1/open/%2525',
  '/v1/open/a#frag', '/v1/open/' + 'a'.repeat(8200),
  // more
  '/v1/open/..;/admin', '/v1/open/%2e%2e%2fadmin', '/v1/open/%u002e%u002e/admin', '/v1/open/a|b', '/v1/open/a{b}', '/v1/open/a^b', '/v1/open/a`b', '/v1/open/a[b]',
  '/v1/open/\u2024\u2024/admin', '/v1/products/%31', '/v1/open/%5F', '/v1/open/%2D', '/v1/open/a%09b', '/v1/open/%7F',
];

test('gateway: non-canonical paths answer endpoint_not_allowed through every channel', async () => {
  const { ep } = await gatewayKeys();
  const A = bearer(ep);
  const header = (p) => Buffer.from(p, 'utf8').toString('latin1'); // send the UTF-8 bytes
  for (const p of CANONICAL_OK) {
    for (const h of ['x-original-uri', 'x-forwarded-uri']) {
      const r = await rawReq(srv, 'GET', '/v1/auth', { ...A, [h]: header(p) });
      assert.equal(r.status, 200, `${h}: ${p}: ${describeRes(r)}`);
    }
    assert.equal((await srv.verify({ key: ep.key, method: 'GET', path: p })).code, 'valid', `verify ${p}`);
  }
  const passed = [];
  for (const p of NOT_CANONICAL) {
    const label = p.length > 60 ? `${p.slice(0, 20)}…(${p.length} bytes)` : JSON.stringify(p);
    for (const h of ['x-original-uri', 'x-forwarded-uri']) {
      const r = await rawReq(srv, 'GET', '/v1/auth', { ...A, [h]: header(p) });
      if (r.status === 200) passed.push(`${h}: ${label}`);
      else if (!(r.status === 403 && r.json?.error === 'endpoint_not_allowed')) passed.push(`${h}: ${label} -> ${r.status} ${r.text.slice(0, 80)} (not endpoint_not_allowed)`);
    }
    const v = await srv.post('/v1/keys/verify', { key: ep.key, method: 'GET', path: p });
    if (v.status !== 200 || v.json.code !== 'endpoint_not_allowed') passed.push(`verify path ${label} -> ${v.status} ${v.json?.code}`);
    // Envoy: the path after /v1/auth, sent byte for byte where HTTP allows it.
    if (p.startsWith('/') && !/[\s\u0080-\uffff]/.test(p)) {
      let r;
      try {
        r = await rawReq(srv, 'GET', `/v1/auth${p}`, A);
      } catch {
        r = null; // the client library refused to send it
      }
      if (r && r.status === 200) passed.push(`envoy /v1/auth${label}`);
    }
  }
  assert.deepEqual(passed, [], 'non-canonical paths that matched the allow-list');
});

test('gateway: escapes of overlong UTF-8 dots (%C0%AE) are not canonical ("two parsers could read differently")', async () => {
  const { ep } = await gatewayKeys();
  const A = bearer(ep);
  const passed = [];
  for (const p of ['/v1/open/%C0%AE%C0%AE/admin', '/v1/open/%c0%ae/admin', '/v1/open/%E0%80%AE%E0%80%AE/admin', '/v1/open/%C0%AF..%C0%AFadmin']) {
    const r = await rawReq(srv, 'GET', '/v1/auth', { ...A, 'x-original-uri': p });
    if (r.status === 200) passed.push(p);
  }
  assert.deepEqual(passed, [], 'overlong UTF-8 encodings of "." and "/" matched GET /v1/open/**');
});

test('gateway: the query never widens a match and a method compares exactly', async () => {
  const { ep } = await gatewayKeys();
  const A = bearer(ep);
  for (const [m, uri, status] of [
    ['GET', '/v1/admin?/v1/products/1', 403],
    ['GET', '/v1/admin?x=/v1/open/a', 403],
    ['get', '/v1/products/1', 403],
    ['POST', '/v1/products/1', 403],
    ['', '/v1/products/1', 403],
    ['GET', '', 403],
    ['GET', '/v1/products/1', 200],
  ]) {
    const r = await rawReq(srv, 'GET', '/v1/auth', { ...A, 'x-original-uri': uri, 'x-original-method': m });
    if (uri.startsWith('/') && m === 'GET') {
      const e = await rawReq(srv, 'GET', `/v1/auth${uri}`, A); // Envoy
      assert.equal(e.status === 200, status === 200, `Envoy GET /v1/auth${uri}: ${describeRes(e)}`);
    }
    if (status === 200) assert.equal(r.status, 200, `${m} ${uri}: ${describeRes(r)}`);
    else assert.ok(r.status === 403 || r.status === 400, `${JSON.stringify(m)} ${JSON.stringify(uri)}: ${describeRes(r)}`);
  }
});

// ---------------------------------------------------------------------------
// Untrusted peer: no forwarded header counts

test('untrusted peer: forwarded headers never count; a trusted peer\'s do', async () => {
  const ws = await srvU.createWorkspace('untrusted', { max_active_keys: 50 });
  const ep = await srvU.createKey(ws.id, { name: 'ep', endpoint_allowlist: ['GET /v1/products/*'] });
  const ip10 = await srvU.createKey(ws.id, { name: 'ip10', ip_allowlist: ['10.0.0.0/8'] });
  const local = await srvU.createKey(ws.id, { name: 'local', ip_allowlist: ['127.0.0.1/32'] });
  const from1 = (method, target, headers) => peer(srvU, '127.0.0.1', method, target, headers);
  const from2 = (method, target, headers) => peer(srvU, '127.0.0.2', method, target, headers);
  // endpoint list: forwarded URI/method and Envoy's path are ignored
  for (const [target, h] of [
    ['/v1/auth', { 'x-original-uri': '/v1/products/1', 'x-original-method': 'GET' }],
    ['/v1/auth', { 'x-forwarded-uri': '/v1/products/1', 'x-forwarded-method': 'GET' }],
    ['/v1/auth/v1/products/1', {}],
  ]) {
    const r = await from1('GET', target, { ...bearer(ep), ...h });
    assertError(r, 403, 'endpoint_not_allowed', `untrusted ${target} ${JSON.stringify(h)}`);
  }
  // addresses: the TCP peer is the client
  for (const h of [{ 'x-forwarded-for': '10.1.2.3' }, { 'x-real-ip': '10.1.2.3' }, { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3' }]) {
    assertError(await from1('GET', '/v1/auth', { ...bearer(ip10), ...h }), 403, 'ip_not_allowed', `untrusted ${JSON.stringify(h)}`);
    const r = await from1('GET', '/v1/auth', { ...bearer(local), ...h });
    assert.equal(r.status, 200, `untrusted peer 127.0.0.1 with ${JSON.stringify(h)}: ${describeRes(r)}`);
  }
  // a managing key limited to 10/8 cannot borrow an address either
  const m10 = await srvU.createKey(ws.id, { name: 'm10', scopes: ['keys:manage'], ip_allowlist: ['10.0.0.0/8'] });
  assertError(await from1('GET', '/v1/api-keys', { ...bearer(m10), 'x-forwarded-for': '10.1.2.3' }), 401, 'unauthorized', 'untrusted management with XFF');
  // From the trusted proxy 127.0.0.2 they count.
  assert.equal((await from2('GET', '/v1/auth', { ...bearer(ep), 'x-original-uri': '/v1/products/1' })).status, 200);
  assert.equal((await from2('GET', '/v1/auth/v1/products/1', bearer(ep))).status, 200);
  assert.equal((await from2('GET', '/v1/auth', { ...bearer(ip10), 'x-forwarded-for': '10.1.2.3' })).status, 200);
  assertError(await from2('GET', '/v1/auth', { ...bearer(local), 'x-forwarded-for': '10.1.2.3' }), 403, 'ip_not_allowed', 'trusted peer, other client');
  assertError(await from2('GET', '/v1/auth', { ...bearer(ip10), 'x-forwarded-for': '10.1.2.3, 127.0.0.1' }), 403, 'ip_not_allowed', '127.0.0.1 is not trusted on this server');
  assert.equal((await from2('GET', '/v1/api-keys', { ...bearer(m10), 'x-forwarded-for': '10.1.2.3' })).status, 200);
});

// ---------------------------------------------------------------------------
// Referrers

test('referrers: host wildcards, user info, backslashes, ports, schemes, dots and paths', async () => {
  const ws = await srv.createWorkspace('referrers', { max_active_keys: 50 });
  const host = await srv.createKey(ws.id, { name: 'host', referrer_allowlist: ['*.example.com'] });
  const url = await srv.createKey(ws.id, { name: 'url', referrer_allowlist: ['https://app.example.com/x/**'] });
  const wild = await srv.createKey(ws.id, { name: 'wild', referrer_allowlist: ['https://*.example.com/*'] });
  const cases = [
    [host, 'https://a.example.com/', 'valid'],
    [host, 'https://a.b.example.com/page', 'valid'],
    [host, 'http://a.example.com:8080/any/page', 'valid'],
    [host, 'https://example.com/', 'referrer_not_allowed'], // not a subdomain
    [host, 'https://example.com.evil.com/', 'referrer_not_allowed'],
    [host, 'https://evilexample.com/', 'referrer_not_allowed'],
    [host, 'https://a.example.com@evil.com/', 'referrer_not_allowed'],
    [host, 'https://evil.com@a.example.com/', 'referrer_not_allowed'],
    [host, 'https://user:pw@a.example.com/', 'referrer_not_allowed'],
    [host, 'https://evil.com\\@a.example.com/', 'referrer_not_allowed'],
    [host, 'https://a.example.com\\evil.com/', 'referrer_not_allowed'],
    [host, 'https://evil.com/.example.com/', 'referrer_not_allowed'],
    [host, 'https://evil.com/?.example.com', 'referrer_not_allowed'],
    [host, 'https://evil.com#.example.com', 'referrer_not_allowed'],
    [host, 'https://a.example.com./', 'referrer_not_allowed'],
    [host, 'https://a%2Eexample.com/', 'referrer_not_allowed'],
    [host, 'https://evil%2Ecom.example.com/', 'referrer_not_allowed'],
    [host, 'https://evil.com%2F.example.com/', 'referrer_not_allowed'],
    [host, 'https://a.example.com%2F@evil.com/', 'referrer_not_allowed'],
    [host, 'https://a example.com/', 'referrer_not_allowed'],
    [host, 'https:// a.example.com/', 'referrer_not_allowed'],
    [host, 'https://.example.com/', 'referrer_not_allowed'],
    [host, 'https://*.example.com/', 'referrer_not_allowed'],
    [url, 'https://app.example.com/x/y', 'valid'],
    [url, 'https://app.example.com/x', 'valid'],
    [url, 'https://app.example.com/x/y?q=/../admin', 'valid'],
    [url, 'https://app.example.com/xy', 'referrer_not_allowed'],
    [url, 'https://app.example.com/', 'referrer_not_allowed'],
    [url, 'http://app.example.com/x/y', 'referrer_not_allowed'],
    [url, 'https://app.example.com:8443/x/y', 'referrer_not_allowed'],
    [url, 'https://sub.app.example.com/x/y', 'referrer_not_allowed'],
    [url, 'https://app.example.com./x/y', 'referrer_not_allowed'],
    [url, 'https://app.example.com/x/../admin', 'referrer_not_allowed'],
    [url, 'https://app.example.com/x/%2e%2e/admin', 'referrer_not_allowed'],
    [url, 'https://app.example.com/x/./y', 'referrer_not_allowed'],
    [url, 'https://app.example.com//x/y', 'referrer_not_allowed'],
    [url, 'https://app.example.com/x\\y', 'referrer_not_allowed'],
    [url, 'https://app.example.com/x/;/y', 'referrer_not_allowed'],
    [url, 'https://app.example.com/x/%2Fy', 'referrer_not_allowed'],
    [url, 'https://evil.com/app.example.com/x/y', 'referrer_not_allowed'],
    [url, 'https://evil.com\\@app.example.com/x/y', 'referrer_not_allowed'],
    [wild, 'https://a.example.com/page', 'valid'],
    [wild, 'https://evil.com/.example.com/', 'referrer_not_allowed'],
    [wild, 'https://a.example.com/a/b', 'referrer_not_allowed'],
    [wild, 'https://a.example.com:8443/page', 'referrer_not_allowed'],
  ];
  const wrong = [];
  for (const [k, ref, code] of cases) {
    const v = await srv.verify({ key: k.key, referrer: ref });
    if (v.code !== code) wrong.push(`${k.referrer_allowlist[0]} vs ${JSON.stringify(ref)}: ${v.code}, expected ${code}`);
    // gateway mode reads Referer the same way (where HTTP can carry it)
    if (!/[\s]/.test(ref)) {
      const g = await rawReq(srv, 'GET', '/v1/auth', { ...bearer(k), referer: ref });
      if ((g.status === 200) !== (code === 'valid')) wrong.push(`gateway ${k.referrer_allowlist[0]} vs ${JSON.stringify(ref)}: ${g.status}`);
    }
  }
  assert.deepEqual(wrong, []);
});

// ---------------------------------------------------------------------------
// Failed-verification budget (srvU: 5 a minute)

test('budget: every form of one address shares one budget, then even a valid key gets 429', async () => {
  const ws = await srvU.createWorkspace('budget-forms', { max_active_keys: 50 });
  const good = await srvU.createKey(ws.id, { name: 'good' });
  const from2 = (headers) => peer(srvU, '127.0.0.2', 'GET', '/v1/auth', headers); // trusted proxy here
  const forms = [
    { 'x-forwarded-for': '10.9.9.9' },
    { 'x-forwarded-for': '::ffff:10.9.9.9' },
    { 'x-real-ip': '::FFFF:10.9.9.9' },
    { 'x-forwarded-for': '::ffff:a09:909' },
    { 'x-forwarded-for': '0:0:0:0:0:ffff:10.9.9.9, 127.0.0.2' },
  ];
  for (const h of forms) assertError(await from2({ ...bearer(fabricateKey()), ...h }), 401, 'invalid', `failure with ${JSON.stringify(h)}`);
  for (const h of [{ 'x-forwarded-for': '0000:0000:0000:0000:0000:ffff:0a09:0909' }, { 'x-real-ip': '10.9.9.9' }]) {
    const r = await from2({ ...bearer(good), ...h });
    assertError(r, 429, 'rate_limited', `valid key from 10.9.9.9 as ${JSON.stringify(h)}`);
    assert.ok(r.headers.get('retry-after'), '429 carries Retry-After');
  }
  const v = await srvU.verify({ key: good.key, ip: '::ffff:10.9.9.9' });
  assert.equal(v.code, 'rate_limited', `verify with ip ::ffff:10.9.9.9: ${JSON.stringify(v)}`);
  // Values that are not addresses get no budget of their own: refused.
  for (const bad of ['010.9.9.9', '10.9.9.9:1', '[::ffff:10.9.9.9]:1']) {
    assertError(await from2({ ...bearer(good), 'x-forwarded-for': bad }), 400, 'invalid_request', bad);
  }
  // Another address is unaffected.
  assert.equal((await from2({ ...bearer(good), 'x-forwarded-for': '10.9.9.8' })).status, 200);
});

test('budget: an untrusted peer cannot buy fresh budgets with forwarded headers', async () => {
  const ws = await srvU.createWorkspace('budget-untrusted', { max_active_keys: 50 });
  const good = await srvU.createKey(ws.id, { name: 'good' });
  const from3 = (headers) => peer(srvU, '127.0.0.3', 'GET', '/v1/auth', headers);
  for (let i = 0; i < 5; i++) {
    const h = i % 2 ? { 'x-real-ip': `10.0.0.${i + 1}` } : { 'x-forwarded-for': `10.0.0.${i + 1}` };
    assertError(await from3({ ...bearer(fabricateKey()), ...h }), 401, 'invalid', `failure ${i}`);
  }
  assertError(await from3({ ...bearer(good), 'x-forwarded-for': '10.0.0.99' }), 429, 'rate_limited', 'valid key, new XFF');
  assertError(await from3(bearer(good)), 429, 'rate_limited', 'valid key, no header');
  assert.equal((await peer(srvU, '127.0.0.6', 'GET', '/v1/auth', bearer(good))).status, 200, 'another peer is fine');
});

test('budget: failed root-key and managing-key guesses on the management API count against it', async () => {
  const ws = await srvU.createWorkspace('budget-management', { max_active_keys: 50 });
  const good = await srvU.createKey(ws.id, { name: 'good' });
  const m = await srvU.createKey(ws.id, { name: 'manager', scopes: ['keys:manage'] });
  const from4 = (method, target, headers, body) => peer(srvU, '127.0.0.4', method, target, headers, body);
  const wrongRoot = fabricateKey('kw', 'root');
  const statuses = [];
  statuses.push((await from4('GET', '/v1/workspaces', bearer(wrongRoot))).status);
  statuses.push((await from4('POST', '/v1/api-keys', bearer(fabricateKey('kw', 'root')), { workspace_id: ws.id, environment: 'live', name: 'x' })).status);
  statuses.push((await from4('GET', '/v1/api-keys', bearer(fabricateKey()))).status); // a wrong managing key
  statuses.push((await from4('POST', '/v1/keys/verify', bearer(wrongRoot), { key: good.key })).status);
  statuses.push((await from4('GET', '/v1/auth', bearer(fabricateKey()))).status);
  assert.deepEqual(statuses, [401, 401, 401, 401, 401], 'the five failures');
  const afterRoot = await from4('GET', '/v1/workspaces', bearer(srvU.rootKey));
  assertError(afterRoot, 429, 'rate_limited', 'the right root key after 5 failures');
  assertError(await from4('GET', '/v1/api-keys', bearer(m)), 429, 'rate_limited', 'a right managing key after 5 failures');
  assertError(await from4('GET', '/v1/auth', bearer(good)), 429, 'rate_limited', 'a valid API key after 5 failures');
  // The same through a trusted proxy naming the client in varying forms.
  const via2 = (headers) => peer(srvU, '127.0.0.2', 'GET', '/v1/workspaces', headers);
  for (const xff of ['10.4.4.4', '::ffff:10.4.4.4', '::ffff:a04:404', '10.4.4.4', '0:0::ffff:10.4.4.4']) {
    assertError(await via2({ ...bearer(fabricateKey('kw', 'root')), 'x-forwarded-for': xff }), 401, 'unauthorized', `root guess from ${xff}`);
  }
  assertError(await via2({ ...bearer(srvU.rootKey), 'x-real-ip': '10.4.4.4' }), 429, 'rate_limited', 'root key from the same client');
  assert.equal((await via2({ ...bearer(srvU.rootKey), 'x-forwarded-for': '10.4.4.5' })).status, 200, 'another client');
});

// ---------------------------------------------------------------------------
// Information leaks

test('leaks: a cursor from another workspace answers exactly like an unknown cursor', async () => {
  const wa = await srv.createWorkspace('leak-a', { max_active_keys: 50 });
  const wb = await srv.createWorkspace('leak-b', { max_active_keys: 50 });
  for (let i = 0; i < 3; i++) {
    await srv.createKey(wa.id, { name: `a${i}` });
    await srv.createKey(wb.id, { name: `b${i}` });
  }
  const mb = await srv.createKey(wb.id, { name: 'mb', scopes: ['keys:manage'] });
  const aPage = await srv.get(`/v1/api-keys?workspace_id=${wa.id}&limit=1`);
  const foreign = aPage.json.next_cursor;
  assert.ok(foreign, 'workspace A has a second page');
  // An unknown cursor of the same shape and length.
  const unknown = foreign.slice(0, foreign.length - 4) + (foreign.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const norm = (r, c) => ({ status: r.status, error: r.json?.error, message: (r.json?.message ?? '').split(c).join('<cursor>'), keys: Object.keys(r.json ?? {}).sort(), data: r.json?.data });
  for (const [what, path, opts] of [
    ['root, workspace B', `/v1/api-keys?workspace_id=${wb.id}&limit=1`, {}],
    ['manager of B', '/v1/api-keys?limit=1', { token: mb.key }],
  ]) {
    const f = await srv.get(`${path}&cursor=${encodeURIComponent(foreign)}`, opts);
    const u = await srv.get(`${path}&cursor=${encodeURIComponent(unknown)}`, opts);
    assert.deepEqual(norm(f, foreign), norm(u, unknown), `${what}: a foreign cursor answers differently from an unknown one:\n${f.text}\n${u.text}`);
    assert.ok(!(f.json?.data ?? []).some((k) => k.workspace_id === wa.id), `${what}: the foreign cursor showed workspace A's keys`);
  }
});

test('leaks: another workspace\'s or environment\'s objects answer exactly like unknown ones', async () => {
  const wa = await srv.createWorkspace('leak404-a', { max_active_keys: 50 });
  const wb = await srv.createWorkspace('leak404-b', { max_active_keys: 50 });
  const m = await srv.createKey(wa.id, { name: 'm', scopes: ['keys:manage'] });
  const otherWs = await srv.createKey(wb.id, { name: 'other ws', scopes: ['admin'] });
  const otherEnv = await srv.createKey(wa.id, { name: 'other env', environment: 'test', scopes: ['admin'] });
  const wideOtherEnv = await srv.createKey(wa.id, { name: 'other env wide', environment: 'test' });
  const unknownId = otherWs.id.slice(0, 4) + 'A'.repeat(otherWs.id.length - 4);
  const as = { token: m.key };
  const calls = (id) => [
    ['GET', `/v1/api-keys/${id}`],
    ['PATCH', `/v1/api-keys/${id}`, { name: 'x' }],
    ['PATCH', `/v1/api-keys/${id}`, { enabled: false }],
    ['POST', `/v1/api-keys/${id}/rotate`, { grace_seconds: 0 }],
    ['DELETE', `/v1/api-keys/${id}`],
  ];
  const snap = await srv.snapshot();
  const norm = (r, id) => ({ status: r.status, error: r.json?.error, message: (r.json?.message ?? '').split(id).join('<id>') });
  for (const target of [otherWs, otherEnv, wideOtherEnv]) {
    const a = calls(target.id);
    const b = calls(unknownId);
    for (let i = 0; i < a.length; i++) {
      const ra = await srv.api(a[i][0], a[i][1], { ...as, body: a[i][2] });
      const rb = await srv.api(b[i][0], b[i][1], { ...as, body: b[i][2] });
      assert.deepEqual(norm(ra, target.id), norm(rb, unknownId), `${target.name}: ${a[i][0]} ${a[i][1]}:\n${ra.text}\n${rb.text}`);
      assert.equal(ra.status, 404, `${target.name}: ${a[i][0]}: ${ra.text}`);
    }
  }
  // create / list in another workspace vs an unknown one
  const unknownWs = wb.id.slice(0, 3) + 'A'.repeat(wb.id.length - 3);
  const c1 = await srv.post('/v1/api-keys', { workspace_id: wb.id, environment: 'live', name: 'x' }, as);
  const c2 = await srv.post('/v1/api-keys', { workspace_id: unknownWs, environment: 'live', name: 'x' }, as);
  assert.deepEqual(norm(c1, wb.id), norm(c2, unknownWs), `create:\n${c1.text}\n${c2.text}`);
  const l1 = await srv.get(`/v1/api-keys?workspace_id=${wb.id}`, as);
  const l2 = await srv.get(`/v1/api-keys?workspace_id=${unknownWs}`, as);
  assert.deepEqual(norm(l1, wb.id), norm(l2, unknownWs), `list:\n${l1.text}\n${l2.text}`);
  assert.deepEqual(await srv.snapshot(), snap, 'nothing changed');
});

// A well-formed key (right checksum) that shares `key`'s first `keep`
// characters and differs after them.
function sibling(key, keep) {
  const head = key.slice(0, -6);
  let body = head.slice(0, keep);
  for (let i = keep; i < head.length; i++) body += head[i] === 'A' ? 'B' : 'A';
  let c = crc32(body);
  let sum = '';
  for (let i = 0; i < 6; i++) {
    sum = BASE62[c % 62] + sum;
    c = Math.floor(c / 62);
  }
  noteSecret(body + sum);
  return body + sum;
}

test('leaks: a key sharing a revoked, disabled or expired key\'s short prefix learns nothing about it', async () => {
  const ws = await srv.createWorkspace('leak-prefix', { max_active_keys: 50 });
  const revoked = await srv.createKey(ws.id, { name: 'revoked' });
  await srv.del(`/v1/api-keys/${revoked.id}`);
  const disabled = await srv.createKey(ws.id, { name: 'disabled' });
  await srv.patch(`/v1/api-keys/${disabled.id}`, { enabled: false });
  const expired = await srv.createKey(ws.id, { name: 'expired', expires_at: ttlIso(800) });
  const limited = await srv.createKey(ws.id, { name: 'limited', ip_allowlist: ['10.0.0.0/8'] });
  const manager = await srv.createKey(ws.id, { name: 'manager', scopes: ['keys:manage'] });
  await sleep(1000);
  const shortLen = revoked.short_prefix.length; // prefix + 12 body characters
  for (const k of [revoked, disabled, expired, limited]) {
    for (const keep of [shortLen, k.key.length - 7]) {
      const guess = sibling(k.key, keep);
      assert.notEqual(guess, k.key);
      const v = await srv.post('/v1/keys/verify', { key: guess, ip: '192.0.2.1' });
      assert.equal(v.status, 200, v.text);
      assert.equal(v.json.code, 'invalid', `${k.name} key with ${keep} shared characters: ${v.text}`);
      assert.deepEqual(Object.keys(v.json).sort(), ['code', 'message', 'valid'], `no key data for an unknown key: ${v.text}`);
      const g = await srv.auth({ ...bearer(guess), 'x-forwarded-for': '192.0.2.1' });
      assertError(g, 401, 'invalid', `${k.name} sibling in gateway mode`);
      assert.equal(g.headers.get('x-keyward-key-id'), null);
    }
  }
  // A managing key's sibling and a root key presented as an API key are refused plainly.
  const m = await srv.get('/v1/api-keys', { token: sibling(manager.key, shortLen) });
  assertError(m, 401, 'unauthorized', 'managing key sibling');
  assert.ok(!m.text.includes(manager.id), m.text);
  const rootAtGateway = await srv.auth(bearer(srv.rootKey));
  assert.ok([401, 403].includes(rootAtGateway.status), `a root key in gateway mode: ${describeRes(rootAtGateway)}`);
  assert.notEqual((await srv.verify({ key: srv.rootKey })).code, 'valid', 'a root key verifies as an API key');
});

test('leaks: a secret pasted into a cursor, an id, a query or a header is cut in every error', async () => {
  const ws = await srv.createWorkspace('leak-echo', { max_active_keys: 50 });
  const k = await srv.createKey(ws.id, { name: 'victim' });
  const m = await srv.createKey(ws.id, { name: 'm', scopes: ['keys:manage'] });
  const hidden = k.key.slice(-24);
  const rs = [
    await srv.get(`/v1/api-keys?workspace_id=${ws.id}&cursor=${k.key}`),
    await srv.get(`/v1/api-keys?cursor=${k.key}`, { token: m.key }),
    await srv.get(`/v1/api-keys/${k.key}`, { token: m.key }),
    await srv.post(`/v1/api-keys/${k.key}/rotate`, {}),
    await srv.get(`/v1/usage?key_id=${k.key}`),
    await srv.get(`/v1/api-keys?limit=${k.key}`),
    await srv.get(`/v1/api-keys?status=${k.key}`),
    await srv.post('/v1/keys/verify', { key: k.key, [k.key]: 1 }),
    await srv.post('/v1/keys/verify', { key: k.key, ip: k.key }),
    await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: k.key, name: 'x' }),
    await srv.post('/v1/api-keys', { workspace_id: k.key, environment: 'live', name: 'x' }, { token: m.key }),
    await rawReq(srv, 'GET', '/v1/auth', { ...bearer(k), 'x-forwarded-for': k.key }),
    await rawReq(srv, 'GET', '/v1/auth', { ...bearer(k), 'x-original-uri': `/${k.key}`, 'x-forwarded-uri': '/other' }),
    await rawReq(srv, 'GET', '/v1/auth', { ...bearer(k), 'x-keyward-required-environment': k.key }),
  ];
  for (const r of rs) {
    assert.ok(r.status >= 400 || r.json?.valid !== undefined || Array.isArray(r.json?.data), `${describeRes(r)}`);
    assert.ok(!r.text.includes(hidden), `an answer carries the secret: ${r.text.slice(0, 300)}`);
  }
});

// ---------------------------------------------------------------------------
// CPU: the longest patterns against the longest URIs

function fill(prefix, seg, tail) {
  const segs = [];
  while ((prefix + '/' + [...segs, seg].join('/') + tail).length <= 256) segs.push(seg);
  return prefix + '/' + segs.join('/') + tail;
}

test('CPU: 32 worst-case patterns of 256 bytes against ~8 KiB URIs stay well under a second; /healthz stays responsive', async () => {
  const ws = await srv.createWorkspace('cpu', { max_active_keys: 50 });
  const variants = [
    Array.from({ length: 32 }, (_, i) => fill('GET,POST,PUT,PATCH,DELETE ', '**', `/z${i}`)),
    Array.from({ length: 32 }, (_, i) => fill('', i % 2 ? '**/a*' : '**/*a*a', `/q${i}`)),
    Array.from({ length: 32 }, (_, i) => '/' + 'a*'.repeat(126) + 'b' + (i % 10)),
    Array.from({ length: 32 }, (_, i) => fill('', '**/*a*a*a*a*a*a*a', `/y${i}`)),
  ];
  const refPatterns = Array.from({ length: 32 }, (_, i) => fill('https://*.' + 'a.'.repeat(30) + 'example.com:*', '**/*a*a', `/r${i}`));
  const keys = [];
  for (const eps of variants) {
    for (const p of eps) assert.ok(Buffer.byteLength(p) <= 256, `pattern of ${p.length}`);
    keys.push(await srv.createKey(ws.id, { name: 'cpu', endpoint_allowlist: eps, referrer_allowlist: refPatterns }));
  }
  const uris = [
    '/' + Array.from({ length: 4090 }, () => 'a').join('/'),
    '/' + 'a'.repeat(8180),
    '/' + Array.from({ length: 810 }, () => 'aaaaaaaaa').join('/'),
    '/' + Array.from({ length: 1360 }, () => 'aaaaa').join('/') + '/zz',
  ];
  // matches refPatterns[0] only at its very end, so every pattern is tried and the endpoint check runs too
  const referer = 'https://' + 'a.'.repeat(110) + 'example.com:8443/' + Array.from({ length: 600 }, () => 'aaaa').join('/') + '/r0';
  // (check order: referrer_not_allowed comes before endpoint_not_allowed)
  assert.equal((await srv.verify({ key: keys[0].key, referrer: referer })).code, 'endpoint_not_allowed', 'the long Referer matches refPatterns[0]');
  let worst = 0;
  for (const k of keys) {
    for (const uri of uris) {
      const t0 = performance.now();
      const r = await rawReq(srv, 'GET', '/v1/auth', { ...bearer(k), 'x-original-uri': uri, referer });
      const dt = performance.now() - t0;
      worst = Math.max(worst, dt);
      assert.equal(r.status, 403, describeRes(r));
      assert.equal(r.json?.error, 'endpoint_not_allowed', describeRes(r));
      assert.ok(dt < 500, `one /v1/auth call took ${dt.toFixed(0)} ms`);
    }
  }
  // 8 in parallel, repeatedly, while /healthz is polled.
  let stop = false;
  const heavy = (async () => {
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => rawReq(srv, 'GET', '/v1/auth', { ...bearer(keys[i % keys.length]), 'x-original-uri': uris[i % uris.length], referer })));
    }
    stop = true;
  })();
  let slowest = 0;
  let polls = 0;
  while (!stop) {
    const t0 = performance.now();
    const h = await fetch(`${srv.url}/healthz`);
    await h.text();
    slowest = Math.max(slowest, performance.now() - t0);
    polls++;
    assert.equal(h.status, 200);
  }
  await heavy;
  assert.ok(slowest < 500, `/healthz took ${slowest.toFixed(0)} ms while 8 heavy checks ran (${polls} polls; worst single check ${worst.toFixed(0)} ms)`);
});
