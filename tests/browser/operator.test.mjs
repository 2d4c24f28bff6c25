// The operator: signs in to /console with a root key (which the page then
// forgets), creates a workspace, sets its key limit, reads the audit log,
// opens the workspace's portal and signs out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoHorizontalScroll, checkAccessibility, launch, screenshot } from './lib/browser.mjs';
import { heapText, noteSecret, poll, retainerPath, scrubTestTraces, startKeyward, storageDump } from './lib/setup.mjs';
import { fabricateKey } from '../functional/lib/keyward.mjs';

describe('operator console', () => {
  let srv;
  let browser;
  let page;
  let context;
  let wsId;
  const name = 'Operator Test Co';

  before(async () => {
    srv = await startKeyward();
    noteSecret(srv.rootKey);
    browser = await launch();
    ({ page, context } = browser);
  });

  after(async () => {
    assert.deepEqual(browser?.problems ?? [], [], 'script errors or CSP refusals in the page');
    await browser?.close();
    await srv?.close();
  });

  it('shows the sign-in form and refuses a wrong root key with its message', async () => {
    const res = await page.goto(`${srv.url}/console`);
    assert.equal(res.status(), 200);
    const csp = res.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/, `the console page has a CSP: ${csp}`);
    const input = page.getByLabel('Root key');
    await input.waitFor();
    assert.equal(await input.getAttribute('type'), 'password');
    await checkAccessibility(page, 'console sign-in');
    await screenshot(page, 'console-signin.png');

    const wrong = fabricateKey('kw', 'root');
    noteSecret(wrong);
    await input.fill(wrong);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert').filter({ hasText: /\S/ });
    await alert.waitFor();
    assert.ok((await alert.innerText()).length > 5, 'the API message is shown');
    assert.equal(await input.inputValue(), '', 'the field is cleared after the attempt');
  });

  it('signs in with the root key, which is then nowhere in the page', async () => {
    await page.getByLabel('Root key').fill(srv.rootKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Workspaces' }).waitFor();
    const tail = srv.rootKey.slice(-24);
    const dom = await page.evaluate(() => document.documentElement.outerHTML);
    assert.ok(!dom.includes(tail), 'the root key is not in the DOM');
    assert.ok(!(await storageDump(page)).includes(tail), 'the root key is not in storage or cookies');
    await scrubTestTraces(page);
    const heap = await heapText(context, page);
    if (heap.includes(tail)) assert.fail(`the page's JavaScript still holds the root key:\n${retainerPath(heap, tail)}`);
    const cookies = await context.cookies(srv.url);
    assert.ok(cookies.length > 0, 'a session cookie is set');
    for (const c of cookies) {
      assert.ok(!c.value.includes(tail), `cookie ${c.name} is not the root key`);
      assert.ok(c.httpOnly, `cookie ${c.name} is HttpOnly`);
    }
  });

  it('creates a workspace and sets its key limit', async () => {
    await page.getByRole('button', { name: 'New workspace' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    await dialog.getByLabel('Name').fill(name);
    await checkAccessibility(page, 'console new-workspace dialog');
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('heading', { level: 1, name }).waitFor();
    const list = await srv.listAll('/v1/workspaces');
    const ws = list.find((w) => w.name === name);
    assert.ok(ws, 'the workspace exists');
    wsId = ws.id;
    assert.equal(ws.max_active_keys_override, null, 'created with the deployment default');

    const useDefault = page.getByLabel('Use the deployment default');
    if (await useDefault.isChecked()) await useDefault.uncheck();
    await page.getByLabel('Active keys allowed').fill('7');
    await page.getByRole('button', { name: 'Save limit' }).click();
    await page.getByText(/Saved: this workspace may have 7 active keys/).waitFor();
    const r = await srv.get(`/v1/workspaces/${wsId}`);
    assert.equal(r.json.max_active_keys, 7);
    assert.equal(r.json.max_active_keys_override, 7);
    await page.getByText('0 of 7 active keys').waitFor();
    await checkAccessibility(page, 'console workspace view');
    await screenshot(page, 'console-workspace.png');
  });

  it('lists and searches workspaces', async () => {
    await srv.createWorkspace('Unrelated Ltd');
    await page.getByRole('button', { name: '← All workspaces' }).click();
    await page.getByRole('heading', { level: 1, name: 'Workspaces' }).waitFor();
    const row = page.locator(`tr[data-workspace-id="${wsId}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /0 of 7/);
    await page.getByLabel('Search by name or id').fill('operator test');
    await poll(async () => (await page.locator('tr[data-workspace-id]').count()) === 1);
    assert.equal(await page.locator('tr[data-workspace-id]').count(), 1, 'the search narrows the list');
    await row.waitFor();
    await checkAccessibility(page, 'console workspace list');
    await screenshot(page, 'console-workspaces.png');
    await page.getByLabel('Search by name or id').fill('');
  });

  it('shows the audit log with its filters', async () => {
    await page.getByRole('button', { name: 'Audit log', exact: true }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page.getByLabel('Workspace id').fill(wsId);
    await page.getByLabel('Action').fill('workspace.update');
    await page.getByRole('button', { name: 'Filter' }).click();
    const table = page.locator('.audit-table');
    await table.waitFor();
    await poll(async () => (await table.locator('tbody tr').count()) === 1);
    const text = await table.innerText();
    assert.match(text, /workspace\.update/);
    assert.ok(text.includes(wsId));
    await checkAccessibility(page, 'console audit log');
    await screenshot(page, 'console-audit.png');
  });

  it("opens the workspace's portal and lands on it", async () => {
    await page.getByRole('button', { name: 'Workspaces', exact: true }).click();
    await page.locator(`tr[data-workspace-id="${wsId}"]`).getByRole('button', { name }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
    await page.setViewportSize({ width: 375, height: 812 });
    await page.locator('.usage-table').waitFor();
    await assertNoHorizontalScroll(page, 'console workspace on a phone');
    await screenshot(page, 'console-phone.png');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('button', { name: 'Open portal' }).click();
    await page.waitForURL((u) => u.pathname === '/portal' && !u.search.includes('code='));
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    await page.getByText(`for ${name}`).waitFor();
    await checkAccessibility(page, 'portal opened from the console');
    await screenshot(page, 'portal-from-console.png');
  });

  it('signs out', async () => {
    await page.goto(`${srv.url}/console`);
    await page.getByRole('heading', { level: 1, name: 'Workspaces' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Root key').waitFor();
    const status = await page.evaluate(async () => {
      const r = await fetch('/v1/session', { headers: { 'X-Keyward-Session': 'console' } });
      return r.status;
    });
    assert.equal(status, 401, 'the console session is over');
  });
});
