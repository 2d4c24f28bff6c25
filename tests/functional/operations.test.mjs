// Operations and HTTP conventions: health, readiness, metrics, the OpenAPI
// route, 401/404/405/413/415/431/400 answers, Cache-Control, and logs that
// never hold a secret.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, assertError, assertNoStore, fabricateKey } from './lib/keyward.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.close();
});

test('GET /healthz and /readyz', async () => {
  const h = await srv.get('/healthz', { token: null });
  assert.equal(h.status, 200, h.text);
  assert.deepEqual(h.json, { status: 'ok' });
  assertNoStore(h, '/healthz');
  const r = await srv.get('/readyz', { token: null });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'ready' });
  assertNoStore(r, '/readyz');
});

test('GET /metrics is Prometheus text', async () => {
  const ws = await srv.createWorkspace('metrics');
  const k = await srv.createKey(ws.id);
  await srv.verify({ key: k.key });
  await srv.auth({ authorization: `Bearer ${k.key}` });
  const r = await srv.get('/metrics', { token: null });
  assert.equal(r.status, 200, r.text);
  assertNoStore(r, '/metrics');
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(r.text, /^# (HELP|TYPE) \w+/m, 'has HELP/TYPE lines');
  for (const line of r.text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? ([-+0-9.eE]+|NaN|[+-]Inf)( -?\d+)?$/, `a sample line: ${line}`);
  }
  assert.ok(!r.text.includes(k.key), 'no secret in metrics');
  assert.ok(!r.text.includes(srv.rootKey), 'no root key in metrics');
});

test('GET /openapi.json is an OpenAPI 3.1 document', async () => {
  const r = await srv.get('/openapi.json', { token: null });
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.match(r.headers.get('content-type') ?? '', /json/);
  assert.match(String(r.json?.openapi), /^3\.1/);
  assert.ok(r.json.paths && typeof r.json.paths === 'object');
});

test('every answer carries Cache-Control: no-store', async () => {
  const ws = await srv.createWorkspace('cache');
  const answers = [
    await srv.get('/v1/workspaces'),
    await srv.get(`/v1/workspaces/${ws.id}`),
    await srv.get('/v1/api-keys'),
    await srv.get('/v1/audit-log'),
    await srv.get('/v1/nowhere'),
    await srv.get('/v1/workspaces', { token: null }),
    await srv.api('PUT', '/v1/workspaces'),
    await srv.auth({}),
    await srv.get('/openapi.json', { token: null }),
  ];
  for (const r of answers) assertNoStore(r, `${r.status}`);
});

test('401 unauthorized: no token, garbage, wrong scheme, unknown root key; with WWW-Authenticate', async () => {
  const snap = await srv.snapshot();
  const cases = [
    [{ token: null }, 'no Authorization'],
    [{ token: 'garbage' }, 'garbage'],
    [{ token: '' }, 'empty bearer'],
    [{ token: null, headers: { authorization: `Basic ${Buffer.from('root:pw').toString('base64')}` } }, 'Basic'],
    [{ token: null, headers: { authorization: srv.rootKey } }, 'no scheme'],
    [{ token: fabricateKey('kw', 'root') }, 'well-formed unknown root key'],
    [{ token: srv.rootKey.slice(0, -1) + (srv.rootKey.endsWith('A') ? 'B' : 'A') }, 'root key with a changed character'],
  ];
  for (const [opts, what] of cases) {
    for (const [method, p, body] of [
      ['GET', '/v1/workspaces'],
      ['POST', '/v1/workspaces', { name: 'nope' }],
      ['GET', '/v1/api-keys'],
      ['GET', '/v1/audit-log'],
    ]) {
      const r = await srv.api(method, p, { ...opts, body });
      assertError(r, 401, 'unauthorized', `${what}: ${method} ${p}`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/, `${what}: WWW-Authenticate`);
    }
  }
  assert.deepEqual(await srv.snapshot(), snap);
});

test('404 not_found for unknown routes', async () => {
  for (const p of ['/v1/nowhere', '/v2/workspaces', '/v1/api-keys/key_x/rotate/extra', '/v1/workspaces/ws_x/keys']) {
    assertError(await srv.get(p), 404, 'not_found', `GET ${p}`);
  }
  assertError(await srv.post('/v1/nowhere', { a: 1 }), 404, 'not_found', 'POST /v1/nowhere');
});

