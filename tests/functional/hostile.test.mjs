// A hostile-client suite: what a broken or malicious HTTP client may send,
// over raw node:net sockets (fetch and node:http normalise too much).
// Malformed request lines, huge headers, 10 MB bodies, invalid UTF-8 and NUL
// bytes, CR/LF injection into the headers gateway mode echoes, SQL
// meta-characters in every field, deeply nested JSON, slowloris, thousands of
// idle connections, pipelining and request smuggling, connections reset
// mid-body. For each: a clear 4xx (a JSON {"error","message"} body where the
// server answers at all) or a closed connection; everyone else keeps being
// answered; nothing stored changes; and the server does not crash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { startServer, assertError, sleep } from './lib/keyward.mjs';

let srv;
let ws; // a workspace of the shared server
let good; // a valid live key (with its secret) in ws, scopes orders:read
before(async () => {
  srv = await startServer();
  ws = await srv.createWorkspace('hostile', { max_active_keys: 1000 });
  good = await srv.createKey(ws.id, { name: 'the good key', scopes: ['orders:read'], meta: { plan: 'pro' } });
});
after(async () => {
  await srv?.close();
});

// ---------------------------------------------------------------------------
// Raw HTTP over node:net

const utf8 = new TextDecoder('utf-8', { fatal: true });
const b = (s) => (Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'));

// Splits the bytes a server sent into responses (keyward always frames with
// Content-Length). headLines are the raw lines of the status line and header
// block; headers is [[lower-case name, value]].
function parseResponses(buf) {
  const responses = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const head = buf.subarray(off, end).toString('latin1');
    const headLines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(headLines[0]);
    if (!m) return { responses, garbage: buf.subarray(off) };
    const headers = headLines.slice(1).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    });
    const cl = headers.find(([k]) => k === 'content-length');
    const len = cl ? Number(cl[1]) : 0;
    if (buf.length < end + 4 + len) break;
    const body = buf.subarray(end + 4, end + 4 + len);
    responses.push({
      status: Number(m[1]),
      headLines,
      headers,
      header: (name) => headers.find(([k]) => k === name.toLowerCase())?.[1] ?? null,
      body,
      text: body.toString('utf8'),
    });
    off = end + 4 + len;
  }
  return { responses, garbage: null };
}

// Opens a connection, writes each element of writes (string: latin1 bytes;
// Buffer: as is; a number: pause that many ms), then collects what comes
// back. Resolves when `count` responses have arrived, when the server closes
// the connection, or after timeoutMs: {responses, closed, data, error, ms}.
function rawSession(writes, { count = Infinity, timeoutMs = 5000, port } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port ?? srv.port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let closed = false;
    let error = null;
    let done = false;
    const t0 = Date.now();
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const p = parseResponses(data);
      resolve({ ...p, data, closed, error, ms: Date.now() - t0 });
    };
    const timer = setTimeout(finish, timeoutMs);
    s.on('data', (d) => {
      data = Buffer.concat([data, d]);
      if (parseResponses(data).responses.length >= count) finish();
    });
    s.on('end', () => {
      closed = true;
      finish();
    });
    s.on('close', () => {
      closed = true;
      finish();
    });
    s.on('error', (e) => {
      error = e;
    });
    s.on('connect', async () => {
      for (const w of writes) {
        if (s.destroyed || done) break;
        if (typeof w === 'number') await sleep(w);
        else s.write(b(w));
      }
    });
  });
}

function describe(r) {
  const shown = r.data.length > 600 ? r.data.subarray(0, 600).toString('latin1') + '…' : r.data.toString('latin1');
  return `got ${r.responses.length} response(s) ${JSON.stringify(shown)}; closed=${r.closed} error=${r.error?.code ?? '-'}`;
}

// One raw response is a JSON error: status, {"error": code, "message": "…"},
// valid UTF-8, Cache-Control: no-store.
function assertRawError(res, status, code, what) {
  assert.ok(res, `${what}: no response`);
  const desc = `${what}: ${res.status} ${JSON.stringify(res.text)}`;
  assert.equal(res.status, status, desc);
  let text;
  try {
    text = utf8.decode(res.body);
  } catch {
    assert.fail(`${desc}: the body is not valid UTF-8`);
  }
  let j;
  try {
    j = JSON.parse(text);
  } catch {
    assert.fail(`${desc}: the body is not JSON`);
  }
  if (Array.isArray(code)) assert.ok(code.includes(j.error), desc);
  else assert.equal(j.error, code, desc);
  assert.equal(typeof j.message, 'string', `${desc}: no message`);
  assert.ok(j.message.length > 0, `${desc}: empty message`);
  assert.match(res.header('content-type') ?? '', /^application\/json/, `${desc}: Content-Type`);
  assert.equal(res.header('cache-control'), 'no-store', `${desc}: Cache-Control`);
  return j;
}

// A fatal error: exactly one response, the JSON error, then the server
// closes the connection; nothing after the bad request is answered.
function assertFatal(r, status, code, what) {
  assert.equal(r.garbage, null, `${what}: ${describe(r)}`);
  assert.equal(r.responses.length, 1, `${what}: ${describe(r)}`);
  assertRawError(r.responses[0], status, code, what);
  assert.ok(r.closed, `${what}: the server kept the connection open after a fatal error (${describe(r)})`);
}

// Every header line of a response is one well-formed field: no CR/LF
// smuggled into a value, no injected field.
function assertCleanHead(res, what) {
  for (const line of res.headLines.slice(1)) {
    assert.match(line, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+: [^\r\n\0]*$/, `${what}: header line ${JSON.stringify(line)}`);
  }
  for (const [name] of res.headers) {
    assert.ok(!['set-cookie', 'x-evil', 'location', 'refresh'].includes(name), `${what}: injected header ${name}`);
  }
}

