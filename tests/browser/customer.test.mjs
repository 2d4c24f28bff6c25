// The customer: an operator's back end asks keyward for a one-time portal
// link, the customer opens it and manages the workspace's keys in the
// browser — create (the secret shown once, copied, then gone), rotate with a
// grace period, revoke, the key limit, usage.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoHorizontalScroll, checkAccessibility, launch, screenshot } from './lib/browser.mjs';
import {
  authWith,
  heapText,
  keysOf,
  noteSecret,
  poll,
  portalSession,
  recordResponses,
  retainerPath,
  scrubTestTraces,
  sleep,
  startKeyward,
  storageDump,
  BRANDING,
} from './lib/setup.mjs';

const KEY_SHAPE = /^[a-z][a-z0-9]*_live_[0-9A-Za-z]{40}$/;

describe('customer portal', () => {
  let srv;
  let browser;
  let page;
  let context;
  let ws;
  let first; // {secret, id}
  let rotated; // {secret, id}
  const returnUrl = 'http://127.0.0.1:9/account/api-keys?from=portal';

  before(async () => {
    srv = await startKeyward();
    ws = await srv.createWorkspace('Customer Co', { max_active_keys: 2 });
    browser = await launch({ permissions: ['clipboard-read', 'clipboard-write'] });
    ({ page, context } = browser);
  });

  after(async () => {
    assert.deepEqual(browser?.problems ?? [], [], 'script errors or CSP refusals in the page');
    await browser?.close();
    await srv?.close();
  });

  // The secret must be gone from the page once its dialog is closed.
  async function assertSecretGone(secret, label, responses) {
    const tail = secret.slice(-24);
    const dom = await page.evaluate(() => document.documentElement.outerHTML);
    assert.ok(!dom.includes(secret) && !dom.includes(tail), `${label}: the secret is still in the DOM`);
    const stored = await storageDump(page);
    assert.ok(!stored.includes(tail), `${label}: the secret is in localStorage, sessionStorage or a cookie`);
    await scrubTestTraces(page);
    const heap = await heapText(context, page);
    assert.ok(heap.length > 100_000, 'a heap snapshot was taken');
    if (heap.includes(tail)) {
      if (process.env.KEYWARD_HEAP_DUMP) (await import('node:fs')).writeFileSync(process.env.KEYWARD_HEAP_DUMP, heap);
      assert.fail(`${label}: the page's JavaScript still holds the secret (heap snapshot):\n${retainerPath(heap, tail)}`);
    }
    if (responses) {
      for (const text of await responses.texts()) {
        assert.ok(!text.includes(tail), `${label}: a later response holds the secret: ${text.split('\n')[0]}`);
      }
    }
  }

  async function openDialogFor(buttonName) {
    await page.getByRole('button', { name: buttonName, exact: true }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    const inside = await page.evaluate(() => Boolean(document.activeElement?.closest('dialog[open]')));
    assert.ok(inside, `focus moves into the dialog opened by ${buttonName}`);
    return dialog;
  }

  // Reads the secret from the one-time dialog, checks the copy button and
  // the advice, and returns it.
  async function readSecretDialog(label) {
    const dialog = page.locator('dialog[open]');
    await dialog.locator('[data-secret]').waitFor();
    const secret = (await dialog.locator('[data-secret]').textContent()).trim();
    noteSecret(secret);
    assert.match(secret, KEY_SHAPE, `${label}: the dialog shows a full key`);
    await dialog.getByText('Store it now: it will not be shown again.').waitFor();
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByRole('button', { name: 'Copied' }).waitFor();
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(clip, secret, `${label}: the copy button put the key on the clipboard`);
    // Clear the clipboard so that the only copy the test leaves is its own.
    await page.evaluate(() => navigator.clipboard.writeText(''));
    return secret;
  }

  async function closeDialogWith(how) {
    if (how === 'Escape') await page.keyboard.press('Escape');
    else await page.locator('dialog[open]').getByRole('button', { name: how, exact: true }).click();
    await page.locator('dialog[open]').waitFor({ state: 'detached' });
  }

  it('opens the one-time link and lands on /portal without the code', async () => {
    const ps = await portalSession(srv, {
      workspace_id: ws.id,
      return_url: returnUrl,
      member: { id: 'm_1', name: 'Ada' },
    });
    await page.goto(ps.url);
    await page.waitForURL((u) => u.pathname === '/portal');
    assert.equal(page.url(), `${srv.url}/portal`, 'the code left the address bar');
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    await page.getByText('No API keys yet').waitFor();
    const header = await page.locator('header').innerText();
    assert.ok(header.includes(BRANDING.product_name), `the product name is shown: ${header}`);
    assert.ok(header.includes('Ada'), `the member is shown: ${header}`);
    assert.equal(await page.getByRole('link', { name: 'Help' }).getAttribute('href'), BRANDING.support_url);
    const accent = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim());
    assert.equal(accent, BRANDING.accent_color, 'the accent colour comes from the configuration');
    assert.match(await page.getByTestId('key-limit').innerText(), /^0 of 2 active keys$/);
    await checkAccessibility(page, 'portal, no keys yet');
    await screenshot(page, 'portal-empty.png');
  });

  it('creates a key and shows its secret once, with a working copy button', async () => {
    const dialog = await openDialogFor('Create key');
    await checkAccessibility(page, 'portal create dialog');
    await dialog.getByLabel('Name').fill('production-server');
    await dialog.getByLabel('In 90 days').check();
    await screenshot(page, 'portal-create-dialog.png', { fullPage: false });
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const secret = await readSecretDialog('create');
    await checkAccessibility(page, 'portal secret dialog');
    await screenshot(page, 'portal-secret-dialog.png', { fullPage: false });

    const r = await authWith(srv, secret);
    assert.equal(r.status, 200, `/v1/auth with the new key: ${r.status} ${r.text}`);
    const keys = await keysOf(srv, ws.id);
    assert.equal(keys.length, 1);
    assert.equal(keys[0].name, 'production-server');
    assert.ok(keys[0].expires_at, 'the 90-day expiry was sent');
    const days = (Date.parse(keys[0].expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 89 && days < 91, `expires in ${days} days`);
    first = { secret, id: keys[0].id };

    const responses = recordResponses(page);
    await closeDialogWith('Done');
    // The page refreshes its list, limit and usage after a change.
    await page.locator(`tr[data-key-id="${first.id}"]`).waitFor();
    assert.match(await page.getByTestId('key-limit').innerText(), /^1 of 2 active keys$/);
    const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
    assert.equal(focused, 'Create key', 'focus goes back to the Create button');
    await page.locator('.uplot canvas').waitFor();
    await sleep(300);
    await assertSecretGone(secret, 'after the create dialog closed', responses);
    // And after a reload, which fetches everything again.
    await page.reload();
    await page.locator(`tr[data-key-id="${first.id}"]`).waitFor();
    await page.locator('.uplot canvas').waitFor();
    await sleep(300);
    await assertSecretGone(secret, 'after a reload', responses);
    responses.stop();
    await checkAccessibility(page, 'portal key list');
    await screenshot(page, 'portal-list.png');
  });

  it('rotates with a one-hour grace: a new secret once, both keys verify', async () => {
    const dialog = await openDialogFor('Rotate production-server');
    await checkAccessibility(page, 'portal rotate dialog');
    await dialog.getByLabel('1 hour').check();
    await screenshot(page, 'portal-rotate-dialog.png', { fullPage: false });
    await dialog.getByRole('button', { name: 'Rotate key' }).click();
    const secret = await readSecretDialog('rotate');
    assert.notEqual(secret, first.secret, 'rotation hands out a new key');
    const note = await page.locator('dialog[open]').innerText();
    assert.match(note, /keeps working until/, 'the dialog says how long the old key works');
    const responses = recordResponses(page);
    await closeDialogWith('Escape');

    for (const [label, key] of [['old', first.secret], ['new', secret]]) {
      const r = await authWith(srv, key);
      assert.equal(r.status, 200, `/v1/auth with the ${label} key during the grace: ${r.status} ${r.text}`);
    }
    const keys = await keysOf(srv, ws.id);
    const fresh = keys.find((k) => k.rotated_from === first.id);
    assert.ok(fresh, 'the new key replaces the old one');
    const old = keys.find((k) => k.id === first.id);
    const grace = (Date.parse(old.expires_at) - Date.now()) / 1000;
    assert.ok(grace > 3000 && grace <= 3601, `the old key works for about an hour more (${grace} s)`);
    rotated = { secret, id: fresh.id };
    await page.locator(`tr[data-key-id="${fresh.id}"]`).waitFor();
    await sleep(300);
    await assertSecretGone(secret, 'after the rotate dialog closed', responses);
    responses.stop();
  });

  it('shows the limit: Create disabled with the advice at 2 of 2', async () => {
    // The old key in its grace and the new one: two slots of two.
    await poll(async () => /^2 of 2 active keys$/.test(await page.getByTestId('key-limit').innerText()));
    assert.match(await page.getByTestId('key-limit').innerText(), /^2 of 2 active keys$/);
    const create = page.getByRole('button', { name: 'Create key' });
    assert.ok(await create.isDisabled(), 'Create is disabled at the limit');
    const advice = 'You have reached the limit of 2 active keys. Revoke a key you no longer use to create a new one.';
    await page.getByText(advice).waitFor();
    await checkAccessibility(page, 'portal at the key limit');
    await screenshot(page, 'portal-limit.png');
  });

  it('revokes the old key through the confirmation dialog; /v1/auth refuses it', async () => {
    const row = page.locator(`tr[data-key-id="${first.id}"]`);
    await row.getByRole('button', { name: /^Revoke/ }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    const text = await dialog.innerText();
    assert.ok(text.includes('production-server'), 'the dialog names the key');
    const old = (await keysOf(srv, ws.id)).find((k) => k.id === first.id);
    assert.ok(text.includes(old.short_prefix), `the dialog shows the prefix ${old.short_prefix}`);
    assert.match(text, /cannot be undone/);
    await checkAccessibility(page, 'portal revoke dialog');
    await screenshot(page, 'portal-revoke-dialog.png', { fullPage: false });
    const confirm = dialog.getByRole('button', { name: 'Revoke key' });
    assert.ok((await confirm.getAttribute('class')).includes('danger'), 'the confirm button is styled as destructive');
    await dialog.getByLabel('Reason (optional)').fill('replaced by rotation');
    await confirm.click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('production-server is revoked.').waitFor();
    await row.getByText('Revoked').waitFor();

    const r = await authWith(srv, first.secret);
    assert.equal(r.status, 401, `/v1/auth with the revoked key: ${r.status} ${r.text}`);
    assert.equal(r.json?.error, 'revoked');
    const r2 = await authWith(srv, rotated.secret);
    assert.equal(r2.status, 200, 'the new key still works');
    await poll(async () => /^1 of 2 active keys$/.test(await page.getByTestId('key-limit').innerText()));
    assert.ok(await page.getByRole('button', { name: 'Create key' }).isEnabled(), 'a slot is free again');
  });

  it('a second key reaches the limit again and the server agrees', async () => {
    const dialog = await openDialogFor('Create key');
    await dialog.getByLabel('Name').fill('staging');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const secret = await readSecretDialog('second create');
    await closeDialogWith('Done');
    await poll(async () => /^2 of 2 active keys$/.test(await page.getByTestId('key-limit').innerText()));
    assert.ok(await page.getByRole('button', { name: 'Create key' }).isDisabled());
    const over = await srv.post('/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: 'one too many' });
    assert.equal(over.status, 409, `a third key: ${over.status} ${over.text}`);
    const r = await authWith(srv, secret);
    assert.equal(r.status, 200);
  });

  it('shows the usage chart and table with the requests just made', async () => {
    // Usage is counted in memory and written once a second.
    let valid = 0;
    await poll(
      async () => {
        await page.reload();
        await page.locator('.usage-table tr.today').waitFor();
        valid = Number((await page.locator('.usage-table tr.today td[data-col="valid"]').innerText()).replace(/\D/g, ''));
        return valid >= 5;
      },
      { timeoutMs: 10_000, intervalMs: 700 },
    );
    assert.ok(valid >= 5, `today's valid requests in the usage table: ${valid}`);
    const refused = Number((await page.locator('.usage-table tr.today td[data-col="refused"]').innerText()).replace(/\D/g, ''));
    assert.ok(refused >= 1, `the revoked key's refusal is counted: ${refused}`);
    await page.locator('.uplot canvas').first().waitFor();
    const label = await page.locator('.chart-area').getAttribute('aria-label');
    assert.ok(label && label.length > 10, 'the chart has an accessible name');
    assert.equal(await page.locator('.usage-table tbody tr').count(), 30, 'thirty days, empty ones as zeros');

    // One key's usage.
    await page.getByLabel('Show usage for').selectOption(rotated.id);
    await page.locator(`.usage-table-wrap[data-key-id="${rotated.id}"]`).waitFor();
    const one = Number((await page.locator('.usage-table tr.today td[data-col="valid"]').innerText()).replace(/\D/g, ''));
    assert.ok(one >= 2 && one < valid, `the rotated key's own valid requests: ${one} (all keys: ${valid})`);
    const row = page.locator(`tr[data-key-id="${rotated.id}"]`);
    const counts = await row.locator('td.num').allInnerTexts();
    assert.ok(Number(counts[0].replace(/\D/g, '')) >= 2, `requests in 24 h on the key's row: ${counts}`);
    await checkAccessibility(page, 'portal usage');
    await screenshot(page.locator('section', { has: page.getByRole('heading', { name: 'Usage' }) }), 'portal-usage.png');
  });

  it('fits a 375 px phone screen', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.reload();
    await page.locator('.uplot canvas').waitFor();
    await sleep(300);
    await assertNoHorizontalScroll(page, 'portal on a phone');
    await checkAccessibility(page, 'portal on a phone');
    await screenshot(page, 'portal-phone.png');
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