test('405 method_not_allowed with an Allow header', async () => {
  const ws = await srv.createWorkspace('methods');
  const k = await srv.createKey(ws.id);
  const cases = [
    ['PUT', '/v1/workspaces', ['GET', 'POST']],
    ['DELETE', '/v1/workspaces', ['GET', 'POST']],
    ['DELETE', `/v1/workspaces/${ws.id}`, ['GET', 'PATCH']],
    ['PUT', `/v1/api-keys/${k.id}`, ['GET', 'PATCH', 'DELETE']],
    ['PUT', '/v1/api-keys', ['GET', 'POST']],
    ['GET', `/v1/api-keys/${k.id}/rotate`, ['POST']],
    ['GET', '/v1/keys/verify', ['POST']],
    ['POST', '/v1/audit-log', ['GET']],
    ['POST', '/healthz', ['GET']],
  ];
  for (const [method, p, allowed] of cases) {
    const r = await srv.api(method, p);
    assertError(r, 405, 'method_not_allowed', `${method} ${p}`);
    const allow = (r.headers.get('allow') ?? '').split(',').map((s) => s.trim().toUpperCase());
    for (const m of allowed) assert.ok(allow.includes(m), `${method} ${p}: Allow ${r.headers.get('allow')} has ${m}`);
    assert.ok(!allow.includes(method), `${method} ${p}: Allow does not list ${method}`);
  }
  assert.equal((await srv.get(`/v1/api-keys/${k.id}`)).json.status, 'active', 'PUT did not touch the key');
});

test('400 invalid_json: not JSON, truncated, nested deeper than 32', async () => {
  const snap = await srv.snapshot();
  const json = { 'content-type': 'application/json' };
  for (const [raw, what] of [
    ['{', 'truncated'],
    ['{"name": "x",}', 'trailing comma'],
    ["{'name': 'x'}", 'single quotes'],
    ['name=x', 'form text'],
    ['{"name": "x"} extra', 'trailing garbage'],
    [Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'invalid UTF-8'],
    ['{"a":'.repeat(40) + '1' + '}'.repeat(40), 'objects 40 deep'],
    ['['.repeat(33) + ']'.repeat(33), 'arrays 33 deep'],
  ]) {
    assertError(await srv.api('POST', '/v1/workspaces', { raw, headers: json }), 400, 'invalid_json', what);
  }
  // Deep nesting inside meta is refused too, before anything is stored.
  const ws = await srv.createWorkspace('nesting');
  const deep = '{"workspace_id":"' + ws.id + '","environment":"live","name":"n","meta":' + '{"a":'.repeat(35) + '1' + '}'.repeat(35) + '}';
  assertError(await srv.api('POST', '/v1/api-keys', { raw: deep, headers: json }), 400, 'invalid_json', 'meta 36 deep');
  // 20 levels are fine.
  const ok = '{"workspace_id":"' + ws.id + '","environment":"live","name":"n","meta":' + '{"a":'.repeat(20) + '1' + '}'.repeat(20) + '}';
  const r = await srv.api('POST', '/v1/api-keys', { raw: ok, headers: json });
  assert.equal(r.status, 201, r.text);
  const after = await srv.snapshot();
  assert.deepEqual(after.workspaces.filter((w) => w.id !== ws.id), snap.workspaces);
});

