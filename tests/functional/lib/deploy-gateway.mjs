// The gateway configurations of deploy/ (nginx, Caddy, HAProxy), each run as
// shipped, with only addresses and paths changed, in front of a real
// keyward and a recording upstream, and the contract every one of them must
// keep (defineGatewaySuite): what reaches the API, what a refused client
// receives, what happens when keyward is down, and that no header or path a
// client forges changes any of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, makeTempDir, sleep, fabricateKey, noteSecret } from './keyward.mjs';
import { canConnect, freePort, killedAtExit, RecordingUpstream, rawRequest, backendPath, endpointAllows } from './nginx-gateway.mjs';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

// The file deploy/<rel> with each [from, to] replaced everywhere; fails
// unless every `from` occurs, so a renamed address cannot go unnoticed.
export function deployFile(rel, substitutions = []) {
  let text = fs.readFileSync(path.join(REPO, 'deploy', rel), 'utf8');
  for (const [from, to] of substitutions) {
    assert.ok(text.includes(from), `deploy/${rel} no longer contains ${JSON.stringify(from)}: update its test`);
    text = text.split(from).join(to);
  }
  return text;
}

export function assertInstalled(bin, what) {
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`${bin} is missing: ${what} (scripts/install-deps installs it)`);
  }
}

const liveGateways = killedAtExit();