function request(method, target, { headers = {}, body, version = '1.1' } = {}) {
  let head = `${method} ${target} HTTP/${version}\r\n`;
  const h = { host: '127.0.0.1', ...headers };
  const payload = body === undefined ? undefined : b(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  if (payload !== undefined && h['content-length'] === undefined && h['transfer-encoding'] === undefined) {
    h['content-length'] = String(payload.length);
  }
  for (const [k, v] of Object.entries(h)) if (v !== null) head += `${k}: ${v}\r\n`;
  head += '\r\n';
  return payload === undefined ? b(head) : Buffer.concat([b(head), payload]);
}

const rootAuth = () => ({ authorization: `Bearer ${srv.rootKey}` });

// The server still answers everyone: /healthz, a verified gateway request,
// a management read.
async function assertAlive(what) {
  const h = await srv.get('/healthz', { token: null });
  assert.equal(h.status, 200, `${what}: /healthz answered ${h.status} ${h.text}`);
  assert.deepEqual(h.json, { status: 'ok' }, what);
  const a = await srv.auth({ authorization: `Bearer ${good.key}`, 'x-real-ip': '192.0.2.200' });
  assert.equal(a.status, 200, `${what}: /v1/auth with a good key answered ${a.status} ${a.text}`);
  assert.equal(a.headers.get('x-keyward-key-id'), good.id, what);
  const w = await srv.get(`/v1/workspaces/${ws.id}`);
  assert.equal(w.status, 200, `${what}: GET workspace answered ${w.status} ${w.text}`);
}

// Runs fn, then checks that nothing stored changed and the server answers.
// When fn fails, its error is reported (noting a changed state too).
async function unchanged(what, fn) {
  const snap = await srv.snapshot();
  let failure = null;
  try {
    await fn();
  } catch (e) {
    failure = e;
  }
  await sleep(150); // anything still being processed lands before the check
  const now = await srv.snapshot();
  if (failure) {
    let changed = false;
    try {
      assert.deepEqual(now, snap);
    } catch {
      changed = true;
    }
    if (changed) throw new Error(`${failure.message}\n(${what}: the stored state changed as well)`, { cause: failure });
    throw failure;
  }
  assert.deepEqual(now, snap, `${what}: the stored state changed`);
  await assertAlive(`after ${what}`);
}

// Collects the failures of many independent cases, so that one run reports
// every case that fails rather than only the first.
function collector() {
  const failures = [];
  return {
    check(fn) {
      try {
        fn();
      } catch (e) {
        failures.push(e.message.split('\n')[0]);
      }
    },
    async checkAsync(fn) {
      try {
        await fn();
      } catch (e) {
        failures.push(e.message.split('\n')[0]);
      }
    },
    done(what) {
      assert.ok(failures.length === 0, `${what}: ${failures.length} case(s) failed:\n  - ${failures.join('\n  - ')}`);
    },
  };
}

// A fresh workspace and key for a test that aims writes at an existing
// object, so that a server bug there cannot spoil the shared good key.
async function victim(label) {
  const w = await srv.createWorkspace(`victim ${label}`);
  const k = await srv.createKey(w.id, { name: `victim ${label}`, scopes: ['orders:read'] });
  return { w, k };
}

let ipCounter = 1;
// A fresh client address for gateway calls that present bad keys, so that
// the failed-verifications-per-IP limit never trips on our own tests.
const freshIp = () => `198.18.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;

// ---------------------------------------------------------------------------

test('malformed request lines: 400 {"error":"invalid_request"} and the connection closed', async () => {
  await unchanged('malformed request lines', async () => {
    const cases = [
      ['GARBAGE\r\n\r\n', 'one word'],
      ['GET /healthz\r\n\r\n', 'no version'],
      ['GET /healthz HTTP/1.x\r\n\r\n', 'bad version'],
      ['GET /healthz HTTP/11\r\n\r\n', 'version without dot'],
      ['GET /healthz FTP/1.1\r\n\r\n', 'not HTTP'],
      ['GET /healthz HTTP/1.1 extra\r\n\r\n', 'a fourth word'],
      ['GET  /healthz HTTP/1.1\r\n\r\n', 'two spaces'],
      ['GET /heal thz HTTP/1.1\r\n\r\n', 'a space in the target'],
      ['GET\t/healthz\tHTTP/1.1\r\n\r\n', 'tabs for spaces'],
      [' GET /healthz HTTP/1.1\r\n\r\n', 'a leading space'],
      ['/healthz HTTP/1.1\r\n\r\n', 'no method'],
      ['G(T /healthz HTTP/1.1\r\n\r\n', 'a separator in the method'],
      ['GET /healthz\0 HTTP/1.1\r\n\r\n', 'NUL in the target'],
      ['GET /healthz HTTP/1.1\n\n', 'bare LF line ends'],
      ['GET /healthz HTTP/1.1\rHost: x\r\r', 'bare CR line ends'],
      ['GET /healthz HTTP/1.1\r\nHost x\r\n\r\n', 'a header without a colon'],
      ['GET /healthz HTTP/1.1\r\nX Bad: 1\r\n\r\n', 'a space in a header name'],
      ['GET /healthz HTTP/1.1\r\n: no-name\r\n\r\n', 'an empty header name'],
      ['GET /healthz HTTP/1.1\r\nX-A\0: 1\r\n\r\n', 'NUL in a header name'],
      [Buffer.from('16030100a5010000a10303', 'hex'), 'a TLS ClientHello on the plain port'],
      [Buffer.from('505249202a20485454502f322e300d0a0d0a534d0d0a0d0a', 'hex'), 'the HTTP/2 preface'],
    ];
    const results = await Promise.all(cases.map(([bytes]) => rawSession([bytes], { timeoutMs: 4000 })));
    const c = collector();
    results.forEach((r, i) => c.check(() => assertFatal(r, 400, 'invalid_request', `request line: ${cases[i][1]}`)));
    c.done('malformed requests');
  });
});

test('unknown and odd methods and targets are answered (405/404) and the connection stays usable', async () => {
  await unchanged('odd methods', async () => {
    for (const method of ['FOO', 'get', 'PROPFIND', 'X'.repeat(200)]) {
      const r = await rawSession([request(method, '/healthz'), request('GET', '/healthz')], { count: 2, timeoutMs: 3000 });
      assert.equal(r.responses.length, 2, `${method.slice(0, 20)}: ${describe(r)}`);
      const j = assertRawError(r.responses[0], 405, 'method_not_allowed', `${method.slice(0, 20)} /healthz`);
      assert.ok(!j.message.includes('\r') && !j.message.includes('\n'));
      assert.equal(r.responses[0].header('allow'), 'GET', 'Allow');
      assert.equal(r.responses[1].status, 200, `the request after ${method.slice(0, 20)}: ${describe(r)}`);
    }
    for (const target of ['*', 'http://evil.example/healthz', '/v1/../../etc/passwd', '//healthz', '/healthz/']) {
      const r = await rawSession([request('GET', target)], { count: 1, timeoutMs: 3000 });
      assert.equal(r.responses.length, 1, `${target}: ${describe(r)}`);
      assertRawError(r.responses[0], 404, 'not_found', `GET ${target}`);
    }
  });
});

test('huge headers: 431, a header block just under 16 KiB still works', async () => {
  await unchanged('huge headers', async () => {
    const big = 'a'.repeat(1 << 20);
    const cases = [
      [request('GET', '/healthz', { headers: { 'x-pad': big } }), 'one 1 MiB header'],
      [request('GET', '/healthz', { headers: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`x-h${i}`, 'v'])) }), '5000 headers'],
      [request('GET', `/healthz?${'q'.repeat(20_000)}`), 'a 20 kB target'],
      [request('POST', '/v1/api-keys', { headers: { ...rootAuth(), cookie: 'c='.repeat(9000) }, body: '{}' }), 'an 18 kB Cookie on a write'],
      [request('GET', '/v1/auth', { headers: { authorization: `Bearer ${'k'.repeat(17_000)}`, 'x-real-ip': freshIp() } }), 'a 17 kB bearer token'],
      [`GET /healthz HTTP/1.1\r\n${`x-slow: ${'z'.repeat(1000)}\r\n`.repeat(40)}`, 'an endless header block with no blank line'],
    ];
    const c = collector();
    for (const [bytes, what] of cases) {
      const r = await rawSession([bytes], { timeoutMs: 4000 });
      c.check(() => assertFatal(r, 431, 'invalid_request', what));
    }
    c.done('huge headers');
    // The limit is 16 KiB, not less: 15 KiB of headers is an ordinary request.
    const r = await rawSession([request('GET', '/healthz', { headers: { 'x-pad': 'p'.repeat(15 * 1024) } })], { count: 1 });
    assert.equal(r.responses[0]?.status, 200, `15 KiB of headers: ${describe(r)}`);
  });
});

test('10 MB bodies: 413 payload_too_large (Content-Length, chunked, Expect: 100-continue), nothing stored', async () => {
  await unchanged('10 MB bodies', async () => {
    const ten = 10 * 1024 * 1024;
    const keyJson = (pad) =>
      Buffer.from(JSON.stringify({ workspace_id: ws.id, environment: 'live', name: 'huge', meta: { pad: 'x'.repeat(pad) } }));

    // Content-Length 10 MiB, the whole body sent.
    const body = keyJson(ten);
    let r = await rawSession([request('POST', '/v1/api-keys', { headers: { ...rootAuth(), 'content-type': 'application/json' }, body })], { timeoutMs: 8000 });
    assertFatal(r, 413, 'payload_too_large', '10 MiB with Content-Length');

    // The same as chunked transfer coding: no length to refuse up front.
    const chunks = [];
    for (let off = 0; off < body.length; off += 65536) {
      const part = body.subarray(off, off + 65536);
      chunks.push(Buffer.concat([b(`${part.length.toString(16)}\r\n`), part, b('\r\n')]));
    }
    chunks.push(b('0\r\n\r\n'));
    r = await rawSession(
      [request('POST', '/v1/api-keys', { headers: { ...rootAuth(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }), Buffer.concat(chunks)],
      { timeoutMs: 8000 },
    );
    assertFatal(r, 413, 'payload_too_large', '10 MiB chunked');

    // Expect: 100-continue with a 10 MiB length: refused before the body, no 100 Continue.
    r = await rawSession(
      [request('POST', '/v1/api-keys', { headers: { ...rootAuth(), 'content-type': 'application/json', expect: '100-continue', 'content-length': String(ten) } })],
      { timeoutMs: 4000 },
    );
    assert.ok(r.data.toString('latin1').startsWith('HTTP/1.1 413 '), `no 100 Continue before the 413: ${describe(r)}`);
    assertFatal(r, 413, 'payload_too_large', 'Expect: 100-continue, 10 MiB');

    // A Content-Length of 10 MiB but only a little sent: refused at once, not after a wait.
    r = await rawSession([request('POST', '/v1/workspaces', { headers: { ...rootAuth(), 'content-length': String(ten) } }), '{"name":"'], { timeoutMs: 4000 });
    assertFatal(r, 413, 'payload_too_large', '10 MiB announced, 9 bytes sent');
    assert.ok(r.ms < 2500, `the 413 took ${r.ms} ms`);

    // One byte over 64 KiB.
    const over = keyJson(0);
    const pad = Buffer.alloc(64 * 1024 + 1 - over.length, 0x20);
    r = await rawSession([request('POST', '/v1/api-keys', { headers: { ...rootAuth(), 'content-type': 'application/json' }, body: Buffer.concat([over, pad]) })]);
    assertFatal(r, 413, 'payload_too_large', '64 KiB + 1');

    // Several at once, while a normal client is served.
    const flood = Array.from({ length: 6 }, () =>
      rawSession([request('POST', '/v1/workspaces', { headers: rootAuth(), body: Buffer.alloc(ten, 0x5b) })], { timeoutMs: 10_000 }));
    await assertAlive('during six 10 MiB uploads');
    for (const [i, x] of (await Promise.all(flood)).entries()) assertFatal(x, 413, 'payload_too_large', `parallel upload ${i}`);
  });
});

test('bad Content-Length and Transfer-Encoding (request smuggling): 400 and the connection closed', async () => {
  await unchanged('framing attacks', async () => {
    const next = request('GET', '/v1/workspaces/ws_smuggled', { headers: rootAuth() });
    const cases = [
      [`POST /v1/keys/verify HTTP/1.1\r\nContent-Length: -1\r\n\r\n`, 'negative Content-Length'],
      [`POST /v1/keys/verify HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n`, 'Content-Length 1e3'],
      [`POST /v1/keys/verify HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n`, 'hex Content-Length'],
      [`POST /v1/keys/verify HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n`, 'overflowing Content-Length'],
      [`POST /v1/keys/verify HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\n{}`, 'two different Content-Lengths'],
      [`POST /v1/keys/verify HTTP/1.1\r\nContent-Length: 2, 30\r\n\r\n{}`, 'a Content-Length list'],
      [`POST /v1/keys/verify HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 'Content-Length and Transfer-Encoding'],
      [`POST /v1/keys/verify HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, 'a bad chunk size'],
      [`POST /v1/keys/verify HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n`, 'a chunk without its CRLF'],
      [`POST /v1/keys/verify HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 'chunked twice'],
      // RFC 9112 6.3: a request whose final transfer coding is not chunked
      // has no determinable length: 400 and close. Taking it as bodyless
      // lets the body be read as a second, smuggled request.
      [`POST /v1/keys/verify HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n`, 'Transfer-Encoding: gzip'],
      [`POST /v1/keys/verify HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n`, 'Transfer-Encoding: chunked, gzip'],
      [`POST /v1/keys/verify HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n`, 'Transfer-Encoding: xchunked'],
      [`POST /v1/keys/verify HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n`, 'Transfer-Encoding: identity'],
    ];
    const c = collector();
    // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 request means faulty
    // framing: the server must close the connection after answering it, so
    // nothing pipelined behind it is answered.
    const http10 = rawSession(
      [`POST /v1/keys/verify HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, next],
      { timeoutMs: 3000 },
    );
    const results = await Promise.all(cases.map(([bytes]) => rawSession([bytes, next], { timeoutMs: 3000 })));
    results.forEach((r, i) => c.check(() => assertFatal(r, 400, 'invalid_request', cases[i][1])));
    const r = await http10;
    c.check(() => {
      assert.ok(r.responses.length >= 1, `HTTP/1.0 + Transfer-Encoding: ${describe(r)}`);
      assert.equal(r.responses.length, 1, `HTTP/1.0 + Transfer-Encoding: a request pipelined behind it was answered: ${describe(r)}`);
      assert.ok(r.closed, `HTTP/1.0 + Transfer-Encoding: connection left open: ${describe(r)}`);
    });
    c.done('framing');
  });
});

test('invalid UTF-8 and NUL bytes in JSON bodies: 400, nothing stored', async () => {
  const v = await victim('json bytes');
  await unchanged('invalid UTF-8 / NUL in JSON', async () => {
    // [bytes, what, kind]: 'bad' is not JSON (or not UTF-8) at all; 'nul' is
    // valid JSON whose string holds an escaped NUL (a control character).
    const bodies = [
      [Buffer.from('{"name":"a\x00b"}', 'latin1'), 'a raw NUL inside a string', 'bad'],
      [Buffer.from('{"name":"ab"}\x00', 'latin1'), 'a NUL after the object', 'bad'],
      [Buffer.from('{"name":"ab"}\x00garbage{{{', 'latin1'), 'a NUL and garbage after the object', 'bad'],
      [Buffer.from('\x00{"name":"ab"}', 'latin1'), 'a NUL before the object', 'bad'],
      [Buffer.from('{"name"\x00:"ab"}', 'latin1'), 'a NUL between tokens', 'bad'],
      [Buffer.from([...Buffer.from('{"name":"'), 0xc0, 0xaf, ...Buffer.from('"}')]), 'an overlong encoding', 'bad'],
      [Buffer.from([...Buffer.from('{"name":"'), 0xff, 0xfe, ...Buffer.from('"}')]), 'bytes 0xff 0xfe', 'bad'],
      [Buffer.from([...Buffer.from('{"name":"'), 0x80, ...Buffer.from('"}')]), 'a lone continuation byte', 'bad'],
      [Buffer.from([...Buffer.from('{"name":"'), 0xe2, 0x82, ...Buffer.from('"}')]), 'a truncated sequence', 'bad'],
      [Buffer.from([...Buffer.from('{"name":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]), 'an encoded surrogate', 'bad'],
      [Buffer.from([...Buffer.from('{"name":"'), 0xf4, 0x90, 0x80, 0x80, ...Buffer.from('"}')]), 'a code point over U+10FFFF', 'bad'],
      [Buffer.from([...Buffer.from('{"na'), 0xff, ...Buffer.from('me":"x"}')]), 'invalid UTF-8 in a member name', 'bad'],
      [Buffer.from('{"name":"a\x01b"}', 'latin1'), 'a raw control byte in a string', 'bad'],
      [Buffer.from([0xfe, 0xff, 0, 0x7b, 0, 0x7d]), 'UTF-16', 'bad'],
      [Buffer.from('{"name":"\\ud800"}'), 'a lone surrogate escape', 'surrogate'],
      [Buffer.from('{"name":"a\\u0000b"}'), 'an escaped NUL', 'nul'],
    ];
    // [method, path, wrap(bytes), what an escaped NUL gets]
    const routes = [
      ['POST', '/v1/workspaces', (x) => x, [400, 'invalid_request']],
      ['PATCH', `/v1/workspaces/${v.w.id}`, (x) => x, [400, 'invalid_request']],
      // Inside meta too: no string or member name may hold a NUL.
      ['POST', '/v1/api-keys', (x) => Buffer.concat([b(`{"workspace_id":"${v.w.id}","environment":"live","meta":{"m":`), x, b('}}')]), [400, 'invalid_request']],
      ['PATCH', `/v1/api-keys/${v.k.id}`, (x) => x, [400, 'invalid_request']],
      ['DELETE', `/v1/api-keys/${v.k.id}`, (x) => Buffer.from(x.toString('latin1').replace('"name"', '"reason"'), 'latin1'), [400, 'invalid_request']],
      // Nor a key to verify: refused before it is looked at.
      ['POST', '/v1/keys/verify', (x) => Buffer.from(x.toString('latin1').replace('"name"', '"key"'), 'latin1'), [400, 'invalid_request']],
    ];
    const c = collector();
    for (const [method, path, wrap, nulAnswer] of routes) {
      for (const [raw, what, kind] of bodies) await c.checkAsync(async () => {
        const r = await rawSession([request(method, path, { headers: { ...rootAuth(), 'content-type': 'application/json' }, body: wrap(raw) })], { count: 1 });
        const label = `${method} ${path.replace(/\/(key|ws)_\w+/, '/$1_…')} with ${what}`;
        assert.equal(r.responses.length, 1, `${label}: ${describe(r)}`);
        const res = r.responses[0];
        if (kind === 'bad') assertRawError(res, 400, 'invalid_json', label);
        else if (kind === 'surrogate') assertRawError(res, 400, ['invalid_json', 'invalid_request'], label);
        else if (nulAnswer[0] === 400) assertRawError(res, 400, nulAnswer[1], label);
        else {
          assert.equal(res.status, 200, `${label}: ${describe(r)}`);
          const v = JSON.parse(utf8.decode(res.body));
          assert.equal(v.valid, false, label);
          assert.equal(v.code, 'malformed', label);
        }
      });
    }
    c.done('JSON bodies');
  });
});

test('control and exotic Unicode characters JSON can carry (escaped) in meta are stored and returned verbatim; a NUL is refused', async () => {
  // A NUL (escaped \u0000), as a value or a member name, is refused, and nothing is stored.
  const before = (await srv.get(`/v1/api-keys?workspace_id=${ws.id}&limit=100`)).json.data.length;
  for (const bad of [{ a: 'a\u0000b' }, { 'nul\u0000key': 1 }, { deep: [{ x: ['\u0000'] }] }]) {
    const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'nul', meta: bad });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
    assert.match(r.json.message, /^meta holds a NUL/);
  }
  assert.equal((await srv.get(`/v1/api-keys?workspace_id=${ws.id}&limit=100`)).json.data.length, before, 'a refused key was stored');
  const meta = { ctl: 'a\u0001b\u001f', emoji: '\u{1F511}', bidi: '\u202Eevil', ls: 'a\u2028b', quote: '"\'\\' };
  const k = await srv.createKey(ws.id, { name: 'unicode \u{1F511} \u00e9', meta });
  assert.deepEqual(k.meta, meta, 'create answer');
  assert.equal(k.name, 'unicode \u{1F511} \u00e9');
  const g = await srv.get(`/v1/api-keys/${k.id}`);
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(g.json.meta, meta, 'GET answer');
  const v = await srv.verify({ key: k.key });
  assert.equal(v.valid, true);
  assert.deepEqual(v.meta, meta, 'verify answer');
  // And the answer bytes are valid UTF-8.
  const r = await rawSession([request('GET', `/v1/api-keys/${k.id}`, { headers: rootAuth() })], { count: 1 });
  assert.doesNotThrow(() => utf8.decode(r.responses[0].body), 'GET answer is valid UTF-8');
  // An error message that quotes a client's bytes stays valid UTF-8 JSON.
  for (const q of ['cursor=%FF%FE%00%C0%AF', 'limit=%FF', 'bogus%FF=1', '%00=%00']) {
    const e = await rawSession([request('GET', `/v1/workspaces?${q}`, { headers: rootAuth() })], { count: 1 });
    assertRawError(e.responses[0], 400, 'invalid_request', `GET /v1/workspaces?${q}`);
  }
  const e = await rawSession([request('GET', `/v1/usage?key_id=%FF%00%C0`, { headers: rootAuth() })], { count: 1 });
  assertRawError(e.responses[0], 404, 'not_found', 'usage for a key id of invalid UTF-8');
  await srv.del(`/v1/api-keys/${k.id}`);
  await assertAlive('after unicode');
});

test('NUL and invalid UTF-8 in headers and in the target: 400 for NUL, a clean answer otherwise', async () => {
  await unchanged('NUL / invalid UTF-8 in headers', async () => {
    const nul = [
      ['x-api-key', `${good.key}\0`],
      ['authorization', `Bearer ${srv.rootKey}\0`],
      ['x-real-ip', '192.0.2.1\0'],
      ['referer', 'https://a.example/\0'],
      ['x-forwarded-uri', '/v1/orders\0/../admin'],
      ['content-type', 'application/json\0'],
    ];
    for (const [name, value] of nul) {
      const r = await rawSession([request('GET', '/v1/auth', { headers: { [name]: value } })], { timeoutMs: 3000 });
      assertFatal(r, 400, 'invalid_request', `NUL in ${name}`);
    }
    // Bytes 0x80-0xFF are obs-text: allowed in a field value, never a valid credential.
    const hi = (s) => Buffer.from(s, 'latin1').toString('latin1');
    let r = await rawSession([request('GET', '/v1/auth', { headers: { 'x-api-key': hi('kw_live_\xff\xfe\xc0\xaf'), 'x-real-ip': freshIp() } })], { count: 1 });
    assertRawError(r.responses[0], 401, 'malformed', 'X-API-Key of invalid UTF-8');
    r = await rawSession([request('GET', '/v1/workspaces', { headers: { authorization: hi('Bearer kw_root_\xff\xff\xff') } })], { count: 1 });
    assertRawError(r.responses[0], 401, 'unauthorized', 'a root token of invalid UTF-8');
    r = await rawSession([request('GET', '/v1/auth', { headers: { 'x-api-key': hi(`${good.key}\xff`), 'x-real-ip': freshIp() } })], { count: 1 });
    assertRawError(r.responses[0], 401, 'malformed', 'a good key with a byte appended');
    // A good key with odd bytes in the request description: the key has no
    // restrictions, so it is allowed, and the answer is well-formed.
    r = await rawSession([request('GET', '/v1/auth', {
      headers: { 'x-api-key': good.key, referer: hi('https://\xff\xfe.example/\xc0'), 'x-forwarded-uri': hi('/v1/\xff?q=\xfe'), 'x-forwarded-method': hi('G\xffT'), 'x-real-ip': '192.0.2.201' },
    })], { count: 1 });
    assert.equal(r.responses[0]?.status, 200, `good key, odd request description: ${describe(r)}`);
    assertCleanHead(r.responses[0], 'good key, odd request description');
    // Raw high bytes in the target.
    for (const target of ['/v1/workspaces/\xff\xfe', '/v1/api-keys/\xc0\xaf', '/v1/auth/\xff', '/\xff\xff']) {
      r = await rawSession([request('GET', hi(target), { headers: { ...rootAuth(), 'x-api-key': good.key, 'x-real-ip': '192.0.2.202' } })], { count: 1, timeoutMs: 3000 });
      assert.ok(r.responses.length >= 1, `GET ${JSON.stringify(target)}: ${describe(r)}`);
      const res = r.responses[0];
      assert.ok(res.status < 500, `GET ${JSON.stringify(target)}: ${describe(r)}`);
      assert.doesNotThrow(() => utf8.decode(res.body), `GET ${JSON.stringify(target)}: the answer is not valid UTF-8`);
      if (res.status >= 400) assertRawError(res, res.status, JSON.parse(utf8.decode(res.body)).error, `GET ${JSON.stringify(target)}`);
    }
  });
});

test('CR/LF injection: nothing a client stored or sent becomes a header of a /v1/auth answer', async () => {
  const evil = 'x\r\nSet-Cookie: injected=1\r\nX-Evil: 1';
  const v = await victim('crlf');
  await unchanged('CR/LF in names, scopes, reasons, environments', async () => {
    // Values that would be echoed must refuse control characters outright.
    for (const [body, what] of [
      [{ name: evil }, 'key name'],
      [{ name: 'a\nb' }, 'key name with LF'],
      [{ name: 'a\rb' }, 'key name with CR'],
      [{ scopes: [evil] }, 'scope'],
      [{ scopes: ['orders:read\r\n'] }, 'scope with a trailing CRLF'],
      [{ environment: `live${evil}` }, 'environment'],
      [{ environment: 'live\r\n' }, 'environment with a trailing CRLF'],
      [{ workspace_id: `${ws.id}\r\nSet-Cookie: x=1` }, 'workspace_id'],
      [{ endpoint_allowlist: [`GET /v1/x${evil}`] }, 'endpoint pattern'],
      [{ referrer_allowlist: [`a.example${evil}`] }, 'referrer pattern'],
      [{ ip_allowlist: [`10.0.0.0/8${evil}`] }, 'ip block'],
    ]) {
      const r = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'crlf', ...body });
      assert.ok(r.status === 400 || r.status === 404, `${what}: ${r.status} ${r.text}`);
      assertError(r, r.status, r.status === 400 ? 'invalid_request' : 'not_found', `a ${what} with CR/LF`);
    }
    assertError(await srv.post('/v1/workspaces', { name: evil }), 400, 'invalid_request', 'workspace name with CR/LF');
    assertError(await srv.patch(`/v1/workspaces/${v.w.id}`, { name: evil }), 400, 'invalid_request', 'workspace rename with CR/LF');
    assertError(await srv.patch(`/v1/api-keys/${v.k.id}`, { name: evil }), 400, 'invalid_request', 'key rename with CR/LF');
    assertError(await srv.patch(`/v1/api-keys/${v.k.id}`, { scopes: [evil] }), 400, 'invalid_request', 'scopes with CR/LF');
    assertError(await srv.api('DELETE', `/v1/api-keys/${v.k.id}`, { body: { reason: evil } }), 400, 'invalid_request', 'revoke reason with CR/LF');
  });

  // meta is free-form JSON: stored verbatim, but never in a header.
  const meta = { note: evil, [evil]: 'v', lf: '\n\nHTTP/1.1 200 OK\r\n\r\n' };
  const k = await srv.createKey(ws.id, { name: 'crlf meta', scopes: ['orders:read', 'orders:write'], meta });
  assert.deepEqual(k.meta, meta);
  assert.deepEqual((await srv.get(`/v1/api-keys/${k.id}`)).json.meta, meta, 'meta stored verbatim');

  const hdrs = { 'x-api-key': k.key, 'x-real-ip': '192.0.2.210' };
  const attempts = [
    ['/v1/auth', hdrs],
    ['/v1/auth/x%0d%0aSet-Cookie:%20injected=1?q=%0d%0aX-Evil:%201', hdrs],
    ['/v1/auth', { ...hdrs, 'x-forwarded-uri': '/a%0d%0aSet-Cookie:%20injected=1' }],
    ['/v1/auth', { ...hdrs, 'x-keyward-required-scopes': 'orders:read%0d%0aSet-Cookie:x=1' }],
    ['/v1/auth', { ...hdrs, 'x-keyward-required-environment': 'live%0d%0aX-Evil: 1' }],
    ['/v1/auth', { ...hdrs, 'x-keyward-required-scopes': 'orders:read\r\n Set-Cookie: injected=1' }], // obs-fold
    ['/v1/auth', { ...hdrs, 'x-forwarded-uri': '/v1/orders\r\n\tSet-Cookie: injected=1' }], // obs-fold, tab
    ['/v1/auth', { ...hdrs, 'x-forwarded-method': 'GET\r\n X-Evil: 1' }],
    ['/v1/auth', { 'x-api-key': `${k.key}\r\n X-Evil: 1`, 'x-real-ip': freshIp() }],
    ['/v1/api-keys/x%0d%0aSet-Cookie:%20injected=1', rootAuth()],
    ['/v1/workspaces/%0d%0aX-Evil:%201', rootAuth()],
    ['/v1/nowhere%0d%0aSet-Cookie:%20injected=1', {}],
  ];
  for (const [target, headers] of attempts) {
    const r = await rawSession([request('GET', target, { headers })], { count: 1, timeoutMs: 3000 });
    const what = `GET ${target} ${JSON.stringify(headers).slice(0, 160)}`;
    assert.ok(r.responses.length === 1 || r.closed, `${what}: ${describe(r)}`);
    if (r.responses.length === 0) continue;
    const res = r.responses[0];
    assert.ok(res.status < 500, `${what}: ${describe(r)}`);
    assertCleanHead(res, what);
    assert.ok(!/set-cookie|x-evil/i.test(res.headLines.join('\n')), `${what}: injected text in the header block ${JSON.stringify(res.headLines)}`);
    if (res.status === 200) {
      assert.equal(res.header('x-keyward-key-id'), k.id, what);
      assert.equal(res.header('x-keyward-workspace-id'), ws.id, what);
      assert.equal(res.header('x-keyward-environment'), 'live', what);
      assert.equal(res.header('x-keyward-scopes'), 'orders:read,orders:write', what);
    }
    // Exactly one response: the header block did not split into two.
    assert.equal(r.garbage, null, `${what}: ${describe(r)}`);
  }
  // The plain call is allowed and carries exactly the identity headers.
  const ok = await rawSession([request('GET', '/v1/auth', { headers: hdrs })], { count: 1 });
  assert.equal(ok.responses[0]?.status, 200, describe(ok));
  await srv.del(`/v1/api-keys/${k.id}`);
  await assertAlive('after CR/LF');
});

// SQL meta-characters, from single characters to classic injections.
const SQL = [
  "'",
  '"',
  ';',
  '--',
  '%',
  '_',
  '\\',
  "' OR 1=1 --",
  "' OR '1'='1",
  "'; DROP TABLE api_keys;--",
  '"; DROP TABLE workspaces; --',
  "%' OR '%'='",
  '1); DELETE FROM audit_log; --',
  "' UNION SELECT key_hash, NULL FROM api_keys --",
  '*/ OR /*',
  "\\'; --",
];
const SCOPE_RE = /^[A-Za-z0-9:._*-]{1,64}$/;
const enc = encodeURIComponent;

test('SQL meta-characters in every written field are stored and returned verbatim', async () => {
  const before = await srv.listAll('/v1/workspaces');
  const created = [];
  for (const p of SQL) {
    const label = JSON.stringify(p);
    let r = await srv.post('/v1/workspaces', { name: p });
    assert.equal(r.status, 201, `workspace ${label}: ${r.text}`);
    assert.equal(r.json.name, p, `workspace name ${label}`);
    const w = r.json;
    created.push(w.id);
    assert.equal((await srv.get(`/v1/workspaces/${w.id}`)).json.name, p, `GET workspace ${label}`);
    r = await srv.patch(`/v1/workspaces/${w.id}`, { name: `${p}${p}` });
    assert.equal(r.status, 200, `rename ${label}: ${r.text}`);
    assert.equal(r.json.name, `${p}${p}`, `renamed ${label}`);

    const scopes = SCOPE_RE.test(p) ? [p, 'orders:read'] : ['orders:read'];
    const meta = { [p]: p, note: p, list: [p, { [p]: p }] };
    r = await srv.post('/v1/api-keys', { workspace_id: w.id, environment: 'live', name: p, scopes, meta });
    assert.equal(r.status, 201, `key ${label}: ${r.text}`);
    const k = r.json;
    assert.equal(k.name, p, `key name ${label}`);
    assert.deepEqual(k.scopes, scopes, `scopes ${label}`);
    assert.deepEqual(k.meta, meta, `meta ${label}`);
    const g = (await srv.get(`/v1/api-keys/${k.id}`)).json;
    assert.equal(g.name, p, `GET key name ${label}`);
    assert.deepEqual(g.meta, meta, `GET key meta ${label}`);
    assert.deepEqual(g.scopes, scopes, `GET key scopes ${label}`);
    const v = await srv.verify({ key: k.key });
    assert.equal(v.valid, true, `verify ${label}`);
    assert.equal(v.name, p, `verify name ${label}`);
    assert.deepEqual(v.meta, meta, `verify meta ${label}`);
    if (SCOPE_RE.test(p)) {
      const s = await srv.verify({ key: k.key, scopes: [p] });
      assert.equal(s.valid, true, `verify demanding the scope ${label}: ${JSON.stringify(s)}`);
    }

    // Patterns: a clean 400, or stored verbatim.
    for (const field of ['referrer_allowlist', 'endpoint_allowlist']) {
      for (const value of [p, `https://a.example/${p}`, `/v1/${p}`]) {
        r = await srv.patch(`/v1/api-keys/${k.id}`, { [field]: [value] });
        if (r.status === 200) assert.deepEqual(r.json[field], [value], `${field} ${JSON.stringify(value)} verbatim`);
        else assertError(r, 400, 'invalid_request', `${field} ${JSON.stringify(value)}`);
      }
      await srv.patch(`/v1/api-keys/${k.id}`, { [field]: [] });
    }

    r = await srv.patch(`/v1/api-keys/${k.id}`, { name: `${p} v2`, meta: { q: p } });
    assert.equal(r.status, 200, `patch ${label}: ${r.text}`);
    assert.equal(r.json.name, `${p} v2`);
    assert.deepEqual(r.json.meta, { q: p });

    // Lists filtered by this workspace hold exactly its key and its events.
    const keys = await srv.listAll(`/v1/api-keys?workspace_id=${enc(w.id)}`);
    assert.deepEqual(keys.map((x) => x.id), [k.id], `keys of ${label}`);
    const audit = await srv.listAll(`/v1/audit-log?workspace_id=${enc(w.id)}`);
    assert.ok(audit.length >= 4 && audit.every((e) => e.workspace_id === w.id), `audit of ${label}`);

    r = await srv.api('DELETE', `/v1/api-keys/${k.id}`, { body: { reason: p } });
    assert.equal(r.status, 200, `revoke ${label}: ${r.text}`);
    assert.equal((await srv.get(`/v1/api-keys/${k.id}`)).json.revoked_reason, p, `revoked_reason ${label}`);
    assert.equal((await srv.verify({ key: k.key })).code, 'revoked', `revoked ${label}`);
  }
  // No table was dropped or emptied: every workspace from before is still there.
  const afterList = await srv.listAll('/v1/workspaces');
  assert.equal(afterList.length, before.length + SQL.length);
  for (const w of before) assert.ok(afterList.some((x) => x.id === w.id), `workspace ${w.id} survived`);
  assert.ok((await srv.listAll('/v1/audit-log')).length > SQL.length * 5, 'the audit log was not emptied');
  await assertAlive('after the SQL writes');
});

