// The customer portal: one workspace's API keys for a person the operator
// sent here with a one-time link. The session (cookie) says what it may do.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../shared/html.js';
import { createApi, listAll, query } from '../shared/api.js';
import { applyAccent } from '../shared/theme.js';
import { formatDateTime } from '../shared/format.js';
import { KeyTable, LimitMeter, RevokeDialog, SecretDialog } from '../shared/keys.js';
import { UsagePanel } from '../shared/usage.js';
import { SkipLink, StatePage, TopBar, safeUrl } from '../shared/layout.js';
import { CreateKeyDialog, RotateKeyDialog } from './dialogs.js';

const api = createApi('portal');

function withReason(url) {
  return `${url}${url.includes('?') ? '&' : '?'}reason=session_expired`;
}

export function PortalApp() {
  const [phase, setPhase] = useState('loading'); // loading ready expired nosession failed leaving
  const [loadError, setLoadError] = useState('');
  const [session, setSession] = useState(null);
  const [workspace, setWorkspace] = useState(null);
  const [keys, setKeys] = useState({ status: 'loading', items: [], error: '' });
  const [dialog, setDialog] = useState(null); // {type: 'create' | 'rotate' | 'revoke', key}
  const [secret, setSecret] = useState(null); // {box: {value}, title, label, note} while the secret dialog is open
  const secretBox = useRef(null); // the one holder of a shown secret
  const [notice, setNotice] = useState('');
  const [usageVersion, setUsageVersion] = useState(0);
  const sessionRef = useRef(null);
  const createButton = useRef(null);
  const returnTo = useRef(null);

  const dropSecret = () => {
    if (secretBox.current) secretBox.current.value = null;
    secretBox.current = null;
    setSecret(null);
  };

  const endSession = useCallback((err) => {
    dropSecret();
    setDialog(null);
    const url = safeUrl(err?.body?.return_url ?? sessionRef.current?.return_url);
    if (url) {
      setPhase('leaving');
      location.assign(withReason(url));
      return;
    }
    setPhase('expired');
  }, []);

  useEffect(() => {
    api.onSessionEnd(endSession);
    api
      .get('/v1/session', { quiet401: true })
      .then((s) => {
        if (!s || s.kind !== 'portal' || !s.workspace) throw new Error('This is not a portal session.');
        api.setCsrf(s.csrf_token);
        const { csrf_token: _csrf, ...rest } = s;
        sessionRef.current = rest;
        applyAccent(rest.branding?.accent_color);
        document.title = `API keys · ${rest.branding?.product_name || rest.workspace.name}`;
        setSession(rest);
        setWorkspace(rest.workspace);
        setPhase('ready');
      })
      .catch((err) => {
        if (err.status === 401 && err.code === 'session_expired') endSession(err);
        else if (err.status === 401) setPhase('nosession');
        else {
          setLoadError(err.message);
          setPhase('failed');
        }
      });
  }, []);

  const can = (p) => Boolean(session?.permissions?.includes(p));

  const loadKeys = useCallback(async () => {
    const s = sessionRef.current;
    if (!s || !s.permissions?.includes('keys:read')) return;
    setKeys((k) => ({ ...k, status: k.items.length ? 'refreshing' : 'loading', error: '' }));
    try {
      const items = await listAll(
        api,
        `/v1/api-keys${query({ workspace_id: s.workspace.id, limit: 100, environment: s.environment })}`,
      );
      setKeys({ status: 'ready', items, error: '' });
    } catch (err) {
      if (err.status !== 401) setKeys((k) => ({ ...k, status: 'error', error: err.message }));
    }
  }, []);

  const loadWorkspace = useCallback(async () => {
    const s = sessionRef.current;
    try {
      setWorkspace(await api.get(`/v1/workspaces/${encodeURIComponent(s.workspace.id)}`));
    } catch (err) {
      if (err.status !== 401) setNotice('');
    }
  }, []);

  const refreshAll = useCallback(() => {
    loadKeys();
    loadWorkspace();
    setUsageVersion((v) => v + 1);
  }, []);

  useEffect(() => {
    if (phase === 'ready') loadKeys();
  }, [phase]);

  if (phase === 'loading') return html`<${StatePage} title="Loading your API keys…" busy />`;
  if (phase === 'leaving') return html`<${StatePage} title="Your session has ended" busy><p>Taking you back…</p></${StatePage}>`;
  if (phase === 'nosession')
    return html`
      <${StatePage} title="This link has no session">
        <p>This page opens from a link in your account. Ask for a new link: go back to your account and choose “API keys” again.</p>
      </${StatePage}>
    `;
  if (phase === 'expired')
    return html`
      <${StatePage} title="Your session has expired" branding=${session?.branding}>
        <p>For your security, sessions end after a while. Open the API keys page again from your account to get a new link.</p>
      </${StatePage}>
    `;
  if (phase === 'failed')
    return html`
      <${StatePage} title="The page could not load">
        <div role="alert" class="alert">${loadError}</div>
        <button type="button" onClick=${() => location.reload()}>Try again</button>
      </${StatePage}>
    `;

  const branding = session.branding ?? {};
  const support = safeUrl(branding.support_url, ['https:', 'http:', 'mailto:']);
  const back = safeUrl(session.return_url);
  const atLimit = workspace && workspace.active_keys >= workspace.max_active_keys;

  const openDialog = (type, key, opener) => {
    returnTo.current = opener ?? document.activeElement;
    setNotice('');
    setDialog({ type, key });
  };
  const showSecret = (title) => (result) => {
    const box = { value: result.secret };
    result.secret = null;
    secretBox.current = box;
    setDialog(null);
    setSecret({ box, title, label: result.label, note: result.note ?? null });
    refreshAll();
  };

  const rowActions =
    can('keys:rotate') || can('keys:revoke')
      ? (k) => html`
          ${can('keys:rotate') &&
          k.status === 'active' &&
          html`<button type="button" class="small" aria-label=${`Rotate ${k.name}`} onClick=${(e) => openDialog('rotate', k, e.currentTarget)}>Rotate</button>`}
          ${can('keys:revoke') &&
          k.status !== 'revoked' &&
          html`<button type="button" class="small ghost-danger" aria-label=${`Revoke ${k.name}`} onClick=${(e) => openDialog('revoke', k, e.currentTarget)}>Revoke</button>`}
        `
      : null;

  return html`
    <${SkipLink} />
    <${TopBar} branding=${branding} sub="API keys">
      ${session.member &&
      html`<span class="who"><span>${session.member.name || session.member.id}</span>${session.member.email && html`<span class="email">${session.member.email}</span>`}</span>`}
      ${support && html`<a href=${support} rel="noopener noreferrer">Help</a>`}
      ${back && html`<a href=${back}>Back to ${branding.product_name || 'your account'}</a>`}
    </${TopBar}>
    <main id="main" class="page" tabindex="-1">
      <div class="page-title">
        <h1 data-focus-fallback tabindex="-1">API keys</h1>
        <span class="context">for <strong>${workspace?.name}</strong></span>
      </div>
      <div role="status">${notice && html`<p class="notice">${notice}</p>`}</div>

      ${can('keys:read') || can('keys:create')
        ? html`
            <section class="card" aria-labelledby="keys-heading">
              <div class="card-head">
                <h2 id="keys-heading">Your keys</h2>
                <div class="actions">
                  <${LimitMeter} workspace=${workspace} />
                  ${can('keys:create') &&
                  html`<button
                    type="button"
                    class="primary"
                    ref=${createButton}
                    disabled=${atLimit}
                    aria-describedby=${atLimit ? 'limit-advice' : undefined}
                    onClick=${(e) => openDialog('create', null, e.currentTarget)}
                  >
                    Create key
                  </button>`}
                </div>
              </div>
              ${can('keys:create') &&
              atLimit &&
              html`<p class="advice" id="limit-advice">
                You have reached the limit of ${workspace.max_active_keys} active keys. Revoke a key you no longer use to create a new one.
              </p>`}
              ${can('keys:read') && html`<${KeysBody} keys=${keys} actions=${rowActions} onRetry=${loadKeys} canCreate=${can('keys:create')} />`}
            </section>
          `
        : null}

      ${can('usage:read') &&
      html`
        <section class="card" aria-labelledby="usage-heading">
          <div class="card-head"><h2 id="usage-heading">Usage</h2></div>
          <${UsagePanel} api=${api} workspaceId=${session.workspace.id} keys=${keys.items} version=${usageVersion} />
        </section>
      `}
    </main>
    <footer class="footer">
      <p>This session ends ${formatDateTime(session.expires_at)}. Keys are shown once, when they are created: keep them in a safe place.</p>
    </footer>

    ${dialog?.type === 'create' &&
    html`<${CreateKeyDialog}
      api=${api}
      session=${session}
      returnFocus=${() => returnTo.current}
      onClose=${() => setDialog(null)}
      onDone=${showSecret('Your new API key')}
    />`}
    ${dialog?.type === 'rotate' &&
    html`<${RotateKeyDialog}
      api=${api}
      apiKey=${dialog.key}
      returnFocus=${returnTo.current}
      onClose=${() => setDialog(null)}
      onDone=${showSecret('Your rotated API key')}
    />`}
    ${dialog?.type === 'revoke' &&
    html`<${RevokeDialog}
      api=${api}
      apiKey=${dialog.key}
      returnFocus=${returnTo.current}
      onClose=${() => setDialog(null)}
      onRevoked=${(k) => {
        setDialog(null);
        setNotice(`${k.name} is revoked.`);
        refreshAll();
      }}
    />`}
    ${secret &&
    html`<${SecretDialog}
      box=${secret.box}
      title=${secret.title}
      keyLabel=${secret.label}
      note=${secret.note}
      returnFocus=${() => returnTo.current}
      onClose=${dropSecret}
    />`}
  `;
}

function KeysBody({ keys, actions, onRetry, canCreate }) {
  if (keys.status === 'loading')
    return html`<p class="state" role="status"><span class="spinner" aria-hidden="true"></span>Loading keys…</p>`;
  if (keys.status === 'error')
    return html`
      <div role="alert" class="alert">${keys.error}</div>
      <button type="button" onClick=${onRetry}>Try again</button>
    `;
  if (keys.items.length === 0)
    return html`
      <div class="state">
        <h3>No API keys yet</h3>
        <p>${canCreate ? 'Create a key to start calling the API.' : 'Keys created for this account appear here.'}</p>
      </div>
    `;
  return html`<${KeyTable} keys=${keys.items} caption="API keys" actions=${actions} />`;
}
