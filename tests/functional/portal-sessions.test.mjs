// Portal links, browser sessions and the console, against the real binary:
// an independent, adversarial black-box suite written from the contract
// (README.md, docs/http-api.md "The portal and the console").
//
// Every portal code, session token, root key and API key this file sees goes
// through noteSecret (or the helper's request functions), so the secrets
// sweep checks that none lands in a log, an error body, /metrics or the audit
// log; the last test also checks that directly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer,
  tryServe,
  makeTempDir,
  toToml,
  runCli,
  createRootKey,
  noteSecret,
  assertError,
  assertNoSecretIn,
  assertKeyObject,
  fabricateKey,
  poll,
  sleep,
  BASE62,
  RFC3339_UTC,
} from './lib/keyward.mjs';

// ---------------------------------------------------------------------------
// What this file saw: every secret (to search for afterwards) and every
// error body any server answered.

const seen = new Set();
const errorBodies = [];

function secret(s) {
  assert.equal(typeof s, 'string', `a secret that is not a string: ${s}`);
  noteSecret(s);
  seen.add(s);
  return s;
}

// Wraps srv.api and srv.raw to remember handed-out keys and error bodies.
function watch(srv) {
  const api = srv.api.bind(srv);
  srv.api = async (...args) => {
    const r = await api(...args);
    if (r.json && typeof r.json.key === 'string') secret(r.json.key);
    if (r.status >= 400) errorBodies.push(r.text);
    return r;
  };
  const raw = srv.raw.bind(srv);
  srv.raw = async (...args) => {
    const r = await raw(...args);
    if (r.status >= 400) errorBodies.push(r.text);
    return r;
  };
  return srv;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function randomBase62(n) {
  let out = '';
  for (let i = 0; i < n; i++) out += BASE62[Math.floor(Math.random() * 62)];
  return out;
}

// A well-formed session token no server issued.
const guessToken = () => secret(`kw_sess_${randomBase62(40)}`);

// The value of cookie `name` in a Set-Cookie header, and its attributes.
function parseSetCookie(header, name) {
  assert.ok(header, `no Set-Cookie (wanted ${name})`);
  const m = header.match(new RegExp(`(?:^|[,\\s])${name}=([^;,\\s]*)((?:;[^,]*)*)`));
  assert.ok(m, `no ${name} in Set-Cookie: ${header.replace(/kw_sess_\w+/g, 'kw_sess_…')}`);
  const attrs = {};
  for (const part of m[2].split(';').map((x) => x.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const k = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    attrs[k] = eq < 0 ? true : part.slice(eq + 1);
  }
  return { value: m[1], attrs };
}

// The Content-Security-Policy of a response, as {directive: [values]}.
function cspOf(res, what) {
  const v = res.headers.get('content-security-policy');
  assert.ok(v, `${what}: no Content-Security-Policy`);
  const d = {};
  for (const part of v.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) d[name.toLowerCase()] = values;
  }
  return d;
}

function assertPageHeaders(res, what, { frameAncestors = ["'none'"] } = {}) {
  const d = cspOf(res, what);
  assert.deepEqual(d['default-src'], ["'self'"], `${what}: default-src`);
  assert.deepEqual(d['script-src'], ["'self'"], `${what}: script-src must be 'self' alone (no 'unsafe-inline')`);
  assert.deepEqual(d['frame-ancestors'], frameAncestors, `${what}: frame-ancestors`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: X-Content-Type-Options`);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
  if (frameAncestors.length === 1 && frameAncestors[0] === "'none'") {
    assert.equal(res.headers.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`);
  } else {
    assert.notEqual((res.headers.get('x-frame-options') ?? '').toUpperCase(), 'DENY',
      `${what}: X-Frame-Options DENY would forbid the configured frame_ancestors`);
  }
}

// No inline script of any kind in an HTML document.
function assertNoInlineScript(html, what) {
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
    assert.equal(m[2].trim(), '', `${what}: an inline <script> body: ${m[0].slice(0, 120)}`);
    assert.match(m[1], /\bsrc\s*=/i, `${what}: a <script> without src: ${m[0].slice(0, 120)}`);
  }
  assert.doesNotMatch(html, /<[^>]+\son[a-z]+\s*=/i, `${what}: an inline event handler`);
  assert.doesNotMatch(html, /javascript:/i, `${what}: a javascript: URL`);
}

// ---------------------------------------------------------------------------
// Browser sessions

class Browser {
  constructor(srv, kind, token) {
    this.srv = srv;
    this.kind = kind;
    this.token = secret(token);
    this.csrf = null;
    this.session = null;
  }

  headers(extra = {}) {
    return { 'x-keyward-session': this.kind, cookie: `kw_${this.kind}=${this.token}`, ...extra };
  }

  async init() {
    const r = await this.get('/v1/session');
    assert.equal(r.status, 200, `GET /v1/session answered ${r.status}: ${r.text}`);
    this.session = r.json;
    this.csrf = r.json.csrf_token;
    assert.equal(typeof this.csrf, 'string');
    assert.ok(this.csrf.length >= 16, `csrf_token ${this.csrf}`);
    return this;
  }

  get(p, extra = {}) {
    return this.srv.api('GET', p, { token: null, headers: this.headers(extra) });
  }

  // A change as the page makes it: Origin, Sec-Fetch-Site and the CSRF token.
  write(method, p, body, extra = {}) {
    return this.srv.api(method, p, {
      token: null,
      body,
      headers: this.headers({ origin: this.srv.publicUrl, 'sec-fetch-site': 'same-origin', 'x-csrf-token': this.csrf, ...extra }),
    });
  }
}

// The code of a portal link (and the link's path on the server we talk to).
function codeOf(created) {
  assert.equal(typeof created.url, 'string', `no url: ${JSON.stringify(created)}`);
  const u = new URL(created.url);
  const code = u.searchParams.get('code');
  secret(code);
  return { code, pathAndQuery: `${u.pathname}${u.search}` };
}

async function createPortal(srv, body, opts) {
  const r = await srv.post('/v1/portal-sessions', body, opts);
  assert.equal(r.status, 201, `POST /v1/portal-sessions ${JSON.stringify(body)} answered ${r.status}: ${r.text}`);
  codeOf(r.json);
  return r.json;
}

// Opens a link as a browser would: the 303 and its cookie.
async function openLink(srv, created) {
  const { pathAndQuery } = codeOf(created);
  return srv.raw('GET', pathAndQuery);
}

async function openPortal(srv, body, opts) {
  const ps = await createPortal(srv, body, opts);
  const o = await openLink(srv, ps);
  assert.equal(o.status, 303, `opening the link answered ${o.status}: ${o.text}`);
  const { value } = parseSetCookie(o.headers.get('set-cookie'), 'kw_portal');
  const b = await new Browser(srv, 'portal', value).init();
  b.ps = ps;
  return b;
}

async function consoleSignIn(srv, rootKey = srv.rootKey) {
  const r = await srv.api('POST', '/v1/console-sessions', { token: rootKey, headers: { origin: srv.publicUrl } });
  assert.equal(r.status, 201, `POST /v1/console-sessions answered ${r.status}: ${r.text}`);
  const { value } = parseSetCookie(r.headers.get('set-cookie'), 'kw_console');
  const b = await new Browser(srv, 'console', value).init();
  b.signIn = r;
  return b;
}

async function rootKeyId(srv, rootKey = srv.rootKey) {
  const l = await runCli(['root-keys', 'list', ...srv.storeArgs(), '--json']);
  assert.equal(l.code, 0, l.stderr);
  const mine = JSON.parse(l.stdout).find((k) => rootKey.startsWith(k.short_prefix));
  assert.ok(mine, `no root key listed for ${rootKey.slice(0, 20)}: ${l.stdout}`);
  return mine.id;
}

const keyIds = async (srv, wsId) => (await srv.listAll(`/v1/api-keys?workspace_id=${wsId}`)).map((k) => k.id).sort();
const auditOf = async (srv, q) => srv.listAll(`/v1/audit-log${q ? `?${q}` : ''}`);

// ---------------------------------------------------------------------------
// The servers, started together

const BRANDING = {
  product_name: 'Acme API',
  logo_url: '/logo.svg',
  accent_color: '#4f46e5',
  support_url: 'https://acme.example/support',
};
const RETURN_URL = 'https://app.example.com/settings/api-keys';

let srv; // public_url http://127.0.0.1:<port>, branding, defaults otherwise
let short; // code_ttl_seconds 1, session_ttl_seconds 2
let tls; // public_url https://keys.example.test, frame_ancestors set
let bare; // no public_url
let budget; // failed_verifications_per_ip = 5
let rkId;
let wsA;
let wsB;
let aLive;
let aTest;
let bLive;
// made on `short` before the clock starts running
let shortFixtures;