// A gateway process in the foreground (Caddy, HAProxy), up once every port
// accepts connections. Its output is kept for failure messages only.
export class GatewayProcess {
  static async start({ bin, args, ports, env = {}, dir, timeoutMs = 10_000 }) {
    const g = new GatewayProcess();
    g.dir = dir;
    g.output = '';
    g.exitInfo = null;
    const child = spawn(bin, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    g.proc = child;
    liveGateways.add(child);
    for (const s of [child.stdout, child.stderr]) s.setEncoding('utf8').on('data', (x) => (g.output += x));
    g.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        liveGateways.delete(child);
        g.exitInfo = { code, signal };
        resolve(g.exitInfo);
      });
    });
    child.on('error', () => {});
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (g.exitInfo) throw new Error(`${bin} exited (${JSON.stringify(g.exitInfo)}) before listening:\n${g.output}`);
      if ((await Promise.all(ports.map((p) => canConnect(p)))).every(Boolean)) return g;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${bin} did not listen on ${ports.join(', ')} within ${timeoutMs} ms:\n${g.output}`);
      }
      await sleep(50);
    }
  }

  async close() {
    if (this.proc && !this.exitInfo) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.exitInfo || this.proc.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function tempDir(label) {
  return makeTempDir(label);
}

// A TCP forwarder between the gateway and keyward that counts the
// connections the gateway opens: kept-alive connections are reused, so far
// fewer connections than requests.
export class ConnectionCounter {
  static async start(targetPort) {
    const c = new ConnectionCounter();
    c.connections = 0;
    c.sockets = new Set();
    c.server = net.createServer((inbound) => {
      c.connections++;
      const outbound = net.connect({ port: targetPort, host: '127.0.0.1' });
      for (const s of [inbound, outbound]) {
        c.sockets.add(s);
        s.on('close', () => c.sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise((resolve, reject) => {
      c.server.once('error', reject);
      c.server.listen(0, '127.0.0.1', resolve);
    });
    c.port = c.server.address().port;
    return c;
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------
// The contract.

const CLIENT = '127.0.0.5'; // the client; keyward trusts only 127.0.0.1 (the gateway)
const OTHER = '127.0.0.6';
const IDENTITY = ['x-keyward-key-id', 'x-keyward-workspace-id', 'x-keyward-environment', 'x-keyward-scopes'];

// Forged identity headers: every spelling a back end might read as one of ours.
function forgedIdentity(extraNames) {
  return [
    ['X-Keyward-Key-Id', 'key_forged'],
    ['x-keyward-workspace-id', 'ws_forged'],
    ['X-KEYWARD-ENVIRONMENT', 'test'],
    ['X-Keyward-Scopes', 'admin,keys:manage'],
    ['X-Keyward-Scopes', 'root'],
    ['X_Keyward_Key_Id', 'key_underscore'],
    ['x_keyward_scopes', 'admin'],
    ['X-Keyward_Workspace-Id', 'ws_mixed'],
    ...extraNames.map((n) => [n, 'forged']),
  ];
}

// Every header the upstream got whose name reads as X-Keyward-* once
// lower-cased with '_' as '-'.
function keywardHeadersAt(rec) {
  const out = [];
  for (let i = 0; i < rec.rawHeaders.length; i += 2) {
    const name = rec.rawHeaders[i];
    if (name.toLowerCase().replace(/_/g, '-').startsWith('x-keyward')) out.push([name, rec.rawHeaders[i + 1]]);
  }
  return out;
}

// gw: {name, start({keywardPort, upstreamPort, dir}) -> {port, close()},
//      stripsEveryKeywardHeader: true when a client's X-Keyward-Anything is
//      dropped too (nginx drops only the names keyward defines)}
export function defineGatewaySuite(gw) {
  let kw;
  let upstream;
  let gateway;
  let counter;
  let ws;
  let seq = 0;

  before(async () => {
    upstream = await RecordingUpstream.start();
    const keywardPort = await freePort();
    kw = await startServer({
      listen: `127.0.0.1:${keywardPort}`,
      config: { trusted_proxies: ['127.0.0.1/32'], limits: { failed_verifications_per_ip: 1000 } },
    });
    counter = await ConnectionCounter.start(keywardPort);
    gateway = await gw.start({ keywardPort: counter.port, upstreamPort: upstream.port });
    ws = await kw.createWorkspace(`gateway-${gw.name}`, { max_active_keys: 1000 });
  });

  after(async () => {
    await gateway?.close();
    await kw?.close();
    await counter?.close();
    await upstream?.close();
  });

  // One request through the gateway; what the client got and what reached
  // the upstream (by the X-Test-Id it carried).
  async function send({ method = 'GET', target = '/v1/products/1', key, token, apiKeyHeader = false, headers = [], from = CLIENT }) {
    const id = `${gw.name}-${++seq}`;
    const credential = token ?? key?.key;
    const pairs = [['X-Test-Id', id]];
    if (credential !== undefined) pairs.push(apiKeyHeader ? ['X-API-Key', credential] : ['Authorization', `Bearer ${credential}`]);
    pairs.push(...headers);
    const hitsBefore = upstream.hits;
    const r = await rawRequest({ port: gateway.port, localAddress: from, method, target, headers: pairs });
    const got = upstream.withId(id);
    let json;
    try {
      json = JSON.parse(r.body);
    } catch {
      json = undefined;
    }
    const desc = `[${gw.name}] ${method} ${target.slice(0, 80)} from ${from}${headers.length ? ` with ${headers.map(([k, v]) => `${k}: ${v}`).join('; ')}` : ''}`;
    return { ...r, json, got, newHits: upstream.hits - hitsBefore, desc };
  }

  // keyward's own answer, asked directly (from 127.0.0.1, trusted, as the gateway).
  async function direct(key, { method = 'GET', uri = '/v1/products/1' } = {}) {
    return kw.api('GET', '/v1/auth', {
      token: null,
      headers: { authorization: `Bearer ${key.key}`, 'x-original-method': method, 'x-original-uri': uri, 'x-forwarded-for': CLIENT },
    });
  }

  // How many times the answer's head carries the header name.
  function count(r, name) {
    return r.head.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name}:`)).length;
  }

  function assertReached(r, key) {
    assert.equal(r.status, 200, `${r.desc}: answered ${r.status} ${r.body.slice(0, 200)}`);
    assert.equal(r.got.length, 1, `${r.desc}: the upstream got it ${r.got.length} times`);
    assert.equal(r.newHits, 1, `${r.desc}: the upstream got ${r.newHits} requests`);
    assert.match(r.body, /upstream ok/, `${r.desc}: not the upstream's answer`);
    const rec = r.got[0];
    const want = {
      'x-keyward-key-id': key.id,
      'x-keyward-workspace-id': key.workspace_id,
      'x-keyward-environment': key.environment,
      'x-keyward-scopes': key.scopes.join(','),
    };
    const seen = keywardHeadersAt(rec);
    for (const [name, value] of seen) {
      const n = name.toLowerCase();
      assert.ok(IDENTITY.includes(n), `${r.desc}: the upstream got ${name}: ${value}, which keyward did not set`);
      assert.equal(value, want[n], `${r.desc}: the upstream got ${name}: ${value}, keyward said ${want[n]}`);
    }
    for (const n of IDENTITY) {
      if (n === 'x-keyward-scopes' && want[n] === '') continue; // an empty value may be sent or not
      assert.equal(seen.filter(([k]) => k.toLowerCase() === n).length, 1, `${r.desc}: the upstream got ${n} ${seen.filter(([k]) => k.toLowerCase() === n).length} times (${JSON.stringify(seen)})`);
    }
    assert.equal(rec.headers.authorization, undefined, `${r.desc}: the key reached the upstream in Authorization`);
    assert.equal(rec.headers['x-api-key'], undefined, `${r.desc}: the key reached the upstream in X-API-Key`);
    return rec;
  }

  function assertRefusedAsKeyward(r, status, code) {
    assert.equal(r.newHits, 0, `${r.desc}: reached the upstream (${r.got.map((g) => `${g.method} ${g.url}`).join(', ')})`);
    assert.equal(r.status, status, `${r.desc}: answered ${r.status} ${r.body.slice(0, 200)}, keyward said ${status} ${code}`);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/, `${r.desc}: Content-Type ${r.headers['content-type']}`);
    assert.ok(r.json && r.json.error === code && typeof r.json.message === 'string' && r.json.message.length > 0,
      `${r.desc}: body ${JSON.stringify(r.body)}, expected keyward's {"error":"${code}",…}`);
  }

  test(`${gw.name}: a valid key reaches the API with the identity keyward set, and without the key`, async () => {
    const k = await kw.createKey(ws.id, { name: 'plain', scopes: ['orders:read', 'products:write'] });
    assertReached(await send({ key: k }), k);
    assertReached(await send({ key: k, apiKeyHeader: true }), k);
    const del = assertReached(await send({ key: k, method: 'DELETE', target: '/v1/orders/7?x=1' }), k);
    assert.equal(del.method, 'DELETE');
    assert.equal(del.url, '/v1/orders/7?x=1');
    const none = await kw.createKey(ws.id, { name: 'no scopes' });
    assertReached(await send({ key: none }), none);
  });

  test(`${gw.name}: a client's own X-Keyward-* headers never get through, whatever the key, case or spelling`, async () => {
    const k = await kw.createKey(ws.id, { name: 'forger', scopes: ['orders:read'] });
    const extra = gw.stripsEveryKeywardHeader ? ['X-Keyward-Admin', 'x-keyward-key-ids', 'X-Keyward-Error'] : [];
    const forged = forgedIdentity(extra);
    for (const h of forged) assertReached(await send({ key: k, headers: [h] }), k);
    assertReached(await send({ key: k, headers: forged }), k);
    for (const token of [undefined, fabricateKey()]) {
      noteSecret(token);
      const r = await send({ token, headers: forged });
      assertRefusedAsKeyward(r, 401, token ? 'invalid' : 'missing');
    }
  });

  test(`${gw.name}: 401 and 403 arrive as keyward answered them: status, JSON body, WWW-Authenticate`, async () => {
    const missing = await send({});
    assertRefusedAsKeyward(missing, 401, 'missing');
    assert.match(missing.headers['www-authenticate'] ?? '', /^Bearer realm="api"$/, `${missing.desc}: WWW-Authenticate ${missing.headers['www-authenticate']}`);
    assert.equal(count(missing, 'www-authenticate'), 1, `${missing.desc}: WWW-Authenticate sent ${count(missing, 'www-authenticate')} times:\n${missing.head}`);
    const wrong = fabricateKey();
    noteSecret(wrong);
    const invalid = await send({ token: wrong });
    assertRefusedAsKeyward(invalid, 401, 'invalid');
    assert.match(invalid.headers['www-authenticate'] ?? '', /error="invalid_token"/);
    assert.equal(invalid.body.includes(wrong), false, 'the refused key is quoted back');

    const ten = await kw.createKey(ws.id, { name: 'ten', ip_allowlist: ['10.0.0.0/8'] });
    const refused = await send({ key: ten });
    assertRefusedAsKeyward(refused, 403, 'ip_not_allowed');
    const want = await direct(ten);
    assert.equal(want.status, 403);
    assert.deepEqual(refused.json, want.json, 'the body differs from keyward\'s own');
  });

  test(`${gw.name}: 429 arrives as keyward answered it: JSON body, Retry-After, RateLimit and RateLimit-Policy`, async () => {
    const k = await kw.createKey(ws.id, { name: 'limited', rate_limit: { limit: 1, period_seconds: 3600 } });
    const first = await send({ key: k });
    assertReached(first, k);
    const r = await send({ key: k });
    assertRefusedAsKeyward(r, 429, 'rate_limited');
    const want = await direct(k);
    assert.equal(want.status, 429);
    assert.deepEqual(r.json, want.json);
    const retry = Number(r.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 3600, `${r.desc}: Retry-After ${r.headers['retry-after']}`);
    assert.ok(Math.abs(retry - Number(want.headers.get('retry-after'))) <= 5, `Retry-After ${retry}, keyward says ${want.headers.get('retry-after')}`);
    assert.equal(r.headers['ratelimit-policy'], '"requests";q=1;w=3600');
    assert.equal(r.headers['ratelimit-policy'], want.headers.get('ratelimit-policy'));
    assert.match(r.headers.ratelimit ?? '', /^"requests";r=0;t=\d+$/, `${r.desc}: RateLimit ${r.headers.ratelimit}`);
    assert.equal(r.headers['ratelimit-limit'], '1');
    assert.equal(r.headers['ratelimit-remaining'], '0');
    for (const h of ['retry-after', 'ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'content-type']) {
      assert.equal(count(r, h), 1, `${r.desc}: ${h} sent ${count(r, h)} times:\n${r.head}`);
    }
  });

  test(`${gw.name}: a key out of credits: 429 quota_exceeded as keyward answered it, Retry-After until they renew`, async () => {
    const k = await kw.createKey(ws.id, { name: 'prepaid', credits: { remaining: 1, refill: { amount: 1, interval: 'daily' } } });
    assertReached(await send({ key: k }), k);
    const r = await send({ key: k });
    assertRefusedAsKeyward(r, 429, 'quota_exceeded');
    const want = await direct(k);
    assert.equal(want.status, 429);
    assert.deepEqual(r.json, want.json);
    const retry = Number(r.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 86400, `${r.desc}: Retry-After ${r.headers['retry-after']}`);
    assert.ok(Math.abs(retry - Number(want.headers.get('retry-after'))) <= 5, `Retry-After ${retry}, keyward says ${want.headers.get('retry-after')}`);
    assert.equal(r.headers['ratelimit-policy'], want.headers.get('ratelimit-policy'));
    assert.match(r.headers['ratelimit-policy'] ?? '', /^"key_credits";q=1;w=\d+$/, `${r.desc}: RateLimit-Policy ${r.headers['ratelimit-policy']}`);
    assert.match(r.headers.ratelimit ?? '', /^"key_credits";r=0;t=\d+$/, `${r.desc}: RateLimit ${r.headers.ratelimit}`);
    // What a request costs is the gateway's to say, never the client's.
    for (const headers of [[['X-Keyward-Cost', '0']], [['x-keyward-cost', '0']], [['X_Keyward_Cost', '0']]]) {
      assertRefusedAsKeyward(await send({ key: k, headers }), 429, 'quota_exceeded');
    }
  });

  test(`${gw.name}: IP restrictions act on the client's real address; forged forwarding headers change nothing`, async () => {
    const mine = await kw.createKey(ws.id, { name: 'client only', ip_allowlist: [`${CLIENT}/32`] });
    const ten = await kw.createKey(ws.id, { name: 'ten only', ip_allowlist: ['10.0.0.0/8'] });
    const proxy = await kw.createKey(ws.id, { name: 'gateway only', ip_allowlist: ['127.0.0.1/32'] });
    const forgeries = (v) => [
      [['X-Forwarded-For', v]],
      [['X-Real-IP', v]],
      [['X-Real-IP', v], ['X-Forwarded-For', v]],
      [['X-Forwarded-For', `${v}, 127.0.0.1`]],
      [['Forwarded', `for=${v}`]],
      [['X-Client-IP', v], ['True-Client-IP', v], ['CF-Connecting-IP', v]],
    ];
    assertReached(await send({ key: mine }), mine);
    assertRefusedAsKeyward(await send({ key: mine, from: OTHER }), 403, 'ip_not_allowed');
    assertRefusedAsKeyward(await send({ key: ten }), 403, 'ip_not_allowed');
    assertRefusedAsKeyward(await send({ key: proxy }), 403, 'ip_not_allowed');
    for (const headers of [...forgeries('10.1.2.3'), ...forgeries('127.0.0.1')]) {
      assertRefusedAsKeyward(await send({ key: ten, headers }), 403, 'ip_not_allowed');
      assertRefusedAsKeyward(await send({ key: proxy, headers }), 403, 'ip_not_allowed');
      assertReached(await send({ key: mine, headers }), mine);
    }
    for (const headers of forgeries(CLIENT)) assertRefusedAsKeyward(await send({ key: mine, from: OTHER, headers }), 403, 'ip_not_allowed');
  });

  test(`${gw.name}: endpoint restrictions act on the client's real method and path; forged headers change nothing`, async () => {
    const k = await kw.createKey(ws.id, { name: 'products', endpoint_allowlist: ['GET /v1/products/*'] });
    const claim = [
      ['X-Original-Method', 'GET'], ['X-Original-URI', '/v1/products/1'],
      ['X-Forwarded-Method', 'GET'], ['X-Forwarded-Uri', '/v1/products/1'],
      ['X-Forwarded-Prefix', '/v1/products'], ['X-Rewrite-URL', '/v1/products/1'], ['X-Original-URL', '/v1/products/1'],
    ];
    const deny = [['X-Original-URI', '/v1/admin'], ['X-Forwarded-Uri', '/v1/admin'], ['X-Original-Method', 'DELETE'], ['X-Forwarded-Method', 'DELETE']];
    assertReached(await send({ key: k }), k);
    assertRefusedAsKeyward(await send({ key: k, method: 'DELETE' }), 403, 'endpoint_not_allowed');
    assertRefusedAsKeyward(await send({ key: k, target: '/v1/admin' }), 403, 'endpoint_not_allowed');
    for (const h of [...claim.map((x) => [x]), claim]) {
      assertRefusedAsKeyward(await send({ key: k, target: '/v1/admin', headers: h }), 403, 'endpoint_not_allowed');
      assertRefusedAsKeyward(await send({ key: k, method: 'DELETE', headers: h }), 403, 'endpoint_not_allowed');
    }
    for (const h of [...deny.map((x) => [x]), deny]) assertReached(await send({ key: k, headers: h }), k);
  });

  const TRICKY = [
    '/v1/products//../admin', '/v1/products/%2e%2e/admin', '/v1/products/..%2Fadmin', '/v1/products/.%2e/admin',
    '/v1/products/1/..;/../admin', '/v1/products/..;/admin', '/v1/products\\..\\admin', '/v1/products/%5C..%5Cadmin',
    '/v1/products/%252e%252e/admin', '/v1/products/1/%2e%2e/%2e%2e/admin', '//v1/products/1', '/v1//products/1',
    '/v1/products/./1', '/v1/products/../admin', '/v1/products/%31', '/v1/products/1%00', '/v1/products/1;jsessionid=x',
    '/V1/products/1', '/v1/products/1#/../../admin', '/v1/products/1%3f/../../admin', '/v1/products/1%23/../../admin',
  ];

  test(`${gw.name}: tricky paths are refused, or what the API receives is a GET /v1/products/*`, async (t) => {
    const k = await kw.createKey(ws.id, { name: 'tricky', endpoint_allowlist: ['GET /v1/products/*'] });
    const problems = [];
    const table = [];
    for (const target of TRICKY) {
      const r = await send({ key: k, target });
      if (r.newHits === 0) {
        table.push(`${target} -> ${r.status} refused`);
        if (r.status === 200) problems.push(`${r.desc}: 200 without reaching the API`);
        continue;
      }
      const rec = r.got[0];
      const p = backendPath(rec.url ?? '');
      table.push(`${target} -> ${r.status}, the API got ${rec.method} ${rec.url} (read as ${p})`);
      if (rec.url === null || !endpointAllows('GET /v1/products/*', rec.method, p)) problems.push(`${r.desc}: the API got ${rec.method} ${rec.url}, read as ${p}`);
    }
    for (const line of table) t.diagnostic(line);
    assert.deepEqual(problems, []);
  });

  test(`${gw.name}: the gateway keeps its connections to keyward alive`, async () => {
    const k = await kw.createKey(ws.id, { name: 'keepalive' });
    const before = counter.connections;
    const n = 30;
    for (let i = 0; i < n; i++) assert.equal((await send({ key: k })).status, 200);
    const opened = counter.connections - before;
    assert.ok(opened <= 5, `${n} requests through ${gw.name} opened ${opened} connections to keyward`);
  });

  test(`${gw.name}: keyward trusts the gateway only: a client that reaches keyward itself cannot claim an address`, async () => {
    const ten = await kw.createKey(ws.id, { name: 'ten direct', ip_allowlist: ['10.0.0.0/8'] });
    const r = await rawRequest({ port: kw.port, localAddress: CLIENT, target: '/v1/auth', headers: [['Authorization', `Bearer ${ten.key}`], ['X-Forwarded-For', '10.1.2.3'], ['X-Real-IP', '10.1.2.3']] });
    assert.equal(r.status, 403, `keyward took 127.0.0.5's forwarded headers: ${r.status} ${r.body}`);
  });

  if (gw.extraTests) gw.extraTests({ kw: () => kw, ws: () => ws, send, assertReached, assertRefusedAsKeyward });

  // Last: keyward stops for good.
  test(`${gw.name}: keyward down: 503 with a JSON error body, and nothing reaches the API`, async () => {
    const k = await kw.createKey(ws.id, { name: 'before the fall' });
    assertReached(await send({ key: k }), k);
    await kw.stop();
    const check = async (how) => {
      for (const key of [k, null]) {
        const r = await send({ key: key ?? undefined });
        assert.equal(r.newHits, 0, `${r.desc} (${how}): reached the API with keyward down`);
        assert.equal(r.status, 503, `${r.desc} (${how}): answered ${r.status} ${r.body.slice(0, 200)}`);
        assert.match(r.headers['content-type'] ?? '', /^application\/json/);
        assert.equal(r.json?.error, 'unavailable', `${r.desc} (${how}): body ${r.body}`);
        assert.equal(typeof r.json.message, 'string');
      }
    };
    // The forwarder still accepts, then closes: a keyward that dies mid-request.
    await check('connection closed without an answer');
    // Nothing listens any more: connection refused.
    await counter.close();
    counter = null;
    await check('connection refused');
  });
}