test('SQL meta-characters in ids, query parameters and refused fields: clean 4xx or empty lists, nothing changes', async () => {
  const v = await victim('sql');
  await unchanged('SQL in ids and queries', async () => {
    const keyCount = (await srv.listAll('/v1/api-keys')).length;
    assert.ok(keyCount > 1);
    for (const p of SQL) {
      const label = JSON.stringify(p);
      const e = enc(p);
      // Refused fields of the write routes.
      const create = (extra) => srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'sql', ...extra });
      let r = await create({ workspace_id: p });
      assert.ok([400, 404].includes(r.status), `workspace_id ${label}: ${r.status} ${r.text}`);
      assertError(r, r.status, r.status === 404 ? 'not_found' : 'invalid_request', `workspace_id ${label}`);
      assertError(await create({ environment: p }), 400, 'invalid_request', `environment ${label}`);
      if (!SCOPE_RE.test(p)) assertError(await create({ scopes: [p] }), 400, 'invalid_request', `scope ${label}`);
      assertError(await create({ ip_allowlist: [p] }), 400, 'invalid_request', `ip_allowlist ${label}`);
      assertError(await create({ expires_at: p }), 400, 'invalid_request', `expires_at ${label}`);
      assertError(await create({ rate_limit: { limit: p, period_seconds: 60 } }), 400, 'invalid_request', `rate_limit ${label}`);
      assertError(await create({ meta: p }), 400, 'invalid_request', `meta as a string ${label}`);
      assertError(await create({ [p]: 1 }), 400, 'invalid_request', `a field named ${label}`);
      assertError(await srv.post('/v1/workspaces', { name: 'sql', max_active_keys: p }), 400, 'invalid_request', `max_active_keys ${label}`);
      assertError(await srv.api('POST', `/v1/api-keys/${v.k.id}/rotate`, { body: { grace_seconds: p } }), 400, 'invalid_request', `grace_seconds ${label}`);

      // Path ids.
      assertError(await srv.get(`/v1/workspaces/${e}`), 404, 'not_found', `GET workspace ${label}`);
      assertError(await srv.patch(`/v1/workspaces/${e}`, { name: 'x' }), 404, 'not_found', `PATCH workspace ${label}`);
      assertError(await srv.get(`/v1/api-keys/${e}`), 404, 'not_found', `GET key ${label}`);
      assertError(await srv.patch(`/v1/api-keys/${e}`, { name: 'x' }), 404, 'not_found', `PATCH key ${label}`);
      assertError(await srv.del(`/v1/api-keys/${e}`), 404, 'not_found', `DELETE key ${label}`);
      assertError(await srv.api('POST', `/v1/api-keys/${e}/rotate`, { body: {} }), 404, 'not_found', `rotate ${label}`);
      assertError(await srv.get(`/v1/api-keys/${good.id}${e}`), 404, 'not_found', `GET good id + ${label}`);

      // Query parameters: filters match nothing, never everything.
      for (const q of [`workspace_id=${e}`, `environment=${e}`, `workspace_id=${ws.id}${e}`]) {
        r = await srv.get(`/v1/api-keys?${q}`);
        assert.equal(r.status, 200, `list keys ?${q}: ${r.text}`);
        assert.deepEqual(r.json.data, [], `list keys ?${q} matched keys`);
      }
      for (const q of [`workspace_id=${e}`, `target=${e}`]) {
        r = await srv.get(`/v1/audit-log?${q}`);
        assert.equal(r.status, 200, `audit ?${q}: ${r.text}`);
        assert.deepEqual(r.json.data, [], `audit ?${q} matched entries`);
      }
      assertError(await srv.get(`/v1/api-keys?status=${e}`), 400, 'invalid_request', `status ${label}`);
      for (const route of ['/v1/api-keys', '/v1/workspaces', '/v1/audit-log']) {
        assertError(await srv.get(`${route}?cursor=${e}`), 400, 'invalid_request', `${route} cursor ${label}`);
        assertError(await srv.get(`${route}?limit=${e}`), 400, 'invalid_request', `${route} limit ${label}`);
        assertError(await srv.get(`${route}?limit=10${e}`), 400, 'invalid_request', `${route} limit 10${label}`);
        assertError(await srv.get(`${route}?${e}x=1`), 400, 'invalid_request', `${route} parameter named ${label}`);
      }
      assertError(await srv.get(`/v1/usage?workspace_id=${e}`), 404, 'not_found', `usage workspace ${label}`);
      assertError(await srv.get(`/v1/usage?key_id=${e}`), 404, 'not_found', `usage key ${label}`);
      assertError(await srv.get(`/v1/usage?workspace_id=${ws.id}&granularity=${e}`), 400, 'invalid_request', `granularity ${label}`);
      assertError(await srv.get(`/v1/usage?workspace_id=${ws.id}&from=${e}`), 400, 'invalid_request', `from ${label}`);

      // Verification.
      const ver = await srv.verify({ key: p, ip: freshIp() });
      assert.equal(ver.valid, false);
      assert.equal(ver.code, 'malformed', `verify key ${label}`);
      r = await srv.auth({ 'x-api-key': p, 'x-real-ip': freshIp() });
      assertError(r, 401, 'malformed', `gateway key ${label}`);
      r = await srv.auth({ 'x-api-key': good.key, 'x-real-ip': '192.0.2.220', 'x-keyward-required-scopes': p });
      assertError(r, 403, 'insufficient_scope', `gateway required scope ${label}`);
      r = await srv.auth({ 'x-api-key': good.key, 'x-real-ip': '192.0.2.220', 'x-keyward-required-environment': p });
      assertError(r, 401, 'wrong_environment', `gateway required environment ${label}`);
      r = await srv.auth({ authorization: `Bearer ${good.key}${p}`, 'x-real-ip': freshIp() });
      assertError(r, 401, 'malformed', `good key + ${label}`);
    }
    // Unencoded meta-characters that are legal in a path.
    for (const path of ["/v1/api-keys/'--", "/v1/api-keys/';DROP", '/v1/workspaces/%', "/v1/workspaces/'OR'1'='1", `/v1/api-keys/${good.id}'--`]) {
      const r = await srv.raw('GET', path, rootAuth());
      assertError(r, 404, 'not_found', `GET ${path}`);
    }
    assert.equal((await srv.listAll('/v1/api-keys')).length, keyCount, 'no key appeared or vanished');
  });
});