before(async () => {
  const [p1, p2] = await Promise.all([freePort(), freePort()]);
  const starts = [
    startServer({
      listen: `127.0.0.1:${p1}`,
      config: { public_url: `http://127.0.0.1:${p1}`, portal: BRANDING, limits: { failed_verifications_per_ip: 100000 } },
    }),
    startServer({
      listen: `127.0.0.1:${p2}`,
      config: { public_url: `http://127.0.0.1:${p2}`, portal: { code_ttl_seconds: 1, session_ttl_seconds: 2 } },
    }),
    startServer({
      config: {
        public_url: 'https://keys.example.test',
        portal: { frame_ancestors: ['https://app.example.com', 'https://partner.example.org'] },
      },
    }),
    startServer({}),
    startServer({ config: { limits: { failed_verifications_per_ip: 5 } } }),
  ];
  [srv, short, tls, bare, budget] = (await Promise.all(starts)).map(watch);
  for (const s of [srv, short, tls, bare, budget]) secret(s.rootKey);
  srv.publicUrl = `http://127.0.0.1:${p1}`;
  short.publicUrl = `http://127.0.0.1:${p2}`;
  tls.publicUrl = 'https://keys.example.test';
  bare.publicUrl = bare.url;
  budget.publicUrl = budget.url;

  // The short-lived server's links and sessions start their clocks now.
  const sws = await short.createWorkspace('short lived');
  const unusedLink = await createPortal(short, { workspace_id: sws.id, return_url: RETURN_URL });
  const portal = await openPortal(short, { workspace_id: sws.id, return_url: RETURN_URL });
  const consoleSession = await consoleSignIn(short);
  shortFixtures = { ws: sws, unusedLink, portal, consoleSession, startedAt: Date.now() };

  rkId = await rootKeyId(srv);
  wsA = await srv.createWorkspace('Portal Alpha', { max_active_keys: 100 });
  wsB = await srv.createWorkspace('Portal Beta', { max_active_keys: 100 });
  aLive = await srv.createKey(wsA.id, { name: 'a live', scopes: ['orders:read'] });
  aTest = await srv.createKey(wsA.id, { name: 'a test', environment: 'test' });
  bLive = await srv.createKey(wsB.id, { name: 'b live' });
});

after(async () => {
  await Promise.all([srv, short, tls, bare, budget].map((s) => s?.close()));
});

// ---------------------------------------------------------------------------
// Creating a portal link

test('POST /v1/portal-sessions answers 201 with the documented session and a one-time link', async () => {
  const body = { workspace_id: wsA.id, return_url: RETURN_URL, member: { id: 'u_create', name: 'Ada', email: 'ada@example.com' } };
  const r = await srv.post('/v1/portal-sessions', body);
  assert.equal(r.status, 201, r.text);
  const ps = r.json;
  const { code } = codeOf(ps);
  assert.match(ps.id, /^ps_[0-9A-Za-z]+$/);
  assert.ok(ps.url.startsWith(`${srv.publicUrl}/portal?code=kw_code_`), ps.url);
  assert.match(code, /^kw_code_[0-9A-Za-z]{20,}$/);
  assert.equal(ps.status, 'pending');
  assert.equal(ps.actor, 'member:u_create');
  assert.deepEqual(ps.permissions, ['keys:read', 'keys:create', 'keys:rotate', 'keys:revoke', 'usage:read']);
  assert.deepEqual(ps.scopes, []);
  assert.equal(ps.environment, null);
  assert.equal(ps.return_url, RETURN_URL);
  assert.deepEqual(ps.member, { id: 'u_create', name: 'Ada', email: 'ada@example.com' });
  assert.equal(ps.workspace_id, wsA.id);
  assert.equal(ps.created_by, rkId);
  assert.match(ps.created_at, RFC3339_UTC);
  assert.match(ps.expires_at, RFC3339_UTC);
  assert.equal(Date.parse(ps.expires_at) - Date.parse(ps.created_at), 900_000, 'code_ttl_seconds defaults to 900');
  assert.equal(ps.opened_at, null);
  assert.equal(ps.ended_at, null);

  // Reading it back never shows the code again: it is stored as a hash.
  const g = await srv.get(`/v1/portal-sessions/${ps.id}`);
  assert.equal(g.status, 200, g.text);
  assert.ok(!g.text.includes(code), 'GET /v1/portal-sessions/{id} shows the one-time code');
  const { url: _url, ...rest } = ps;
  assert.deepEqual({ ...g.json, url: undefined }, { ...rest, url: undefined });
  assertError(await srv.get('/v1/portal-sessions/ps_AAAAAAAAAAAAAAAAAAAA'), 404, 'not_found', 'unknown portal session');

  // Without a member the actor is the portal session itself; environment and
  // scopes are kept as given.
  const anon = await createPortal(srv, { workspace_id: wsA.id, environment: 'test', permissions: ['keys:read'], scopes: ['orders:read'] });
  assert.equal(anon.actor, `portal:${anon.id}`);
  assert.equal(anon.environment, 'test');
  assert.deepEqual(anon.permissions, ['keys:read']);
  assert.deepEqual(anon.scopes, ['orders:read']);
  assert.equal(anon.member, null);
  assert.equal(anon.return_url, null);
  const audit = await auditOf(srv, `action=portal_session.create&target=${anon.id}`);
  assert.equal(audit.length, 1, JSON.stringify(audit));
  assert.equal(audit[0].actor, rkId);
});

test('POST /v1/portal-sessions refuses bad permissions, environments, return URLs and fields with 400, creating nothing', async () => {
  const before = (await auditOf(srv, 'action=portal_session.create')).length;
  const bad = [
    ['unknown permission', { permissions: ['keys:read', 'keys:manage'] }],
    ['permission in another case', { permissions: ['KEYS:READ'] }],
    ['duplicated permission', { permissions: ['keys:read', 'keys:read'] }],
    ['keys:create without keys:read', { permissions: ['keys:create'] }],
    ['keys:rotate without keys:read', { permissions: ['keys:rotate', 'usage:read'] }],
    ['keys:revoke without keys:read', { permissions: ['keys:revoke'] }],
    ['permissions not a list', { permissions: 'keys:read' }],
    ['environment not configured', { environment: 'prod' }],
    ['environment in another case', { environment: 'LIVE' }],
    ['javascript: return_url', { return_url: 'javascript:alert(document.cookie)' }],
    ['data: return_url', { return_url: 'data:text/html,<script>alert(1)</script>' }],
    ['ftp return_url', { return_url: 'ftp://app.example.com/settings' }],
    ['relative return_url', { return_url: '/settings' }],
    ['scheme-relative return_url', { return_url: '//evil.example/settings' }],
    ['return_url without scheme', { return_url: 'app.example.com/settings' }],
    ['return_url without host', { return_url: 'https:///settings' }],
    ['return_url with user info', { return_url: 'https://user:pw@app.example.com/settings' }],
    ['return_url with a user name', { return_url: 'https://app.example.com@evil.example/' }],
    ['member without id', { member: { name: 'Ada' } }],
    ['member with an unknown field', { member: { id: 'u_1', role: 'admin' } }],
    ['bad scope', { scopes: ['orders read'] }],
    ['unknown field', { permission: ['keys:read'] }],
  ];
  for (const [what, extra] of bad) {
    assertError(await srv.post('/v1/portal-sessions', { workspace_id: wsA.id, ...extra }), 400, 'invalid_request', what);
  }
  assertError(await srv.post('/v1/portal-sessions', {}), 400, 'invalid_request', 'no workspace_id');
  assertError(await srv.post('/v1/portal-sessions', { workspace_id: 'ws_AAAAAAAAAAAAAAAAAAAA' }), 404, 'not_found', 'missing workspace');
  assert.equal((await auditOf(srv, 'action=portal_session.create')).length, before, 'nothing was created');

  // What is allowed, is.
  for (const extra of [
    { permissions: ['usage:read'] },
    { permissions: ['keys:read', 'keys:revoke'] },
    { return_url: 'http://localhost:3000/settings?tab=keys' },
    { environment: 'live' },
  ]) {
    const r = await srv.post('/v1/portal-sessions', { workspace_id: wsA.id, ...extra });
    assert.equal(r.status, 201, `${JSON.stringify(extra)}: ${r.text}`);
    codeOf(r.json);
  }
});

test('only a root key creates, reads or ends portal sessions: a keys:manage key and no key are refused', async () => {
  const manager = await srv.createKey(wsA.id, { name: 'manager', scopes: ['keys:manage'] });
  const ps = await createPortal(srv, { workspace_id: wsA.id });
  const before = (await auditOf(srv, 'action=portal_session.create')).length;
  for (const [method, p, body] of [
    ['POST', '/v1/portal-sessions', { workspace_id: wsA.id }],
    ['GET', `/v1/portal-sessions/${ps.id}`],
    ['DELETE', `/v1/portal-sessions/${ps.id}`],
  ]) {
    const m = await srv.api(method, p, { body, token: manager.key });
    assert.ok(m.status === 403 || m.status === 401, `keys:manage ${method} ${p}: ${m.status} ${m.text}`);
    assertError(m, m.status, m.status === 403 ? 'insufficient_scope' : 'unauthorized', `keys:manage ${method} ${p}`);
    assert.ok(!m.text.includes('kw_code_'), m.text);
    assertError(await srv.api(method, p, { body, token: null }), 401, 'unauthorized', `no key ${method} ${p}`);
  }
  assert.equal((await auditOf(srv, 'action=portal_session.create')).length, before, 'nothing was created');
  assert.equal((await srv.get(`/v1/portal-sessions/${ps.id}`)).json.status, 'pending', 'the link was not ended');
});

// ---------------------------------------------------------------------------
// Opening a link

