// Portal sessions at their edges: a link used twice, a session that
// expires, no session at all, another workspace's key through the session
// cookie, and writes from another site or without the CSRF token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAccessibility, launch, screenshot } from './lib/browser.mjs';
import { keysOf, noteSecret, poll, portalSession, sleep, startKeyward, startSite } from './lib/setup.mjs';

// From inside the portal page: an API call with the session cookie and,
// unless csrf is false, the page's session header and CSRF token.
function callFromPage(page, method, path, { body, csrf = true, session = true } = {}) {
  return page.evaluate(
    async ({ method, path, body, csrf, session }) => {
      const s = await (await fetch('/v1/session', { headers: { 'X-Keyward-Session': 'portal' } })).json();
      const headers = {};
      if (session) headers['X-Keyward-Session'] = 'portal';
      if (csrf === true) headers['X-CSRF-Token'] = s.csrf_token;
      else if (typeof csrf === 'string') headers['X-CSRF-Token'] = csrf;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const r = await fetch(path, {
        method,
        credentials: 'same-origin',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: r.status, json, text };
    },
    { method, path, body, csrf, session },
  );
}

describe('portal sessions', () => {
  let srv; // sessions of 15 minutes
  let short; // sessions of 3 seconds
  let site; // the operator's app (return_url) and "another site"
  let browser;
  let page;
  let ws;
  let other;
  let otherKey;
  const visits = [];

  before(async () => {
    site = await startSite({
      '/account': (req, res) => {
        visits.push(req.url);
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><html lang="en"><title>Account</title><h1>Your account</h1></html>');
      },
    });
    [srv, short] = await Promise.all([startKeyward(), startKeyward({ portal: { session_ttl_seconds: 3 } })]);
    ws = await srv.createWorkspace('Session Co', { max_active_keys: 5 });
    other = await srv.createWorkspace('Other Co');
    otherKey = await srv.createKey(other.id, { name: 'theirs' });
    noteSecret(otherKey.key);
    browser = await launch();
    page = browser.page;
  });

  after(async () => {
    assert.deepEqual(browser?.problems ?? [], [], 'script errors or CSP refusals in the page');
    await browser?.close();
    await Promise.all([srv?.close(), short?.close(), site?.close()]);
  });

  it('a link opened twice shows the "already used" page with a way back', async () => {
    const back = `${site.url()}/account?tab=keys`;
    const ps = await portalSession(srv, { workspace_id: ws.id, return_url: back });
    await page.goto(ps.url);
    await page.waitForURL(`${srv.url}/portal`);
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();

    const res = await page.goto(ps.url);
    assert.equal(res.status(), 410, 'the second use is refused');
    await page.getByRole('heading', { level: 1, name: 'This link was already used' }).waitFor();
    const link = page.getByRole('link');
    assert.equal(await link.count(), 1);
    assert.equal(await link.getAttribute('href'), back, 'the page links back to return_url');
    await checkAccessibility(page, 'code already used page');
    await screenshot(page, 'portal-code-used.png');

    const bogus = await page.goto(`${srv.url}/portal?code=thiscodewasneverissued0123456789`);
    assert.equal(bogus.status(), 404);
    await page.getByRole('heading', { level: 1, name: 'This link does not work' }).waitFor();
    await checkAccessibility(page, 'unknown code page');
    await screenshot(page, 'portal-code-invalid.png');
  });

  it('without a session the portal says to ask for a new link', async () => {
    const fresh = await browser.context.newPage();
    await browser.context.clearCookies();
    await fresh.goto(`${srv.url}/portal`);
    await fresh.getByRole('heading', { level: 1, name: 'This link has no session' }).waitFor();
    assert.match(await fresh.locator('main').innerText(), /new link/);
    await checkAccessibility(fresh, 'portal without a session');
    await screenshot(fresh, 'portal-no-session.png');
    await fresh.close();
  });

  it('an expired session goes back to return_url?…&reason=session_expired', async () => {
    const back = `${site.url()}/account?tab=keys`;
    // Expiry noticed by a write (a click on Create key).
    const ws1 = await short.createWorkspace('Short Co');
    const ps = await portalSession(short, { workspace_id: ws1.id, return_url: back });
    await page.goto(ps.url);
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    await sleep(3500);
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.getByLabel('Name').fill('too late');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    await page.waitForURL((u) => u.origin === site.url() && u.pathname === '/account', { timeout: 10_000 });
    assert.equal(page.url(), `${back}&reason=session_expired`);
    assert.equal((await keysOf(short, ws1.id)).length, 0, 'no key was created after the session ended');

    // Expiry noticed on load (a reload).
    const ps2 = await portalSession(short, { workspace_id: ws1.id, return_url: `${site.url()}/account` });
    await page.goto(ps2.url);
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    await sleep(3500);
    await page.reload();
    await page.waitForURL(`${site.url()}/account?reason=session_expired`, { timeout: 10_000 });

    // Without a return_url: the page says so itself.
    const ps3 = await portalSession(short, { workspace_id: ws1.id });
    await page.goto(ps3.url);
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    await sleep(3500);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Your session has expired' }).waitFor();
    await checkAccessibility(page, 'portal session expired');
    await screenshot(page, 'portal-session-expired.png');
  });

  it("another workspace's key through the session cookie answers 404", async () => {
    const ps = await portalSession(srv, { workspace_id: ws.id });
    await page.goto(ps.url);
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    const path = `/v1/api-keys/${otherKey.id}`;
    for (const [method, body] of [['GET'], ['POST', { grace_seconds: 0 }], ['DELETE']]) {
      const p = method === 'POST' ? `${path}/rotate` : path;
      const r = await callFromPage(page, method, p, { body });
      assert.equal(r.status, 404, `${method} ${p} from workspace ${ws.id}'s portal: ${r.status} ${r.text}`);
      assert.equal(r.json?.error, 'not_found');
    }
    // Changing a key is not among a portal's powers at all: refused alike
    // for a key of another workspace and for no key, so it tells nothing.
    const patch = await callFromPage(page, 'PATCH', path, { body: { name: 'mine now' } });
    const patchNone = await callFromPage(page, 'PATCH', '/v1/api-keys/key_doesnotexist000000000', { body: { name: 'x' } });
    assert.ok([403, 404].includes(patch.status), `PATCH ${path}: ${patch.status} ${patch.text}`);
    assert.equal(patch.status, patchNone.status, 'PATCH answers the same for a foreign key and no key');
    assert.equal(patch.json?.error, patchNone.json?.error);
    const list = await callFromPage(page, 'GET', `/v1/api-keys?workspace_id=${other.id}`);
    assert.ok(!list.text.includes(otherKey.id), `listing the other workspace shows none of its keys: ${list.status} ${list.text}`);
    assert.notEqual(list.status, 200, `listing the other workspace: ${list.status} ${list.text}`);
    const usage = await callFromPage(page, 'GET', `/v1/usage?workspace_id=${other.id}&granularity=day`);
    assert.notEqual(usage.status, 200, `the other workspace's usage: ${usage.status} ${usage.text}`);
    const k = await srv.get(`/v1/api-keys/${otherKey.id}`);
    assert.equal(k.json.status, 'active', 'the other key is untouched');
    assert.equal(k.json.name, 'theirs');
  });

  it('a same-origin write without the CSRF token is refused with 403', async () => {
    const before = (await keysOf(srv, ws.id)).length;
    const body = { workspace_id: ws.id, environment: 'live', name: 'no token' };
    const none = await callFromPage(page, 'POST', '/v1/api-keys', { body, csrf: false });
    assert.equal(none.status, 403, `POST without X-CSRF-Token: ${none.status} ${none.text}`);
    assert.equal(typeof none.json?.message, 'string');
    const wrong = await callFromPage(page, 'POST', '/v1/api-keys', { body, csrf: 'not-the-token' });
    assert.equal(wrong.status, 403, `POST with a wrong X-CSRF-Token: ${wrong.status} ${wrong.text}`);
    const bare = await callFromPage(page, 'POST', '/v1/api-keys', { body, csrf: false, session: false });
    assert.ok([401, 403].includes(bare.status), `POST with the cookie alone: ${bare.status} ${bare.text}`);
    assert.equal((await keysOf(srv, ws.id)).length, before, 'no key was created');
    // The page itself, with its token, can.
    const ok = await callFromPage(page, 'POST', '/v1/api-keys', { body: { ...body, name: 'with token' } });
    assert.equal(ok.status, 201, `POST with the token: ${ok.status} ${ok.text}`);
    noteSecret(ok.json.key);
    await srv.del(`/v1/api-keys/${ok.json.id}`);
  });

  it('a POST from another site or origin creates no key', async (t) => {
    const target = `${srv.url}/v1/api-keys`;
    const payload = JSON.stringify({ workspace_id: ws.id, environment: 'live', name: 'forged' });
    const attack = `
      const results = [];
      const target = ${JSON.stringify(target)};
      const payload = ${JSON.stringify(payload)};
      async function tryFetch(label, init) {
        try {
          const r = await fetch(target, { method: 'POST', credentials: 'include', ...init });
          results.push(label + ':' + r.status);
        } catch (e) {
          results.push(label + ':blocked');
        }
      }
      (async () => {
        await tryFetch('simple', { mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: payload });
        await tryFetch('json', { headers: { 'Content-Type': 'application/json', 'X-Keyward-Session': 'portal' }, body: payload });
        await tryFetch('guess', { headers: { 'Content-Type': 'application/json', 'X-Keyward-Session': 'portal', 'X-CSRF-Token': 'guess' }, body: payload });
        document.getElementById('f').submit();
        window.attackDone = results;
      })();
    `;
    const pageHtml = `<!doctype html><html lang="en"><title>Totally legit</title>
      <iframe name="sink" title="sink"></iframe>
      <form id="f" method="POST" action="${target}" enctype="text/plain" target="sink">
        <input type="hidden" name='{"workspace_id":"${ws.id}","environment":"live","name":"forged","x":"' value='"}'>
      </form>
      <script src="/attack.js"></script></html>`;
    const evil = await startSite({
      '/attack': ['text/html', pageHtml],
      '/attack.js': ['text/javascript', attack],
    });
    try {
      // The victim holds a live portal session in this browser.
      const ps = await portalSession(srv, { workspace_id: ws.id });
      await page.goto(ps.url);
      await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
      const before = (await keysOf(srv, ws.id)).length;
      // localhost is another site than 127.0.0.1; 127.0.0.1 on another port
      // is the same site but another origin (SameSite cookies still go).
      for (const host of ['localhost', '127.0.0.1']) {
        const tab = await browser.context.newPage();
        await tab.goto(`${evil.url(host)}/attack`);
        const results = await poll(() => tab.evaluate(() => window.attackDone), { timeoutMs: 8000 });
        assert.ok(results, `the attack page on ${host} ran`);
        await sleep(800); // the form post lands in the iframe
        const after = (await keysOf(srv, ws.id)).length;
        assert.equal(after, before, `a POST from ${evil.url(host)} created a key (${results.join(' ')})`);
        for (const r of results) assert.ok(!r.endsWith(':201'), `${host}: ${r}`);
        t.diagnostic(`from ${evil.url(host)}: ${results.join(' ')}, form post: no key`);
        await tab.close();
      }
    } finally {
      await evil.close();
    }
  });
});