test('deeply nested JSON: 413 over 64 KiB, 400 invalid_json past 32 levels; brackets in strings do not count', async () => {
  const v = await victim('deep');
  await unchanged('deep nesting', async () => {
    const post = (path, body) => rawSession([request('POST', path, { headers: { ...rootAuth(), 'content-type': 'application/json' }, body })], { count: 1, timeoutMs: 4000 });
    // 100000 '[' is over the 64 KiB body limit.
    let r = await rawSession([request('POST', '/v1/workspaces', { headers: rootAuth(), body: '['.repeat(100_000) })], { timeoutMs: 4000 });
    assertFatal(r, 413, 'payload_too_large', "100000 '['");
    for (const [path, body, what] of [
      ['/v1/workspaces', '['.repeat(60_000), "60000 '['"],
      ['/v1/workspaces', '{"a":'.repeat(12_000), '12000 nested objects'],
      ['/v1/workspaces', `{"name":"x","max_active_keys":${'['.repeat(40)}1${']'.repeat(40)}}`, 'a nested value'],
      ['/v1/keys/verify', `{"key":${'['.repeat(50_000)}`, 'verify, 50000 ['],
      ['/v1/api-keys', `{"workspace_id":"${ws.id}","environment":"live","name":"deep","meta":${'{"a":'.repeat(33)}1${'}'.repeat(33)}}`, 'meta 34 levels deep'],
      ['/v1/api-keys', `{"workspace_id":"${ws.id}","environment":"live","name":"deep","meta":{"a":${'['.repeat(31)}${']'.repeat(31)}}}`, 'meta 33 levels deep'],
      ['/v1/workspaces', `${'['.repeat(20)}${'{'.repeat(20)}`, 'mixed, unclosed'],
    ]) {
      r = await post(path, body);
      assert.equal(r.responses.length, 1, `${what}: ${describe(r)}`);
      assertRawError(r.responses[0], 400, 'invalid_json', what);
    }
    r = await rawSession([request('PATCH', `/v1/api-keys/${v.k.id}`, { headers: rootAuth(), body: `{"meta":${'['.repeat(60_000)}` })], { count: 1 });
    assertRawError(r.responses[0], 400, 'invalid_json', 'PATCH 60000 [');
    // Unbalanced closers cannot pay for openers.
    r = await post('/v1/workspaces', `${']'.repeat(100)}${'['.repeat(100)}`);
    assertRawError(r.responses[0], 400, 'invalid_json', 'closers first');
  });
  // Exactly 32 levels is allowed, and brackets inside strings are text.
  const deep32 = { a: JSON.parse(`${'['.repeat(30)}${']'.repeat(30)}`) };
  const k = await srv.createKey(ws.id, { name: 'x'.repeat(10) + '['.repeat(100), meta: deep32 });
  assert.deepEqual(k.meta, deep32, 'meta 32 levels deep (body included) stored');
  assert.equal(k.name, 'x'.repeat(10) + '['.repeat(100));
  const tricky = `a\\"${'['.repeat(60)}`; // an escaped quote does not end the string
  const r = await rawSession([request('POST', '/v1/workspaces', { headers: rootAuth(), body: `{"name":"${tricky}"}` })], { count: 1 });
  assert.equal(r.responses[0]?.status, 201, `brackets after an escaped quote: ${describe(r)}`);
  assert.equal(JSON.parse(r.responses[0].text).name, `a"${'['.repeat(60)}`);
  await srv.del(`/v1/api-keys/${k.id}`);
  await assertAlive('after deep nesting');
});