test('opening a link: 303 to /portal with a HttpOnly SameSite=Strict cookie, once; then 410 with a way back', async () => {
  const ps = await createPortal(srv, { workspace_id: wsA.id, return_url: RETURN_URL, member: { id: 'u_open' } });
  const { code, pathAndQuery } = codeOf(ps);
  const o = await srv.raw('GET', pathAndQuery);
  assert.equal(o.status, 303, o.text);
  assert.equal(o.headers.get('location'), '/portal');
  const c = parseSetCookie(o.headers.get('set-cookie'), 'kw_portal');
  secret(c.value);
  assert.match(c.value, /^kw_sess_[0-9A-Za-z]{20,}$/);
  assert.equal(c.attrs.path, '/');
  assert.equal(c.attrs.httponly, true, 'HttpOnly');
  assert.equal(String(c.attrs.samesite).toLowerCase(), 'strict', 'SameSite=Strict');
  assert.equal(c.attrs.secure, undefined, 'no Secure over http');
  assert.match(String(c.attrs['max-age']), /^\d+$/);
  assert.ok(Number(c.attrs['max-age']) >= 86400, `Max-Age ${c.attrs['max-age']} ends the cookie before the 24 h session`);
  assert.ok(!o.text.includes(code));

  const g = (await srv.get(`/v1/portal-sessions/${ps.id}`)).json;
  assert.notEqual(g.status, 'pending');
  assert.match(g.opened_at ?? '', RFC3339_UTC);

  // The session works.
  const b = await new Browser(srv, 'portal', c.value).init();
  assert.equal(b.session.id, ps.id);

  // The second opening: 410, an HTML page that says so and links back.
  const again = await srv.raw('GET', pathAndQuery);
  assert.equal(again.status, 410, again.text);
  assert.match(again.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(again.headers.get('set-cookie'), null, 'no cookie for a used link');
  assert.match(again.text, /already used/i);
  assert.ok(again.text.includes(`href="${RETURN_URL}"`), `no link to return_url in ${again.text}`);
  assert.ok(!again.text.includes(code), 'the page repeats the code');
  assertPageHeaders(again, 'the used-link page');
  assertNoInlineScript(again.text, 'the used-link page');
  // ...and the first session is unaffected by the second try.
  assert.equal((await b.get('/v1/session')).status, 200);
});

test('a return_url with HTML in it cannot inject markup into the used-link page', async () => {
  const evil = 'https://app.example.com/s?a=1&b="><script>alert(1)</script><img src=x onerror=alert(2)>';
  const r = await srv.post('/v1/portal-sessions', { workspace_id: wsA.id, return_url: evil });
  if (r.status === 400) {
    assertError(r, 400, 'invalid_request', 'a return_url with markup');
    return;
  }
  assert.equal(r.status, 201, r.text);
  codeOf(r.json);
  assert.equal((await openLink(srv, r.json)).status, 303);
  const page = await openLink(srv, r.json);
  assert.equal(page.status, 410);
  assertNoInlineScript(page.text, 'the used-link page of a hostile return_url');
  assert.doesNotMatch(page.text, /<img/i, 'markup from return_url in the page');
  assert.doesNotMatch(page.text, /href="[^"]*"[^>]*><script/i);
});

test('an unknown or garbled code answers a 404 HTML page and no cookie', async () => {
  const fake = secret(`kw_code_${randomBase62(40)}`);
  for (const q of [`code=${fake}`, 'code=kw_code_', 'code=garbage', `code=${fake}%00`, `code=${fake}&code=${fake}x`]) {
    const r = await srv.raw('GET', `/portal?${q}`);
    assert.equal(r.status, 404, `${q}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/, q);
    assert.equal(r.headers.get('set-cookie'), null, q);
    assert.ok(!r.text.includes(fake), `${q}: the page echoes the code`);
    assertPageHeaders(r, `404 page for ${q}`);
    assertNoInlineScript(r.text, `404 page for ${q}`);
  }
});

test('twenty browsers racing to open one link: exactly one gets a session', async () => {
  const ps = await createPortal(srv, { workspace_id: wsA.id, return_url: RETURN_URL });
  const { pathAndQuery } = codeOf(ps);
  const answers = await Promise.all(Array.from({ length: 20 }, () => srv.raw('GET', pathAndQuery)));
  const statuses = answers.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 303).length, 1, `statuses: ${statuses}`);
  assert.equal(statuses.filter((s) => s === 410).length, 19, `statuses: ${statuses}`);
  const cookies = answers.map((r) => r.headers.get('set-cookie')).filter(Boolean);
  assert.equal(cookies.length, 1, 'one cookie handed out');
  const b = await new Browser(srv, 'portal', parseSetCookie(cookies[0], 'kw_portal').value).init();
  assert.equal(b.session.id, ps.id);
  const opens = await auditOf(srv, `action=portal_session.open&target=${ps.id}`);
  assert.equal(opens.length, 1, `portal_session.open entries: ${JSON.stringify(opens)}`);
});

test('a link past code_ttl_seconds answers 410 "expired" with a link back, and no cookie', async () => {
  const { unusedLink } = shortFixtures;
  const wait = Date.parse(unusedLink.expires_at) + 300 - Date.now();
  if (wait > 0) await sleep(wait);
  const r = await openLink(short, unusedLink);
  assert.equal(r.status, 410, r.text);
  assert.match(r.text, /expired/i);
  assert.doesNotMatch(r.text, /already used/i, 'an unused link is not "already used"');
  assert.ok(r.text.includes(`href="${RETURN_URL}"`), r.text);
  assert.equal(r.headers.get('set-cookie'), null);
  assertPageHeaders(r, 'the expired-link page');
});

test('a session past session_ttl_seconds answers 401 session_expired with return_url, on every route', async () => {
  const { portal, consoleSession } = shortFixtures;
  assert.ok(Date.parse(portal.session.expires_at) - Date.parse(portal.ps.created_at) <= 3000,
    `a 2 s session expires at ${portal.session.expires_at}`);
  const r = await poll(async () => {
    const x = await portal.get('/v1/session');
    return x.status !== 200 ? x : null;
  }, { timeoutMs: 8000 });
  assert.ok(r, 'the session never expired');
  assertError(r, 401, 'session_expired', 'expired portal session');
  assert.equal(r.json.return_url, RETURN_URL);
  assertError(await portal.get('/v1/api-keys'), 401, 'session_expired', 'list keys');
  const wsKeys = await keyIds(short, shortFixtures.ws.id);
  assertError(await portal.write('POST', '/v1/api-keys', { workspace_id: shortFixtures.ws.id, environment: 'live', name: 'late' }),
    401, 'session_expired', 'create');
  assert.deepEqual(await keyIds(short, shortFixtures.ws.id), wsKeys, 'nothing created');
  // The console's session has the same lifetime.
  const c = await poll(async () => {
    const x = await consoleSession.get('/v1/workspaces');
    return x.status !== 200 ? x : null;
  }, { timeoutMs: 8000 });
  assertError(c, 401, 'session_expired', 'expired console session');
});

test('DELETE /v1/portal-sessions/{id} withdraws an unused link and signs an opened one out', async () => {
  // Unused: the link stops working.
  const pending = await createPortal(srv, { workspace_id: wsA.id, return_url: RETURN_URL });
  const d1 = await srv.del(`/v1/portal-sessions/${pending.id}`);
  assert.equal(d1.status, 200, d1.text);
  assert.equal(d1.json.status, 'ended');
  assert.match(d1.json.ended_at ?? '', RFC3339_UTC);
  const o = await openLink(srv, pending);
  assert.ok(o.status === 410 || o.status === 404, `a withdrawn link answered ${o.status}`);
  assert.equal(o.headers.get('set-cookie'), null, 'a withdrawn link handed out a session');

  // Opened: the browser session ends at once, on every route.
  const b = await openPortal(srv, { workspace_id: wsA.id, return_url: RETURN_URL, member: { id: 'u_ended' } });
  assert.equal((await b.get('/v1/api-keys')).status, 200);
  const d2 = await srv.del(`/v1/portal-sessions/${b.ps.id}`);
  assert.equal(d2.status, 200, d2.text);
  assert.equal(d2.json.status, 'ended');
  const s = await b.get('/v1/session');
  assertError(s, 401, 'session_expired', 'GET /v1/session after the end');
  assert.equal(s.json.return_url, RETURN_URL);
  assertError(await b.get('/v1/api-keys'), 401, 'session_expired', 'list after the end');
  const before = await keyIds(srv, wsA.id);
  assertError(await b.write('POST', '/v1/api-keys', { workspace_id: wsA.id, environment: 'live', name: 'after end' }),
    401, 'session_expired', 'create after the end');
  assertError(await b.write('DELETE', `/v1/api-keys/${aLive.id}`), 401, 'session_expired', 'revoke after the end');
  assert.deepEqual(await keyIds(srv, wsA.id), before);
  assert.equal((await srv.verify({ key: aLive.key })).code, 'valid');
  assert.equal((await srv.get(`/v1/portal-sessions/${b.ps.id}`)).json.status, 'ended');
});

// ---------------------------------------------------------------------------
// The pages

test('/portal and /console: HTML with a strict CSP, no inline script, nothing from another host; assets cached for a year', async () => {
  const assets = new Set();
  for (const page of ['/portal', '/console']) {
    const r = await fetch(srv.url + page, { redirect: 'manual' });
    const html = await r.text();
    assert.equal(r.status, 200, `${page}: ${r.status}`);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/, page);
    assert.equal(r.headers.get('cache-control'), 'no-cache', `${page}: Cache-Control`);
    assert.ok(r.headers.get('etag'), `${page}: no ETag`);
    assertPageHeaders({ headers: r.headers }, page);
    assertNoInlineScript(html, page);
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]);
    assert.ok(refs.some((x) => x.startsWith('/assets/')), `${page} references no /assets/ file`);
    for (const ref of refs) {
      assert.ok(!ref.startsWith('//'), `${page}: a scheme-relative reference ${ref}`);
      if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
        assert.equal(new URL(ref).origin, srv.publicUrl, `${page}: ${ref} points at another host`);
      }
      if (ref.startsWith('/assets/')) assets.add(ref);
    }
  }
  assert.ok(assets.size >= 2, `assets: ${[...assets]}`);
  for (const a of assets) {
    const r = await fetch(srv.url + a);
    const body = await r.text();
    assert.equal(r.status, 200, a);
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable', `${a}: Cache-Control`);
    const etag = r.headers.get('etag');
    assert.ok(etag, `${a}: no ETag`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${a}: nosniff`);
    if (a.endsWith('.js')) {
      assert.match(r.headers.get('content-type') ?? '', /^(text|application)\/javascript/, `${a}: a script under nosniff needs a script type`);
      assert.doesNotMatch(body, /\bimport\s*\(?\s*["']https?:\/\//, `${a} imports from another host`);
    }
    if (a.endsWith('.css')) {
      assert.match(r.headers.get('content-type') ?? '', /^text\/css/, `${a}: content type`);
      assert.doesNotMatch(body, /url\(\s*["']?(https?:)?\/\//i, `${a} loads from another host`);
      assert.doesNotMatch(body, /@import/i, `${a} imports another sheet`);
    }
    const again = await fetch(srv.url + a, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304, `${a} with If-None-Match: ${again.status}`);
    assert.equal((await again.text()).length, 0);
    const other = await fetch(srv.url + a, { headers: { 'if-none-match': '"not-this-one"' } });
    assert.equal(other.status, 200, `${a} with another ETag`);
  }
  // Nothing outside the embedded files is served from /assets/.
  for (const p of ['/assets/nope-ABCDEFGH.js', '/assets/../keyward.db', '/assets/%2e%2e/%2e%2e/etc/passwd',
    '/assets/..%2f..%2fetc%2fpasswd', '/assets/', '/assets/.%2e/keyward.db']) {
    const r = await srv.raw('GET', p);
    assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
    assert.doesNotMatch(r.text, /SQLite format|root:x:0:0/, p);
  }
  // / sends the operator to the console.
  const root = await fetch(srv.url + '/', { redirect: 'manual' });
  assert.equal(root.status, 303);
  assert.equal(root.headers.get('location'), '/console');
});

test('with public_url https: the cookies are Secure, the links are https, and frame_ancestors reaches the CSP', async () => {
  const ws = await tls.createWorkspace('tls');
  const ps = await createPortal(tls, { workspace_id: ws.id });
  assert.ok(ps.url.startsWith('https://keys.example.test/portal?code=kw_code_'), ps.url);
  const o = await openLink(tls, ps);
  assert.equal(o.status, 303, o.text);
  const c = parseSetCookie(o.headers.get('set-cookie'), 'kw_portal');
  secret(c.value);
  assert.equal(c.attrs.secure, true, 'Secure');
  assert.equal(c.attrs.httponly, true);
  assert.equal(String(c.attrs.samesite).toLowerCase(), 'strict');
  assertPageHeaders(o, 'the 303 of an https deployment', { frameAncestors: ['https://app.example.com', 'https://partner.example.org'] });

  const page = await fetch(tls.url + '/portal');
  assertPageHeaders({ headers: page.headers }, '/portal framed', { frameAncestors: ['https://app.example.com', 'https://partner.example.org'] });

  // The console signs in from the https origin only.
  const wrong = await tls.api('POST', '/v1/console-sessions', { token: tls.rootKey, headers: { origin: tls.url } });
  assertError(wrong, 403, 'forbidden', 'console sign-in from the http origin');
  assert.equal(wrong.headers.get('set-cookie'), null);
  const cs = await consoleSignIn(tls);
  const cc = parseSetCookie(cs.signIn.headers.get('set-cookie'), 'kw_console');
  assert.equal(cc.attrs.secure, true, 'console cookie Secure');
  // A change must come from the https origin.
  const before = await tls.listAll('/v1/workspaces');
  assertError(await cs.write('POST', '/v1/workspaces', { name: 'from http' }, { origin: tls.url }), 403, 'forbidden', 'http Origin');
  assert.equal((await tls.listAll('/v1/workspaces')).length, before.length);
  assert.equal((await cs.write('POST', '/v1/workspaces', { name: 'from https' })).status, 201);
});

test('without public_url: the link points at the address the server listens on, and Origin must be http://<Host>', async () => {
  const ok = await bare.api('POST', '/v1/console-sessions', { token: bare.rootKey, headers: { origin: bare.url } });
  assert.equal(ok.status, 201, ok.text);
  secret(parseSetCookie(ok.headers.get('set-cookie'), 'kw_console').value);
  for (const origin of ['http://evil.example', `https://127.0.0.1:${bare.port}`, 'null']) {
    const r = await bare.api('POST', '/v1/console-sessions', { token: bare.rootKey, headers: { origin } });
    assertError(r, 403, 'forbidden', `Origin ${origin}`);
    assert.equal(r.headers.get('set-cookie'), null);
  }
  // The link must be one a browser can open: this server, on its real port.
  const ws = await bare.createWorkspace('bare');
  const ps = await createPortal(bare, { workspace_id: ws.id });
  const u = new URL(ps.url);
  assert.equal(u.origin, bare.url, `the link ${ps.url.replace(/code=.*/, 'code=…')} does not reach the server at ${bare.url}`);
  const o = await fetch(ps.url, { redirect: 'manual' }).catch((e) => ({ status: `unreachable (${e.cause?.code ?? e.message})` }));
  assert.equal(o.status, 303, 'opening the link as handed out');
});

test('bad [portal] and public_url values refuse to start, naming the key', async () => {
  const cases = [
    ['accent_color', { portal: { accent_color: 'red' } }],
    ['accent_color', { portal: { accent_color: '#12345' } }],
    ['accent_color', { portal: { accent_color: '#12345g' } }],
    ['public_url', { public_url: 'ftp://x' }],
    ['public_url', { public_url: 'https://x/path' }],
    ['public_url', { public_url: 'keys.example.com' }],
    ['frame_ancestors', { portal: { frame_ancestors: 'https://app.example.com' } }],
    ['frame_ancestors', { portal: { frame_ancestors: ["https://app.example.com; script-src 'unsafe-inline'"] } }],
    ['logo_url', { portal: { logo_url: 'javascript:alert(1)' } }],
    ['code_ttl_seconds', { portal: { code_ttl_seconds: -1 } }],
    ['session_ttl_seconds', { portal: { session_ttl_seconds: -1 } }],
    ['colour', { portal: { colour: '#4f46e5' } }],
  ];
  const base = makeTempDir('keyward-portal-config-');
  try {
    const results = await Promise.all(cases.map(async ([, config], i) => {
      const dir = path.join(base, String(i));
      fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
      const file = path.join(dir, 'keyward.toml');
      fs.writeFileSync(file, toToml(config));
      return tryServe(['serve', '--listen', '127.0.0.1:0', '--data', path.join(dir, 'data'), '--config', file]);
    }));
    results.forEach((r, i) => {
      const [key, config] = cases[i];
      const what = JSON.stringify(config);
      assert.equal(r.listened, false, `${what}: started anyway`);
      assert.equal(r.code, 2, `${what}: exit ${r.code}, stderr ${r.stderr}`);
      assert.ok(r.stderr.includes(key), `${what}: the message does not name ${key}: ${r.stderr}`);
    });
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------
// How a browser session authenticates

test('GET /v1/session describes the portal session: workspace, permissions, scopes, member, branding, CSRF token', async () => {
  const b = await openPortal(srv, {
    workspace_id: wsA.id, return_url: RETURN_URL, scopes: ['orders:read'], member: { id: 'u_session', name: 'Grace' },
  });
  const s = b.session;
  assert.equal(s.kind, 'portal');
  assert.equal(s.id, b.ps.id);
  assert.equal(s.actor, 'member:u_session');
  assert.equal(s.workspace.id, wsA.id);
  assert.equal(s.workspace.name, 'Portal Alpha');
  assert.equal(s.workspace.max_active_keys, 100);
  assert.equal(s.workspace.active_keys, (await srv.get(`/v1/workspaces/${wsA.id}`)).json.active_keys);
  assert.equal(s.environment, null);
  assert.deepEqual(s.environments, ['live', 'test']);
  assert.deepEqual(s.permissions, ['keys:read', 'keys:create', 'keys:rotate', 'keys:revoke', 'usage:read']);
  assert.deepEqual(s.scopes, ['orders:read']);
  assert.equal(s.member.id, 'u_session');
  assert.equal(s.member.name, 'Grace');
  assert.equal(s.return_url, RETURN_URL);
  assert.match(s.expires_at, RFC3339_UTC);
  const ttl = Date.parse(s.expires_at) - Date.now();
  assert.ok(ttl > 86400_000 - 60_000 && ttl <= 86400_000 + 1000, `session lasts ${ttl} ms, not 24 h`);
  assert.deepEqual(s.branding, BRANDING);
  assert.equal(s.key_prefix, 'kw');
  const r = await b.get('/v1/session');
  assert.ok(!r.text.includes(b.token), 'the session answer holds the session token');
  assert.ok(!r.text.includes('kw_sess_'), 'the session answer holds a session token');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  // Two sessions have two CSRF tokens.
  const other = await openPortal(srv, { workspace_id: wsA.id });
  assert.notEqual(other.csrf, b.csrf);
});

test('cookies count only with X-Keyward-Session, for their own kind; a session header with another credential is 400', async () => {
  const p = await openPortal(srv, { workspace_id: wsA.id });
  const c = await consoleSignIn(srv);
  // A cookie alone authenticates nothing.
  assertError(await srv.get('/v1/session', { token: null, headers: { cookie: `kw_portal=${p.token}` } }), 401, 'unauthorized', 'portal cookie, no header');
  assertError(await srv.get('/v1/api-keys', { token: null, headers: { cookie: `kw_portal=${p.token}` } }), 401, 'unauthorized', 'portal cookie on a route');
  assertError(await srv.get('/v1/workspaces', { token: null, headers: { cookie: `kw_console=${c.token}` } }), 401, 'unauthorized', 'console cookie, no header');
  const before = await srv.listAll('/v1/workspaces');
  assertError(await srv.post('/v1/workspaces', { name: 'cookie alone' },
    { token: null, headers: { cookie: `kw_console=${c.token}`, origin: srv.publicUrl, 'x-csrf-token': c.csrf } }), 401, 'unauthorized', 'console cookie write, no header');
  assert.equal((await srv.listAll('/v1/workspaces')).length, before.length, 'nothing created');
  // A header with no cookie, or the other kind's cookie.
  assertError(await srv.get('/v1/session', { token: null, headers: { 'x-keyward-session': 'portal' } }), 401, 'unauthorized', 'header, no cookie');
  assertError(await srv.get('/v1/session', { token: null, headers: { 'x-keyward-session': 'portal', cookie: `kw_console=${c.token}` } }),
    401, 'unauthorized', 'portal header, console cookie');
  assertError(await srv.get('/v1/session', { token: null, headers: { 'x-keyward-session': 'console', cookie: `kw_portal=${p.token}` } }),
    401, 'unauthorized', 'console header, portal cookie');
  // A portal token is never a console session, nor the other way round.
  const confused = await srv.get('/v1/workspaces', { token: null, headers: { 'x-keyward-session': 'console', cookie: `kw_console=${p.token}` } });
  assert.equal(confused.status, 401, `a portal token in kw_console: ${confused.status} ${confused.text}`);
  assert.ok(!confused.text.includes(wsB.id), 'a portal token listed the workspaces');
  const reverse = await srv.get('/v1/session', { token: null, headers: { 'x-keyward-session': 'portal', cookie: `kw_portal=${c.token}` } });
  assert.equal(reverse.status, 401, `a console token in kw_portal: ${reverse.status} ${reverse.text}`);
  // A session header together with another credential is refused, not resolved.
  for (const [b, p2] of [[p, '/v1/session'], [p, '/v1/api-keys'], [c, '/v1/workspaces']]) {
    assertError(await b.get(p2, { authorization: `Bearer ${srv.rootKey}` }), 400, 'invalid_request', `${b.kind} + Authorization ${p2}`);
    assertError(await b.get(p2, { 'x-api-key': aLive.key }), 400, 'invalid_request', `${b.kind} + X-API-Key ${p2}`);
  }
  const keys = await keyIds(srv, wsA.id);
  assertError(await p.write('POST', '/v1/api-keys', { workspace_id: wsA.id, environment: 'live', name: 'two credentials' },
    { authorization: `Bearer ${srv.rootKey}` }), 400, 'invalid_request', 'a write with a session and a root key');
  assert.deepEqual(await keyIds(srv, wsA.id), keys);
  // An unknown token answers 401 and is not echoed.
  const g = guessToken();
  const u = await srv.get('/v1/session', { token: null, headers: { 'x-keyward-session': 'portal', cookie: `kw_portal=${g}` } });
  assert.equal(u.status, 401, u.text);
  assert.ok(!u.text.includes(g.slice(8)), 'the answer echoes the token');
});

test('a change from a browser session needs this deployment\'s Origin, Sec-Fetch-Site same-origin and the CSRF token', async () => {
  const b = await openPortal(srv, { workspace_id: wsA.id, member: { id: 'u_csrf' } });
  const other = await openPortal(srv, { workspace_id: wsA.id });
  const body = { workspace_id: wsA.id, environment: 'live', name: 'csrf probe' };
  const before = await keyIds(srv, wsA.id);
  const refused = [
    ['no Origin', { origin: null }],
    ['another Origin', { origin: 'https://evil.example' }],
    ['Origin null', { origin: 'null' }],
    ['Origin of another host name for the same port', { origin: srv.publicUrl.replace('127.0.0.1', 'localhost') }],
    ['Origin over https', { origin: srv.publicUrl.replace('http:', 'https:') }],
    ['no CSRF token', { 'x-csrf-token': null }],
    ['an empty CSRF token', { 'x-csrf-token': '' }],
    ['another session\'s CSRF token', { 'x-csrf-token': other.csrf }],
    ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }],
    ['Sec-Fetch-Site none', { 'sec-fetch-site': 'none' }],
  ];
  for (const [what, extra] of refused) {
    assertError(await b.write('POST', '/v1/api-keys', body, extra), 403, 'forbidden', `create with ${what}`);
  }
  assertError(await b.write('DELETE', `/v1/api-keys/${aLive.id}`, undefined, { 'x-csrf-token': null }), 403, 'forbidden', 'revoke without CSRF');
  assertError(await b.write('POST', `/v1/api-keys/${aLive.id}/rotate`, {}, { origin: 'https://evil.example' }), 403, 'forbidden', 'rotate cross-site');
  assertError(await b.write('DELETE', '/v1/session', undefined, { 'x-csrf-token': null }), 403, 'forbidden', 'sign out without CSRF');
  assert.deepEqual(await keyIds(srv, wsA.id), before, 'nothing was created, rotated or revoked');
  assert.equal((await srv.verify({ key: aLive.key })).code, 'valid');
  assert.equal((await b.get('/v1/session')).status, 200, 'the session was not signed out');
  // A read needs none of it.
  assert.equal((await b.get('/v1/api-keys')).status, 200);
  // All of it together works, with or without Sec-Fetch-Site.
  const ok = await b.write('POST', '/v1/api-keys', body);
  assert.equal(ok.status, 201, ok.text);
  const ok2 = await b.write('POST', '/v1/api-keys', body, { 'sec-fetch-site': null });
  assert.equal(ok2.status, 201, ok2.text);
});

test('DELETE /v1/session signs out: 204, the cookie is cleared, then 401 session_expired', async () => {
  const b = await openPortal(srv, { workspace_id: wsA.id, return_url: RETURN_URL });
  const r = await b.write('DELETE', '/v1/session');
  assert.equal(r.status, 204, r.text);
  const c = parseSetCookie(r.headers.get('set-cookie'), 'kw_portal');
  assert.ok(c.value === '' || c.attrs['max-age'] === '0', `the cookie is not cleared: Max-Age ${c.attrs['max-age']}`);
  const s = await b.get('/v1/session');
  assertError(s, 401, 'session_expired', 'after sign-out');
  assert.equal(s.json.return_url, RETURN_URL);
  assertError(await b.get('/v1/api-keys'), 401, 'session_expired', 'a route after sign-out');
  // The console signs out the same way.
  const cs = await consoleSignIn(srv);
  assert.equal((await cs.write('DELETE', '/v1/session')).status, 204);
  assertError(await cs.get('/v1/workspaces'), 401, 'session_expired', 'console after sign-out');
});

// ---------------------------------------------------------------------------
// What a portal session reaches

test('a portal session with every permission manages its own workspace\'s keys, and they work', async () => {
  const ws = await srv.createWorkspace('Portal Full', { max_active_keys: 50 });
  const seed = await srv.createKey(ws.id, { name: 'seeded', scopes: ['admin:all'] });
  const seedTest = await srv.createKey(ws.id, { name: 'seeded test', environment: 'test' });
  const b = await openPortal(srv, { workspace_id: ws.id, scopes: ['orders:read', 'orders:write'], member: { id: 'u_full' } });

  const list = await b.get('/v1/api-keys');
  assert.equal(list.status, 200, list.text);
  const ids = list.json.data.map((k) => k.id).sort();
  assert.deepEqual(ids, [seed.id, seedTest.id].sort(), 'exactly its workspace\'s keys, both environments');
  for (const k of list.json.data) assertKeyObject(k);
  assert.ok(!list.text.includes(seed.key), 'no secret in the list');
  assert.equal((await b.get(`/v1/api-keys?workspace_id=${ws.id}`)).status, 200);
  const one = await b.get(`/v1/api-keys/${seed.id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.id, seed.id);
  const w = await b.get(`/v1/workspaces/${ws.id}`);
  assert.equal(w.status, 200, w.text);
  assert.equal(w.json.name, 'Portal Full');
  assert.equal(w.json.max_active_keys, 50);

  const created = await b.write('POST', '/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'made on the portal', scopes: ['orders:read'] });
  assert.equal(created.status, 201, created.text);
  assert.match(created.json.key, /^kw_live_/);
  assert.deepEqual(created.json.scopes, ['orders:read']);
  assert.equal((await srv.verify({ key: created.json.key, scopes: ['orders:read'] })).code, 'valid');

  // A rotation keeps the old key's scopes, even ones the page may not grant.
  const rot = await b.write('POST', `/v1/api-keys/${seed.id}/rotate`, { grace_seconds: 60 });
  assert.equal(rot.status, 201, rot.text);
  assert.equal(rot.json.rotated_from, seed.id);
  assert.deepEqual(rot.json.scopes, ['admin:all']);
  assert.equal((await srv.verify({ key: rot.json.key })).code, 'valid');

  const del = await b.write('DELETE', `/v1/api-keys/${created.json.id}`);
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.status, 'revoked');
  assert.equal((await srv.verify({ key: created.json.key })).code, 'revoked');

  const usage = await b.get(`/v1/usage?workspace_id=${ws.id}&granularity=day`);
  assert.equal(usage.status, 200, usage.text);
  assert.equal(usage.json.workspace_id, ws.id);
});

test('each permission opens its routes only; the rest answer 403 forbidden and change nothing', async () => {
  const ws = await srv.createWorkspace('Portal Perms', { max_active_keys: 50 });
  const target = await srv.createKey(ws.id, { name: 'target' });
  const [readOnly, usageOnly, revoker, creator, rotator] = await Promise.all([
    ['keys:read'], ['usage:read'], ['keys:read', 'keys:revoke'], ['keys:read', 'keys:create'], ['keys:read', 'keys:rotate'],
  ].map((permissions) => openPortal(srv, { workspace_id: ws.id, permissions })));
  assert.deepEqual(readOnly.session.permissions, ['keys:read']);
  const createBody = { workspace_id: ws.id, environment: 'live', name: 'perm probe' };
  const calls = {
    list: (b) => b.get('/v1/api-keys'),
    read: (b) => b.get(`/v1/api-keys/${target.id}`),
    workspace: (b) => b.get(`/v1/workspaces/${ws.id}`),
    create: (b) => b.write('POST', '/v1/api-keys', createBody),
    rotate: (b) => b.write('POST', `/v1/api-keys/${target.id}/rotate`, {}),
    revoke: (b) => b.write('DELETE', `/v1/api-keys/${target.id}`),
    usage: (b) => b.get(`/v1/usage?workspace_id=${ws.id}`),
  };
  const allowed = {
    readOnly: ['list', 'read', 'workspace'],
    usageOnly: ['usage'],
    revoker: ['list', 'read', 'workspace'],
    creator: ['list', 'read', 'workspace'],
    rotator: ['list', 'read', 'workspace'],
  };
  const allowedWrite = { readOnly: [], usageOnly: [], revoker: ['revoke'], creator: ['create'], rotator: ['rotate'] };
  const sessions = { readOnly, usageOnly, revoker, creator, rotator };
  const snap = await srv.snapshot();
  for (const [name, b] of Object.entries(sessions)) {
    for (const [call, fn] of Object.entries(calls)) {
      if (['create', 'rotate', 'revoke'].includes(call)) {
        // The allowed write is tried below, after the snapshot comparison.
        if (!allowedWrite[name].includes(call)) assertError(await fn(b), 403, 'forbidden', `${name} ${call}`);
        continue;
      }
      const r = await fn(b);
      if (allowed[name].includes(call)) assert.equal(r.status, 200, `${name} ${call}: ${r.status} ${r.text}`);
      else assertError(r, 403, 'forbidden', `${name} ${call}`);
    }
  }
  assert.deepEqual(await srv.snapshot(), snap, 'the refused calls changed something');
  // The one permission each holds works.
  const c = await calls.create(creator);
  assert.equal(c.status, 201, `creator create: ${c.text}`);
  const ro = await calls.rotate(rotator);
  assert.equal(ro.status, 201, `rotator rotate: ${ro.text}`);
  assertError(await calls.create(rotator), 403, 'forbidden', 'rotator create');
  const rv = await revoker.write('DELETE', `/v1/api-keys/${ro.json.id}`);
  assert.equal(rv.status, 200, `revoker revoke: ${rv.text}`);
});

test('every route outside the portal\'s answers 403 forbidden to a portal session, with nothing changed', async () => {
  const b = await openPortal(srv, { workspace_id: wsA.id, member: { id: 'u_outside' } });
  const snap = await srv.snapshot();
  const calls = [
    ['PATCH', `/v1/api-keys/${aLive.id}`, { name: 'renamed by the portal' }],
    ['PATCH', `/v1/api-keys/${aLive.id}`, { scopes: ['*'] }],
    ['PATCH', `/v1/api-keys/${aLive.id}`, { enabled: false }],
    ['GET', '/v1/workspaces'],
    ['GET', `/v1/workspaces?q=Portal`],
    ['POST', '/v1/workspaces', { name: 'made by a portal' }],
    ['PATCH', `/v1/workspaces/${wsA.id}`, { max_active_keys: 1000 }],
    ['GET', '/v1/audit-log'],
    ['GET', `/v1/audit-log?workspace_id=${wsA.id}`],
    ['POST', '/v1/portal-sessions', { workspace_id: wsA.id }],
    ['POST', '/v1/portal-sessions', { workspace_id: wsB.id }],
    ['GET', `/v1/portal-sessions/${b.ps.id}`],
    ['DELETE', `/v1/portal-sessions/${b.ps.id}`],
    ['POST', '/v1/keys/verify', { key: aLive.key }],
  ];
  for (const [method, p, body] of calls) {
    const r = method === 'GET' ? await b.get(p) : await b.write(method, p, body);
    assertError(r, 403, 'forbidden', `portal ${method} ${p}`);
    assert.ok(!r.text.includes('kw_code_') && !r.text.includes('kw_sess_'), `${method} ${p}: ${r.text}`);
    assert.equal(r.headers.get('set-cookie'), null, `${method} ${p} set a cookie`);
  }
  assert.deepEqual(await srv.snapshot(), snap, 'a refused call changed something');
  assert.equal((await b.get('/v1/session')).status, 200, 'the session was not ended');
  // Nor can it trade itself for a console session: signing in takes a root
  // key, which a portal session is not (401, the sign-in's own answer).
  const cs = await b.write('POST', '/v1/console-sessions');
  assert.equal(cs.headers.get('set-cookie'), null, 'a portal session got a console cookie');
  assertError(cs, 401, 'unauthorized', 'portal POST /v1/console-sessions');
});

test('a portal session reaches only its workspace: another workspace\'s objects answer 404 exactly like missing ones', async () => {
  const b = await openPortal(srv, { workspace_id: wsA.id, member: { id: 'u_tenant' } });
  const missing = 'key_AAAAAAAAAAAAAAAAAAAA';
  const list = await b.get('/v1/api-keys?limit=1000');
  assert.equal(list.status, 200);
  assert.ok(list.json.data.every((k) => k.workspace_id === wsA.id), 'a key of another workspace in the list');
  assert.ok(!list.json.data.some((k) => k.id === bLive.id));
  const pairs = [
    ['read', (id) => b.get(`/v1/api-keys/${id}`)],
    ['rotate', (id) => b.write('POST', `/v1/api-keys/${id}/rotate`, {})],
    ['revoke', (id) => b.write('DELETE', `/v1/api-keys/${id}`)],
    ['usage', (id) => b.get(`/v1/usage?key_id=${id}`)],
  ];
  const bKeys = await keyIds(srv, wsB.id);
  for (const [what, fn] of pairs) {
    const foreign = await fn(bLive.id);
    const none = await fn(missing);
    assertError(foreign, 404, 'not_found', `${what} of another workspace's key`);
    assertError(none, 404, 'not_found', `${what} of a missing key`);
    assert.equal(foreign.json.message.replace(bLive.id, 'ID'), none.json.message.replace(missing, 'ID'), `${what}: the messages tell them apart`);
    assert.ok(!foreign.text.includes(wsB.id), `${what}: names the other workspace`);
  }
  assertError(await b.get(`/v1/api-keys?workspace_id=${wsB.id}`), 404, 'not_found', 'list filtered by another workspace');
  assertError(await b.get(`/v1/usage?workspace_id=${wsB.id}`), 404, 'not_found', 'usage of another workspace');
  const w = await b.get(`/v1/workspaces/${wsB.id}`);
  assert.ok(w.status === 404 || w.status === 403, `another workspace: ${w.status} ${w.text}`);
  assert.ok(!w.text.includes('Portal Beta'), 'another workspace\'s name leaked');
  const cr = await b.write('POST', '/v1/api-keys', { workspace_id: wsB.id, environment: 'live', name: 'planted' });
  assert.ok(cr.status === 404 || cr.status === 403, `create in another workspace: ${cr.status} ${cr.text}`);
  assert.deepEqual(await keyIds(srv, wsB.id), bKeys, 'the other workspace changed');
  assert.equal((await srv.verify({ key: bLive.key })).code, 'valid');
});

test('a portal session for environment test cannot list, create, read, rotate or revoke live keys', async () => {
  const b = await openPortal(srv, { workspace_id: wsA.id, environment: 'test', member: { id: 'u_testenv' } });
  assert.equal(b.session.environment, 'test');
  const list = await b.get('/v1/api-keys?limit=1000');
  assert.equal(list.status, 200, list.text);
  assert.ok(list.json.data.length >= 1);
  assert.ok(list.json.data.every((k) => k.environment === 'test'), 'a live key in a test session\'s list');
  assert.ok(list.json.data.some((k) => k.id === aTest.id));
  const live = await b.get('/v1/api-keys?environment=live&limit=1000');
  if (live.status === 200) assert.ok(live.json.data.every((k) => k.environment === 'test'), `?environment=live: ${live.text}`);
  else assert.ok(live.status === 403 || live.status === 404, `?environment=live: ${live.status}`);
  const before = await keyIds(srv, wsA.id);
  assertError(await b.get(`/v1/api-keys/${aLive.id}`), 404, 'not_found', 'read a live key');
  assertError(await b.write('POST', `/v1/api-keys/${aLive.id}/rotate`, {}), 404, 'not_found', 'rotate a live key');
  assertError(await b.write('DELETE', `/v1/api-keys/${aLive.id}`), 404, 'not_found', 'revoke a live key');
  assertError(await b.get(`/v1/usage?key_id=${aLive.id}`), 404, 'not_found', 'usage of a live key');
  const cl = await b.write('POST', '/v1/api-keys', { workspace_id: wsA.id, environment: 'live', name: 'live from test' });
  assert.ok((cl.status === 403 && cl.json?.error === 'insufficient_scope') || (cl.status === 404 && cl.json?.error === 'not_found'),
    `create a live key: ${cl.status} ${cl.text}`);
  assert.deepEqual(await keyIds(srv, wsA.id), before, 'something changed');
  assert.equal((await srv.verify({ key: aLive.key })).code, 'valid');
  const ct = await b.write('POST', '/v1/api-keys', { workspace_id: wsA.id, environment: 'test', name: 'test from test' });
  assert.equal(ct.status, 201, ct.text);
  assert.equal(ct.json.environment, 'test');
  assert.match(ct.json.key, /^kw_test_/);
});

test('a portal session for environment test sees the usage of test keys only', async () => {
  const ws = await srv.createWorkspace('Portal Usage Env', { max_active_keys: 10 });
  const live = await srv.createKey(ws.id, { name: 'live' });
  const testKey = await srv.createKey(ws.id, { name: 'test', environment: 'test' });
  const b = await openPortal(srv, { workspace_id: ws.id, environment: 'test', permissions: ['usage:read'] });
  for (let i = 0; i < 4; i++) assert.equal((await srv.verify({ key: live.key })).code, 'valid');
  for (let i = 0; i < 2; i++) assert.equal((await srv.verify({ key: testKey.key })).code, 'valid');
  const q = `/v1/usage?workspace_id=${ws.id}&granularity=day`;
  const all = await poll(async () => {
    const r = await srv.get(q);
    return r.status === 200 && r.json.valid >= 6 ? r : null;
  }, { timeoutMs: 6000 });
  assert.ok(all, 'the verifications never showed up in the usage');
  assert.equal(all.json.valid, 6, 'root sees both environments');
  const mine = await b.get(q);
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.json.valid, 2, `a test session sees live usage: ${mine.text}`);
  assert.equal(mine.json.total, 2);
  const own = await b.get(`/v1/usage?key_id=${testKey.id}&granularity=day`);
  assert.equal(own.status, 200, own.text);
  assert.equal(own.json.valid, 2);
  assertError(await b.get(`/v1/usage?key_id=${live.id}&granularity=day`), 404, 'not_found', 'usage of a live key');
});

test('keys created on the portal carry only the session\'s scopes (403 insufficient_scope otherwise)', async () => {
  const ws = await srv.createWorkspace('Portal Scopes', { max_active_keys: 50 });
  const b = await openPortal(srv, { workspace_id: ws.id, scopes: ['orders:read', 'orders:write'] });
  const none = await openPortal(srv, { workspace_id: ws.id });
  const body = (scopes) => ({ workspace_id: ws.id, environment: 'live', name: 'scoped', ...(scopes ? { scopes } : {}) });
  const before = await keyIds(srv, ws.id);
  for (const scopes of [['admin'], ['orders:*'], ['*'], ['orders:read', 'billing:read'], ['keys:manage']]) {
    assertError(await b.write('POST', '/v1/api-keys', body(scopes)), 403, 'insufficient_scope', `create with ${scopes}`);
  }
  for (const scopes of [['orders:read'], ['keys:manage'], ['*']]) {
    assertError(await none.write('POST', '/v1/api-keys', body(scopes)), 403, 'insufficient_scope', `default session, create with ${scopes}`);
  }
  assert.deepEqual(await keyIds(srv, ws.id), before, 'a key was created');
  const ok = await b.write('POST', '/v1/api-keys', body(['orders:read', 'orders:write']));
  assert.equal(ok.status, 201, ok.text);
  assert.deepEqual([...ok.json.scopes].sort(), ['orders:read', 'orders:write']);
  const plain = await none.write('POST', '/v1/api-keys', body());
  assert.equal(plain.status, 201, plain.text);
  assert.deepEqual(plain.json.scopes, []);
});

test('the workspace\'s active-key limit holds on the portal: 409 key_limit_reached', async () => {
  const ws = await srv.createWorkspace('Portal Limit', { max_active_keys: 2 });
  await srv.createKey(ws.id, { name: 'first' });
  const b = await openPortal(srv, { workspace_id: ws.id });
  assert.equal(b.session.workspace.max_active_keys, 2);
  assert.equal(b.session.workspace.active_keys, 1);
  const body = { workspace_id: ws.id, environment: 'live', name: 'portal' };
  const second = await b.write('POST', '/v1/api-keys', body);
  assert.equal(second.status, 201, second.text);
  const racing = await Promise.all(Array.from({ length: 5 }, () => b.write('POST', '/v1/api-keys', body)));
  for (const r of racing) assertError(r, 409, 'key_limit_reached', 'past the limit');
  assert.equal((await b.get('/v1/session')).json.workspace.active_keys, 2);
  assert.equal((await keyIds(srv, ws.id)).length, 2);
  assert.equal((await b.write('DELETE', `/v1/api-keys/${second.json.id}`)).status, 200);
  assert.equal((await b.write('POST', '/v1/api-keys', body)).status, 201, 'a freed slot can be used');
});

test('every change on the portal is audited as member:<id> (or portal:ps_…) with the client address; actor and action filter', async () => {
  const ws = await srv.createWorkspace('Portal Audit', { max_active_keys: 50 });
  const b = await openPortal(srv, { workspace_id: ws.id, member: { id: 'm_1', name: 'Ada' } });
  const from = { 'x-forwarded-for': '203.0.113.7' };
  const body = { workspace_id: ws.id, environment: 'live', name: 'audited' };
  const k1 = await b.write('POST', '/v1/api-keys', body, from);
  const k2 = await b.write('POST', '/v1/api-keys', body, from);
  assert.equal(k1.status, 201, k1.text);
  assert.equal(k2.status, 201, k2.text);
  const rot = await b.write('POST', `/v1/api-keys/${k1.json.id}/rotate`, {}, from);
  assert.equal(rot.status, 201, rot.text);
  const rev = await b.write('DELETE', `/v1/api-keys/${k2.json.id}`, undefined, from);
  assert.equal(rev.status, 200, rev.text);

  const all = await auditOf(srv, `workspace_id=${ws.id}`);
  for (const [action, target] of [['key.create', k1.json.id], ['key.create', k2.json.id], ['key.rotate', null], ['key.revoke', k2.json.id]]) {
    const e = all.find((x) => x.action === action && (target === null || x.target === target));
    assert.ok(e, `no ${action} ${target ?? ''} in ${JSON.stringify(all)}`);
    assert.equal(e.actor, 'member:m_1', `${action} actor`);
    assert.equal(e.ip, '203.0.113.7', `${action} ip`);
    assert.equal(e.workspace_id, ws.id);
  }
  const filtered = await auditOf(srv, 'actor=member:m_1&action=key.create');
  assert.deepEqual(filtered.map((e) => e.target).sort(), [k1.json.id, k2.json.id].sort(), JSON.stringify(filtered));
  assert.ok(filtered.every((e) => e.actor === 'member:m_1' && e.action === 'key.create'));
  const byActor = await auditOf(srv, 'actor=member:m_1');
  assert.ok(byActor.every((e) => e.actor === 'member:m_1'));
  assert.ok(byActor.some((e) => e.action === 'key.rotate') && byActor.some((e) => e.action === 'key.revoke'));

  // Without a member, the portal session is the actor; without a forwarded
  // address, the peer's.
  const anon = await openPortal(srv, { workspace_id: ws.id });
  const k3 = await anon.write('POST', '/v1/api-keys', body);
  assert.equal(k3.status, 201, k3.text);
  const e3 = (await auditOf(srv, `target=${k3.json.id}`)).find((e) => e.action === 'key.create');
  assert.ok(e3);
  assert.equal(e3.actor, `portal:${anon.ps.id}`);
  assert.equal(e3.ip, '127.0.0.1');
  const text = JSON.stringify(await auditOf(srv));
  assert.ok(!text.includes('kw_sess_'), 'a session token in the audit log');
  assert.ok(!text.includes('kw_code_'), 'a portal code in the audit log');
  assertNoSecretIn(text, [b.token, anon.token, k1.json.key, k2.json.key, rot.json.key, k3.json.key], 'the audit log');
});

// ---------------------------------------------------------------------------
// The console

test('POST /v1/console-sessions exchanges a root key for a console cookie, only from this deployment\'s Origin', async () => {
  const before = (await auditOf(srv, 'action=console.sign_in')).length;
  for (const [what, headers] of [['no Origin', {}], ['another Origin', { origin: 'https://evil.example' }], ['Origin null', { origin: 'null' }],
    ['cross-site fetch', { origin: srv.publicUrl, 'sec-fetch-site': 'cross-site' }]]) {
    const r = await srv.api('POST', '/v1/console-sessions', { headers });
    assertError(r, 403, 'forbidden', `sign-in with ${what}`);
    assert.equal(r.headers.get('set-cookie'), null, `${what}: a cookie`);
  }
  const manager = await srv.createKey(wsA.id, { name: 'console manager', scopes: ['keys:manage'] });
  for (const [what, token] of [['a managing key', manager.key], ['no key', null], ['a wrong root key', fabricateKey('kw', 'root')]]) {
    if (token) secret(token);
    const r = await srv.api('POST', '/v1/console-sessions', { token, headers: { origin: srv.publicUrl } });
    assert.ok(r.status === 401 || r.status === 403, `${what}: ${r.status} ${r.text}`);
    assert.equal(r.headers.get('set-cookie'), null, `${what}: a cookie`);
  }
  assert.equal((await auditOf(srv, 'action=console.sign_in')).length, before, 'a refused sign-in was audited as one');

  const r = await srv.api('POST', '/v1/console-sessions', { headers: { origin: srv.publicUrl } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.kind, 'console');
  assert.equal(r.json.actor, rkId);
  assert.match(r.json.expires_at, RFC3339_UTC);
  assert.equal(typeof r.json.csrf_token, 'string');
  const c = parseSetCookie(r.headers.get('set-cookie'), 'kw_console');
  secret(c.value);
  assert.match(c.value, /^kw_sess_[0-9A-Za-z]{20,}$/);
  assert.equal(c.attrs.httponly, true);
  assert.equal(String(c.attrs.samesite).toLowerCase(), 'strict');
  assert.equal(c.attrs.path, '/');
  assert.ok(!r.text.includes(c.value) && !r.text.includes(srv.rootKey), 'the answer holds a secret');
  const b = await new Browser(srv, 'console', c.value).init();
  assert.equal(b.session.kind, 'console');
  assert.equal(b.session.actor, rkId);
  assert.equal(b.csrf, r.json.csrf_token);
  assert.equal((await auditOf(srv, 'action=console.sign_in')).length, before + 1);
});

test('a console session acts as its root key: search, create, change, revoke; changes need Origin and CSRF', async () => {
  const b = await consoleSignIn(srv);
  const target = await srv.createWorkspace('Zephyr Search Target');
  const byName = await b.get('/v1/workspaces?q=zephyr%20search');
  assert.equal(byName.status, 200, byName.text);
  assert.deepEqual(byName.json.data.map((w) => w.id), [target.id]);
  const part = target.id.slice(5, 15);
  const byId = await b.get(`/v1/workspaces?q=${part}`);
  assert.ok(byId.json.data.some((w) => w.id === target.id), `q=${part}: ${byId.text}`);
  assert.deepEqual((await b.get('/v1/workspaces?q=no-such-workspace-anywhere')).json.data, []);
  for (const p of ['/v1/audit-log', `/v1/api-keys?workspace_id=${wsB.id}`, `/v1/usage?workspace_id=${wsB.id}`, `/v1/api-keys/${bLive.id}`]) {
    assert.equal((await b.get(p)).status, 200, p);
  }
  const before = await srv.listAll('/v1/workspaces');
  assertError(await b.write('POST', '/v1/workspaces', { name: 'no csrf' }, { 'x-csrf-token': null }), 403, 'forbidden', 'console create without CSRF');
  assertError(await b.write('POST', '/v1/workspaces', { name: 'cross site' }, { origin: 'https://evil.example' }), 403, 'forbidden', 'console create cross-site');
  assert.equal((await srv.listAll('/v1/workspaces')).length, before.length);
  const made = await b.write('POST', '/v1/workspaces', { name: 'made in the console', max_active_keys: 3 });
  assert.equal(made.status, 201, made.text);
  const patched = await b.write('PATCH', `/v1/workspaces/${made.json.id}`, { max_active_keys: 7 });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.max_active_keys, 7);
  const k = await srv.createKey(made.json.id, { name: 'to revoke' });
  assert.equal((await b.write('DELETE', `/v1/api-keys/${k.id}`)).status, 200);
  assert.equal((await srv.verify({ key: k.key })).code, 'revoked');
  const audit = await auditOf(srv, `workspace_id=${made.json.id}`);
  for (const action of ['workspace.create', 'workspace.update', 'key.revoke']) {
    const e = audit.find((x) => x.action === action);
    assert.ok(e, `no ${action}`);
    assert.equal(e.actor, rkId, `${action} by the console is audited as its root key`);
  }
});

test('a portal session opened from the console is the root key\'s, and so are its changes', async () => {
  const b = await consoleSignIn(srv);
  const ws = await srv.createWorkspace('Portal From Console', { max_active_keys: 10 });
  const before = (await auditOf(srv, 'action=portal_session.create')).length;
  assertError(await b.write('POST', '/v1/portal-sessions', { workspace_id: ws.id }, { 'x-csrf-token': null }), 403, 'forbidden', 'without CSRF');
  assert.equal((await auditOf(srv, 'action=portal_session.create')).length, before);
  const r = await b.write('POST', '/v1/portal-sessions', { workspace_id: ws.id });
  assert.equal(r.status, 201, r.text);
  const { pathAndQuery } = codeOf(r.json);
  assert.equal(r.json.actor, rkId, 'the portal session\'s actor');
  assert.equal(r.json.created_by, rkId);
  const o = await srv.raw('GET', pathAndQuery);
  assert.equal(o.status, 303, o.text);
  const p = await new Browser(srv, 'portal', parseSetCookie(o.headers.get('set-cookie'), 'kw_portal').value).init();
  assert.equal(p.session.actor, rkId);
  const k = await p.write('POST', '/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'operator made' });
  assert.equal(k.status, 201, k.text);
  const e = (await auditOf(srv, `target=${k.json.id}`)).find((x) => x.action === 'key.create');
  assert.ok(e);
  assert.equal(e.actor, rkId);
});

test('revoking the root key ends its console sessions: 401 session_expired', async () => {
  const rk2 = secret(await createRootKey(srv.dataDir, 'console-revoke'));
  const id2 = await rootKeyId(srv, rk2);
  const b = await consoleSignIn(srv, rk2);
  assert.equal(b.session.actor, id2);
  assert.equal((await b.get('/v1/workspaces')).status, 200);
  const rv = await runCli(['root-keys', 'revoke', id2, ...srv.storeArgs()]);
  assert.equal(rv.code, 0, rv.stderr);
  const r = await poll(async () => {
    const x = await b.get('/v1/session');
    return x.status !== 200 ? x : null;
  }, { timeoutMs: 5000 });
  assert.ok(r, 'the console session outlived its root key');
  assertError(r, 401, 'session_expired', 'console of a revoked root key');
  assertError(await b.get('/v1/workspaces'), 401, 'session_expired', 'a root route');
  const before = await srv.listAll('/v1/workspaces');
  assertError(await b.write('POST', '/v1/workspaces', { name: 'after revoke' }), 401, 'session_expired', 'a change');
  assert.equal((await srv.listAll('/v1/workspaces')).length, before.length);
  // The other root key's console goes on.
  const still = await consoleSignIn(srv);
  assert.equal((await still.get('/v1/workspaces')).status, 200);
});

// ---------------------------------------------------------------------------
// Guessing

test('guessed session tokens spend the address\'s failure budget, shared with root-key guesses, then 429', async () => {
  const ws = await budget.createWorkspace('budget');
  const good = await openPortal(budget, { workspace_id: ws.id });
  const from = (ip) => ({ 'x-forwarded-for': ip });
  const guessPortal = (ip) => budget.get('/v1/session', { token: null, headers: { 'x-keyward-session': 'portal', cookie: `kw_portal=${guessToken()}`, ...from(ip) } });
  const guessConsole = (ip) => budget.get('/v1/workspaces', { token: null, headers: { 'x-keyward-session': 'console', cookie: `kw_console=${guessToken()}`, ...from(ip) } });
  const guessRoot = (ip) => budget.get('/v1/workspaces', { token: secret(fabricateKey('kw', 'root')), headers: from(ip) });

  const statuses = [];
  for (let i = 0; i < 7; i++) statuses.push((await guessPortal('198.51.100.10')).status);
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429], 'budget of 5, then 429');
  const locked = await guessPortal('198.51.100.10');
  assertError(locked, 429, 'rate_limited', 'past the budget');
  // Another address still has its own budget and its session works.
  assert.equal((await good.get('/v1/session', from('198.51.100.11'))).status, 200);

  // One budget for cookies of both kinds and root keys.
  const mixed = [];
  for (const g of [guessPortal, guessConsole, guessRoot, guessPortal, guessRoot, guessConsole, guessPortal]) mixed.push((await g('198.51.100.20')).status);
  assert.deepEqual(mixed, [401, 401, 401, 401, 401, 429, 429], 'cookie and root-key guesses share one budget');
});

// ---------------------------------------------------------------------------
// Secrets

test('no code, session token, root key or API key in the server logs, the audit log, /metrics or an error body', async () => {
  const secrets = [...seen];
  assert.ok(secrets.filter((s) => s.startsWith('kw_sess_')).length >= 20, 'session tokens seen');
  assert.ok(secrets.filter((s) => s.startsWith('kw_code_')).length >= 20, 'codes seen');
  for (const [name, s] of Object.entries({ srv, short, tls, bare, budget })) {
    const logs = s.allStdout + s.allStderr.replace(/(keyward created the first root key for this database:\s*\n\s*)\S+/g, '$1[banner]');
    assertNoSecretIn(logs, secrets, `the log of ${name}`);
    assert.doesNotMatch(logs, /kw_(?:sess|code)_[0-9A-Za-z]{12,}/, `the log of ${name} holds a code or session token`);
    const audit = JSON.stringify(await s.listAll('/v1/audit-log'));
    assert.ok(!audit.includes('kw_sess_') && !audit.includes('kw_code_'), `the audit log of ${name} holds a code or session token`);
    assertNoSecretIn(audit, secrets, `the audit log of ${name}`);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assertNoSecretIn(metrics, secrets, `/metrics of ${name}`);
    assert.ok(!metrics.includes('kw_sess_') && !metrics.includes('kw_code_'), `/metrics of ${name}`);
  }
  assert.ok(errorBodies.length > 50, `error bodies seen: ${errorBodies.length}`);
  assertNoSecretIn(errorBodies.join('\n'), secrets, 'the error bodies');
});