test('a body that is JSON but not an object, or empty, answers 400', async () => {
  const snap = await srv.snapshot();
  for (const raw of ['[]', '42', '"name"', 'null', '']) {
    const r = await srv.api('POST', '/v1/workspaces', { raw, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, `${JSON.stringify(raw)}: ${r.status} ${r.text}`);
    assert.ok(['invalid_json', 'invalid_request'].includes(r.json?.error), r.text);
  }
  assert.deepEqual(await srv.snapshot(), snap);
});

test('Content-Type: application/json (with charset) or none is accepted; text/plain answers 415', async () => {
  let r = await srv.api('POST', '/v1/workspaces', { raw: '{"name":"no type"}' });
  assert.equal(r.status, 201, `no Content-Type: ${r.text}`);
  r = await srv.api('POST', '/v1/workspaces', { raw: '{"name":"charset"}', headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(r.status, 201, `with charset: ${r.text}`);
  const snap = await srv.snapshot();
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'text/json', 'application/xml']) {
    r = await srv.api('POST', '/v1/workspaces', { raw: '{"name":"typed"}', headers: { 'content-type': type } });
    assertError(r, 415, 'unsupported_media_type', type);
  }
  const ws = await srv.createWorkspace('media');
  const k = await srv.createKey(ws.id);
  r = await srv.api('POST', '/v1/keys/verify', { raw: JSON.stringify({ key: k.key }), headers: { 'content-type': 'text/plain' } });
  assertError(r, 415, 'unsupported_media_type', 'verify text/plain');
  r = await srv.api('PATCH', `/v1/api-keys/${k.id}`, { raw: '{"name":"x"}', headers: { 'content-type': 'text/plain' } });
  assertError(r, 415, 'unsupported_media_type', 'PATCH text/plain');
  assert.equal((await srv.get(`/v1/api-keys/${k.id}`)).json.name, 'a key');
  const after = await srv.snapshot();
  assert.equal(after.workspaces.length, snap.workspaces.length + 1);
});

test('413 payload_too_large for a 100 KiB body; a body just under 64 KiB is read', async () => {
  const snap = await srv.snapshot();
  const big = JSON.stringify({ name: 'x'.repeat(100 * 1024) });
  let r;
  try {
    r = await srv.api('POST', '/v1/workspaces', { raw: big, headers: { 'content-type': 'application/json' } });
  } catch (e) {
    assert.fail(`the server dropped the connection instead of answering 413: ${e.cause?.code ?? e.message}`);
  }
  assertError(r, 413, 'payload_too_large', '100 KiB');
  const near = JSON.stringify({ name: 'x'.repeat(60 * 1024) });
  r = await srv.api('POST', '/v1/workspaces', { raw: near, headers: { 'content-type': 'application/json' } });
  assertError(r, 400, 'invalid_request', '60 KiB, name too long');
  assert.deepEqual(await srv.snapshot(), snap);
  // The server still answers afterwards.
  assert.equal((await srv.get('/healthz', { token: null })).status, 200);
});

test('431 for request headers over 16 KiB', async () => {
  let r;
  try {
    r = await srv.api('GET', '/v1/workspaces', { headers: { 'x-padding': 'p'.repeat(20 * 1024) } });
  } catch (e) {
    assert.fail(`the server dropped the connection instead of answering 431: ${e.cause?.code ?? e.message}`);
  }
  assert.equal(r.status, 431, r.text);
  assert.equal(r.json?.error, 'invalid_request', r.text);
  assert.equal((await srv.get('/healthz', { token: null })).status, 200);
});

test('the server logs JSON lines and never a secret', async (t) => {
  const logged = await startServer();
  t.after(() => logged.close());
  const ws = await logged.createWorkspace('logging');
  const secrets = [logged.rootKey];
  const k1 = await logged.createKey(ws.id, { scopes: ['a'] });
  const k2 = await logged.createKey(ws.id, { environment: 'test', rate_limit: { limit: 1, period_seconds: 60 } });
  secrets.push(k1.key, k2.key);
  await logged.verify({ key: k1.key });
  await logged.verify({ key: k1.key, scopes: ['b'] });
  await logged.auth({ authorization: `Bearer ${k2.key}` });
  await logged.auth({ authorization: `Bearer ${k2.key}` }); // rate limited
  await logged.auth({ 'x-api-key': k1.key, 'x-keyward-required-scopes': 'zzz' });
  const bad = k1.key.slice(0, -3) + 'AAA';
  await logged.verify({ key: bad });
  await logged.auth({ authorization: `Bearer ${bad}` });
  const rot = await logged.post(`/v1/api-keys/${k1.id}/rotate`, { grace_seconds: 60 });
  secrets.push(rot.json.key);
  await logged.del(`/v1/api-keys/${k2.id}`);
  await logged.verify({ key: k2.key });
  await logged.auth({ authorization: `Bearer ${k2.key}` });
  await logged.get('/v1/workspaces', { token: 'kw_root_' + 'x'.repeat(40) });
  await logged.stop();
  const out = logged.allStdout + logged.allStderr;
  assert.ok(out.length > 0, 'the server logged something');
  for (const s of secrets) {
    assert.ok(!out.includes(s), `a full secret appears in the log: ${s.slice(0, 12)}…`);
    assert.ok(!out.includes(s.slice(-24)), `the secret part of a key appears in the log: …${s.slice(-6)}`);
  }
  assert.ok(!out.includes(bad), 'not even a malformed presented key');
  for (const line of logged.allStdout.split('\n')) {
    if (!line.trim()) continue;
    let obj;
    assert.doesNotThrow(() => (obj = JSON.parse(line)), `stdout line is JSON: ${line}`);
    assert.equal(typeof obj.level, 'string', `a level: ${line}`);
    assert.equal(typeof obj.msg, 'string', `a msg: ${line}`);
  }
});

test('413 also for a chunked body over 64 KiB', async () => {
  const snap = await srv.snapshot();
  const r = await new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: srv.port,
        method: 'POST',
        path: '/v1/workspaces',
        agent: false,
        headers: { authorization: `Bearer ${srv.rootKey}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('error', (e) => reject(new Error(`the server dropped the connection instead of answering 413: ${e.code}`)));
    req.write('{"name":"');
    for (let i = 0; i < 100; i++) req.write('x'.repeat(1024));
    req.end('"}');
  });
  assert.equal(r.status, 413, r.text);
  assert.equal(JSON.parse(r.text).error, 'payload_too_large');
  assert.deepEqual(await srv.snapshot(), snap);
});