test('slowloris: a byte a second is cut off after the 15 s request timeout (408 or close); everyone else is answered meanwhile', async (t) => {
  const snap = await srv.snapshot();
  // One connection trickling a request line and headers, one trickling a
  // body, and a batch of header tricklers; plus a client that never reads.
  const trickle = (head, bytes, { intervalMs = 1000, maxMs = 22_000 } = {}) =>
    new Promise((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1');
      let data = Buffer.alloc(0);
      let closedAt = null;
      let t0 = null;
      let i = 0;
      let timer;
      const done = () => {
        clearInterval(timer);
        s.destroy();
        resolve({ closedAt, data, sent: i, ...parseResponses(data) });
      };
      s.on('data', (d) => (data = Buffer.concat([data, d])));
      s.on('error', () => {});
      s.on('close', () => {
        if (closedAt === null) closedAt = Date.now() - t0;
        done();
      });
      s.on('end', () => {
        if (closedAt === null) closedAt = Date.now() - t0;
      });
      s.on('connect', () => {
        t0 = Date.now();
        if (head) s.write(b(head));
        const step = () => {
          if (Date.now() - t0 > maxMs) return done();
          if (i < bytes.length && !s.destroyed) s.write(b(bytes[i++]));
        };
        step();
        timer = setInterval(step, intervalMs);
      });
    });
  const headerBytes = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'s'.repeat(100)}`;
  const slowHeader = trickle('', headerBytes);
  const slowBody = trickle(
    `POST /v1/workspaces HTTP/1.1\r\nAuthorization: Bearer ${srv.rootKey}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`,
    `{"name":"slowloris${' '.repeat(200)}`,
  );
  const many = Array.from({ length: 30 }, () => trickle('', headerBytes, { intervalMs: 2000 }));
  // A client that pipelines many requests and never reads an answer.
  const sink = net.connect(srv.port, '127.0.0.1');
  sink.on('error', () => {});
  sink.on('connect', () => {
    sink.pause();
    sink.write(b(request('GET', '/openapi.json').toString('latin1').repeat(2000)));
  });

  // Meanwhile other clients are answered, and promptly.
  const latencies = [];
  const t0 = Date.now();
  let finished = false;
  const all = Promise.all([slowHeader, slowBody, ...many]).then((x) => {
    finished = true;
    return x;
  });
  while (!finished && Date.now() - t0 < 24_000) {
    const s = Date.now();
    const h = await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(3000) });
    assert.equal(h.status, 200, 'healthz during slowloris');
    await h.text();
    const a = await srv.auth({ authorization: `Bearer ${good.key}`, 'x-real-ip': '192.0.2.230' });
    assert.equal(a.status, 200, `auth during slowloris: ${a.text}`);
    latencies.push(Date.now() - s);
    await sleep(500);
  }
  const [h, body, ...rest] = await all;
  sink.destroy();
  assert.ok(latencies.length >= 10, `only ${latencies.length} probes ran`);
  assert.ok(Math.max(...latencies) < 2000, `slow answers during slowloris: ${latencies.join(',')} ms`);
  t.diagnostic(`trickled headers: closed after ${h.closedAt} ms, ${h.responses.map((x) => x.status).join(',') || 'no answer'}; ` +
    `trickled body: closed after ${body.closedAt} ms, ${body.responses.map((x) => x.status).join(',') || 'no answer'}; ` +
    `${latencies.length} probes, slowest ${Math.max(...latencies)} ms`);

  for (const [r, what] of [[h, 'trickled headers'], [body, 'trickled body'], ...rest.map((x, i) => [x, `trickler ${i}`])]) {
    assert.notEqual(r.closedAt, null, `${what}: the server still held the connection after 22 s (sent ${r.sent} bytes)`);
    assert.ok(r.closedAt >= 13_000, `${what}: closed after only ${r.closedAt} ms, before the 15 s timeout`);
    assert.ok(r.closedAt <= 18_500, `${what}: closed only after ${r.closedAt} ms`);
    assert.ok(r.responses.length <= 1, `${what}: ${r.data.toString('latin1')}`);
    if (r.responses.length === 1) assertRawError(r.responses[0], 408, 'invalid_request', what);
    else assert.equal(r.data.length, 0, `${what}: sent ${JSON.stringify(r.data.toString('latin1'))}`);
  }
  assert.deepEqual(await srv.snapshot(), snap, 'slowloris changed the stored state');
  await assertAlive('after slowloris');
});

test('thousands of idle and half-sent connections: normal requests still succeed, idle ones stay served', async (t) => {
  let limit = 1024;
  try {
    limit = Number(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;
  } catch {
    // keep the guess
  }
  const n = Math.max(100, Math.min(2000, limit - 300));
  const half = Math.floor(n / 4);
  t.diagnostic(`ulimit -n ${limit}: holding ${n} connections, ${half} of them with half a request sent`);
  const snap = await srv.snapshot();
  const sockets = [];
  let unexpectedClose = 0;
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise((resolve, reject) => {
        const s = net.connect(srv.port, '127.0.0.1');
        s.on('error', (e) => reject(new Error(`idle connection ${i}: ${e.message}`)));
        s.on('connect', () => {
          if (i < half) s.write(b(`POST /v1/api-keys HTTP/1.1\r\nAuthorization: Bearer ${srv.rootKey}\r\nContent-Length: 1000\r\n\r\n{"workspace_id":`));
          resolve();
        });
        s.on('close', () => unexpectedClose++);
        sockets.push(s);
      })),
  );
  try {
    await sleep(300);
    // Everyone else is served while they are held.
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      await assertAlive(`with ${n} connections held`);
      assert.ok(Date.now() - t < 2000, `answers took ${Date.now() - t} ms with ${n} connections held`);
    }
    const burst = await Promise.all(Array.from({ length: 50 }, () => srv.get('/healthz', { token: null })));
    assert.ok(burst.every((r) => r.status === 200), 'a burst of 50 requests');
    // The idle ones are still there and still served (the idle timeout is 75 s).
    assert.equal(unexpectedClose, 0, `${unexpectedClose} held connections were dropped`);
    const idle = sockets.slice(half, half + 20);
    const answers = await Promise.all(
      idle.map(
        (s) =>
          new Promise((resolve) => {
            let data = Buffer.alloc(0);
            s.on('data', (d) => {
              data = Buffer.concat([data, d]);
              if (parseResponses(data).responses.length) resolve(parseResponses(data).responses[0]);
            });
            setTimeout(() => resolve(null), 3000);
            s.write(request('GET', '/healthz'));
          }),
      ),
    );
    assert.ok(answers.every((a) => a && a.status === 200), `requests on long-idle connections: ${answers.map((a) => a?.status).join(',')}`);
  } finally {
    for (const s of sockets) s.destroy();
  }
  await sleep(300);
  assert.deepEqual(await srv.snapshot(), snap, 'held connections changed the stored state');
  await assertAlive(`after ${n} connections`);
});

test('the import path alone takes bodies past 64 KiB, up to 8 MiB; more is 413 however it is framed', async () => {
  await unchanged('import bodies', async () => {
    // 1 MiB of rows that are all rejected (a bad hash): read whole, answered row by row.
    const row = { workspace_id: ws.id, environment: 'live', hash: { algorithm: 'sha256', encoding: 'hex', value: 'zz' } };
    const rows = [];
    while (JSON.stringify(rows).length < 1024 * 1024 && rows.length < 1000) rows.push({ ...row, name: 'n'.repeat(1000) });
    const mib = Buffer.from(JSON.stringify({ keys: rows }));
    assert.ok(mib.length > 900 * 1024, `the body is ${mib.length} bytes`);
    let r = await rawSession([request('POST', '/v1/api-keys/import', { headers: { ...rootAuth(), 'content-type': 'application/json' }, body: mib })], { count: 1, timeoutMs: 8000 });
    assert.equal(r.responses[0]?.status, 200, `1 MiB import: ${describe(r)}`);
    assert.equal(JSON.parse(utf8.decode(r.responses[0].body)).rejected, rows.length);
    // The same body elsewhere is over that path's 64 KiB.
    r = await rawSession([request('POST', '/v1/api-keys', { headers: { ...rootAuth(), 'content-type': 'application/json' }, body: mib })], { timeoutMs: 8000 });
    assertFatal(r, 413, 'payload_too_large', '1 MiB to /v1/api-keys');
    // 9 MiB to the import path: announced, and chunked.
    const nine = Buffer.alloc(9 * 1024 * 1024, 0x20);
    r = await rawSession([request('POST', '/v1/api-keys/import', { headers: { ...rootAuth(), 'content-type': 'application/json' }, body: nine })], { timeoutMs: 8000 });
    assertFatal(r, 413, 'payload_too_large', '9 MiB import with Content-Length');
    const chunks = [];
    for (let off = 0; off < nine.length; off += 65536) {
      const part = nine.subarray(off, off + 65536);
      chunks.push(Buffer.concat([b(`${part.length.toString(16)}\r\n`), part, b('\r\n')]));
    }
    chunks.push(b('0\r\n\r\n'));
    r = await rawSession(
      [request('POST', '/v1/api-keys/import', { headers: { ...rootAuth(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }), Buffer.concat(chunks)],
      { timeoutMs: 8000 },
    );
    assertFatal(r, 413, 'payload_too_large', '9 MiB import chunked');
    // Without a credential, or with another method, the import path is as small as any.
    r = await rawSession([request('POST', '/v1/api-keys/import', { headers: { 'content-type': 'application/json' }, body: mib })], { timeoutMs: 8000 });
    assertFatal(r, 413, 'payload_too_large', '1 MiB import with no Authorization');
    r = await rawSession([request('PATCH', '/v1/api-keys/import', { headers: { ...rootAuth(), 'content-type': 'application/json' }, body: mib })], { timeoutMs: 8000 });
    assertFatal(r, 413, 'payload_too_large', '1 MiB PATCH to the import path');
    r = await rawSession([request('POST', '/v1/api-keys/import', { headers: { ...rootAuth(), 'content-type': 'application/json', 'content-length': String(20 * 1024 * 1024) } }), '{"keys":'], { timeoutMs: 4000 });
    assertFatal(r, 413, 'payload_too_large', '20 MiB announced to the import path');
    assert.match(utf8.decode(r.responses[0].body), /8192 KiB/, 'the 413 names the import path\'s own limit');
    // A query string does not make another path the import path, nor the reverse.
    r = await rawSession([request('POST', '/v1/api-keys?x=/v1/api-keys/import', { headers: { ...rootAuth(), 'content-type': 'application/json' }, body: mib })], { timeoutMs: 8000 });
    assertFatal(r, 413, 'payload_too_large', '1 MiB to /v1/api-keys with a query');
  });
});

test('pipelined requests are answered in order; a fatal one ends the connection after the ones before it', async () => {
  await unchanged('pipelining', async () => {
    // Five good requests in one write, in order.
    const five = Buffer.concat([
      request('GET', '/healthz'),
      request('POST', '/v1/keys/verify', { headers: rootAuth(), body: JSON.stringify({ key: good.key }) }),
      request('GET', `/v1/workspaces/${ws.id}`, { headers: rootAuth() }),
      request('GET', '/v1/auth', { headers: { 'x-api-key': good.key, 'x-real-ip': '192.0.2.240' } }),
      request('GET', '/v1/workspaces/ws_pipelined_5', { headers: rootAuth() }),
    ]);
    let r = await rawSession([five], { count: 5, timeoutMs: 4000 });
    assert.equal(r.responses.length, 5, describe(r));
    assert.deepEqual(r.responses.map((x) => x.status), [200, 200, 200, 200, 404], describe(r));
    assert.equal(JSON.parse(r.responses[1].text).key_id, good.id);
    assert.equal(JSON.parse(r.responses[2].text).id, ws.id);
    assert.equal(r.responses[3].header('x-keyward-key-id'), good.id);
    assert.match(JSON.parse(r.responses[4].text).message, /ws_pipelined_5/);
    assert.ok(!r.closed, 'a keep-alive connection stays open');

    // 200 in one write, answered in order.
    const many = Buffer.concat(Array.from({ length: 200 }, (_, i) => request('GET', `/v1/workspaces/ws_order_${i}`, { headers: rootAuth() })));
    r = await rawSession([many], { count: 200, timeoutMs: 8000 });
    assert.equal(r.responses.length, 200, describe(r));
    r.responses.forEach((x, i) => {
      assert.equal(x.status, 404, x.text);
      assert.match(JSON.parse(x.text).message, new RegExp(`\\bws_order_${i}\\b`), `answer ${i} out of order`);
    });

    // The same, split at awkward byte boundaries.
    const pieces = [];
    for (let off = 0; off < five.length; ) {
      const len = 1 + ((off * 7) % 13);
      pieces.push(five.subarray(off, off + len), 2);
      off += len;
    }
    r = await rawSession(pieces, { count: 5, timeoutMs: 8000 });
    assert.deepEqual(r.responses.map((x) => x.status), [200, 200, 200, 200, 404], `split pipeline: ${describe(r)}`);

    // An application error in the middle (bad JSON, 401, 404) does not end the connection.
    r = await rawSession([Buffer.concat([
      request('GET', '/healthz'),
      request('POST', '/v1/workspaces', { headers: rootAuth(), body: '{"name":' }),
      request('GET', '/v1/workspaces', { headers: { authorization: 'Bearer nope' } }),
      request('POST', '/v1/workspaces', { headers: { ...rootAuth(), 'content-type': 'text/plain' }, body: '{"name":"x"}' }),
      request('GET', '/healthz'),
    ])], { count: 5, timeoutMs: 4000 });
    assert.deepEqual(r.responses.map((x) => x.status), [200, 400, 401, 415, 200], describe(r));
    assertRawError(r.responses[1], 400, 'invalid_json', 'pipelined bad JSON');

    // A malformed request in the middle: the ones before answered, then 400 and close.
    r = await rawSession([Buffer.concat([
      request('GET', '/healthz'),
      request('GET', `/v1/workspaces/${ws.id}`, { headers: rootAuth() }),
      b('BOGUS REQUEST LINE\r\n\r\n'),
      request('POST', '/v1/workspaces', { headers: rootAuth(), body: '{"name":"after the bad one"}' }),
      request('GET', '/healthz'),
    ])], { timeoutMs: 4000 });
    assert.deepEqual(r.responses.map((x) => x.status), [200, 200, 400], describe(r));
    assertRawError(r.responses[2], 400, 'invalid_request', 'pipelined bad request line');
    assert.ok(r.closed, `closed after the bad one: ${describe(r)}`);

    // A body shorter than its Content-Length swallows the next request's
    // bytes as body, never runs it as a request of its own.
    r = await rawSession([Buffer.concat([
      request('POST', '/v1/keys/verify', { headers: { ...rootAuth(), 'content-length': '40' }, body: '{"key":"x"}' }),
      request('POST', '/v1/workspaces', { headers: rootAuth(), body: '{"name":"smuggled"}' }),
    ])], { timeoutMs: 3000 });
    assert.ok(r.responses.length >= 1, describe(r));
    assertRawError(r.responses[0], 400, 'invalid_json', 'a short body followed by a request');

    // An oversized one in the middle: 413 and close, nothing after it runs.
    r = await rawSession([Buffer.concat([
      request('GET', '/healthz'),
      request('POST', '/v1/workspaces', { headers: { ...rootAuth(), 'content-length': String(10 * 1024 * 1024) } }),
      request('POST', '/v1/workspaces', { headers: rootAuth(), body: '{"name":"after the big one"}' }),
    ])], { timeoutMs: 4000 });
    assert.deepEqual(r.responses.map((x) => x.status), [200, 413], describe(r));
    assert.ok(r.closed, `closed after the 413: ${describe(r)}`);

    // HTTP/1.0 without keep-alive: one answer, then close, even with more pipelined.
    r = await rawSession([Buffer.concat([request('GET', '/healthz', { version: '1.0' }), request('GET', '/healthz')])], { timeoutMs: 3000 });
    assert.equal(r.responses.length, 1, describe(r));
    assert.ok(r.closed, describe(r));
    // Connection: close on 1.1 likewise.
    r = await rawSession([Buffer.concat([request('GET', '/healthz', { headers: { connection: 'close' } }), request('GET', '/healthz')])], { timeoutMs: 3000 });
    assert.equal(r.responses.length, 1, describe(r));
    assert.equal(r.responses[0].header('connection'), 'close');
    assert.ok(r.closed, describe(r));
  });
});

test('connections reset mid-body create nothing', async () => {
  const v = await victim('reset');
  await unchanged('resets mid-body', async () => {
    const bodies = [
      ['/v1/api-keys', JSON.stringify({ workspace_id: ws.id, environment: 'live', name: 'reset mid-body', scopes: ['orders:read'] })],
      ['/v1/workspaces', JSON.stringify({ name: 'reset mid-body', max_active_keys: 3 })],
      [`/v1/api-keys/${v.k.id}/rotate`, JSON.stringify({ grace_seconds: 60 })],
    ];
    const attempts = [];
    for (const [path, json] of bodies) {
      for (const cut of [0.5, 0.99, 'chunked', 'headers']) {
        for (let rep = 0; rep < 5; rep++) {
          attempts.push(
            new Promise((resolve) => {
              const s = net.connect(srv.port, '127.0.0.1');
              let got = Buffer.alloc(0);
              s.on('data', (d) => (got = Buffer.concat([got, d])));
              s.on('error', () => {});
              s.on('close', () => resolve(got));
              s.on('connect', async () => {
                const full = Buffer.from(json);
                if (cut === 'headers') {
                  s.write(b(`POST ${path} HTTP/1.1\r\nAuthorization: Bearer ${srv.rootKey}\r\nContent-Le`));
                } else if (cut === 'chunked') {
                  s.write(request('POST', path, { headers: { ...rootAuth(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }));
                  s.write(b(`${full.length.toString(16)}\r\n`));
                  s.write(full);
                  s.write(b('\r\n')); // the terminating 0-chunk never comes
                } else {
                  const n = Math.floor(full.length * cut);
                  s.write(request('POST', path, { headers: { ...rootAuth(), 'content-type': 'application/json', 'content-length': String(full.length) } }));
                  s.write(full.subarray(0, n));
                }
                await sleep(40);
                s.resetAndDestroy();
              });
            }),
          );
        }
      }
    }
    const got = await Promise.all(attempts);
    for (const g of got) assert.equal(g.length, 0, `a reset request was answered: ${g.toString('latin1').slice(0, 200)}`);
    await sleep(300);
    assert.equal((await srv.listAll(`/v1/api-keys?workspace_id=${ws.id}`)).filter((k) => k.name === 'reset mid-body').length, 0);
    const all = await srv.listAll('/v1/api-keys');
    assert.equal(all.filter((k) => k.rotated_from === v.k.id).length, 0, 'the victim key was rotated');
    assert.equal(all.find((k) => k.id === v.k.id).expires_at, null, 'the victim key got an expiry');
  });
});

test('the server survived everything: still running, no 5xx, every log line one JSON object', async () => {
  await assertAlive('at the end');
  const m = await srv.get('/metrics', { token: null });
  assert.equal(m.status, 200);
  assert.ok(srv.running, `keyward exited (code ${srv.exitCode}, signal ${srv.exitSignal})\n${srv.allStderr.slice(-2000)}`);
  assert.equal(srv.exitSignal, null);
  assert.doesNotMatch(srv.allStderr, /terminate called|Assertion|Sanitizer|Segmentation|core dumped|std::bad_alloc/, 'a crash trace on stderr');
  const lines = srv.allStdout.split('\n').filter((l) => l.length);
  assert.ok(lines.length > 100, 'the access log has lines');
  for (const line of lines) {
    let obj;
    try {
      obj = JSON.parse(line);
    } catch {
      assert.fail(`a log line is not one JSON object: ${JSON.stringify(line.slice(0, 300))}`);
    }
    if (typeof obj.status === 'number') assert.ok(obj.status < 500, `a ${obj.status} answer was logged: ${line}`);
  }
});
