// The operator console: sign in with a root key (exchanged at once for a
// console session cookie and then forgotten), manage workspaces, their keys
// and usage, open a workspace's portal, read the audit log.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../shared/html.js';
import { createApi } from '../shared/api.js';
import { applyAccent } from '../shared/theme.js';
import { formatDateTime } from '../shared/format.js';
import { SkipLink, StatePage, TopBar } from '../shared/layout.js';
import { WorkspaceDetail, WorkspacesView } from './workspaces.js';
import { AuditView } from './audit.js';

const api = createApi('console');

export function ConsoleApp() {
  const [phase, setPhase] = useState('loading'); // loading signin ready failed
  const [session, setSession] = useState(null);
  const [signinNotice, setSigninNotice] = useState('');
  const [loadError, setLoadError] = useState('');
  const [view, setView] = useState({ name: 'workspaces' }); // workspaces | workspace(id) | audit(filter)

  const toSignIn = useCallback((notice = '') => {
    api.setCsrf(null);
    setSession(null);
    setView({ name: 'workspaces' });
    setSigninNotice(notice);
    setPhase('signin');
  }, []);

  const loadSession = useCallback(async () => {
    try {
      const s = await api.get('/v1/session', { quiet401: true });
      if (!s || s.kind !== 'console') throw new Error('This is not a console session.');
      api.setCsrf(s.csrf_token);
      const { csrf_token: _c, ...rest } = s;
      applyAccent(rest.branding?.accent_color);
      document.title = `Console · ${rest.branding?.product_name || 'keyward'}`;
      setSession(rest);
      setPhase('ready');
    } catch (err) {
      if (err.status === 401) toSignIn();
      else {
        setLoadError(err.message);
        setPhase('failed');
      }
    }
  }, []);

  useEffect(() => {
    api.onSessionEnd(() => toSignIn('Your console session has ended. Sign in again to go on.'));
    loadSession();
  }, []);

  const signOut = async () => {
    try {
      await api.del('/v1/session', undefined, { quiet401: true });
    } catch {
      // signed out either way
    }
    toSignIn('You are signed out.');
  };

  if (phase === 'loading') return html`<${StatePage} title="Loading the console…" busy />`;
  if (phase === 'failed')
    return html`
      <${StatePage} title="The console could not load">
        <div role="alert" class="alert">${loadError}</div>
        <button type="button" onClick=${() => location.reload()}>Try again</button>
      </${StatePage}>
    `;
  if (phase === 'signin') return html`<${SignIn} notice=${signinNotice} onSignedIn=${loadSession} />`;

  const go = (v) => setView(v);
  return html`
    <${SkipLink} />
    <${TopBar} branding=${session.branding} sub="Console">
      <nav class="nav" aria-label="Console">
        <button type="button" aria-current=${view.name !== 'audit' ? 'page' : undefined} onClick=${() => go({ name: 'workspaces' })}>
          Workspaces
        </button>
        <button type="button" aria-current=${view.name === 'audit' ? 'page' : undefined} onClick=${() => go({ name: 'audit', filter: {} })}>
          Audit log
        </button>
      </nav>
      <span class="mono" title=${`Session ends ${formatDateTime(session.expires_at)}`}>${session.actor}</span>
      <button type="button" class="small" onClick=${signOut}>Sign out</button>
    </${TopBar}>
    <main id="main" class="page" tabindex="-1">
      ${view.name === 'workspaces' &&
      html`<${WorkspacesView} api=${api} onOpen=${(id) => go({ name: 'workspace', id })} />`}
      ${view.name === 'workspace' &&
      html`<${WorkspaceDetail}
        key=${view.id}
        api=${api}
        id=${view.id}
        onBack=${() => go({ name: 'workspaces' })}
        onAudit=${(workspace_id) => go({ name: 'audit', filter: { workspace_id } })}
      />`}
      ${view.name === 'audit' && html`<${AuditView} key=${JSON.stringify(view.filter)} api=${api} initial=${view.filter} />`}
    </main>
  `;
}

function SignIn({ notice, onSignedIn }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const input = useRef(null);

  useEffect(() => {
    input.current?.focus();
  }, []);

  const submit = async (e) => {
    e.preventDefault();
    const field = input.current;
    // Read the root key straight from the field and clear it at once; it is
    // never kept in state or storage, only sent in this one request.
    let rootKey = field.value.trim();
    field.value = '';
    if (!rootKey) {
      setError('Enter a root key.');
      field.focus();
      return;
    }
    setBusy(true);
    setError('');
    const headers = { Authorization: `Bearer ${rootKey}` };
    rootKey = null;
    try {
      await api.post('/v1/console-sessions', undefined, { headers, quiet401: true });
      delete headers.Authorization;
      onSignedIn();
    } catch (err) {
      delete headers.Authorization;
      setError(err.status === 401 ? `${err.message} Check the root key and try again.` : err.message);
      setBusy(false);
      field.focus();
    }
  };

  return html`
    <${TopBar} sub="Console" />
    <main id="main" class="page" tabindex="-1">
      <div class="card signin">
        <h1 data-focus-fallback tabindex="-1">Sign in to the console</h1>
        <div role="status">${notice && html`<p class="notice">${notice}</p>`}</div>
        <form onSubmit=${submit} noValidate>
          <div class="field">
            <label for="root-key">Root key</label>
            <input
              id="root-key"
              ref=${input}
              type="password"
              autocomplete="off"
              spellcheck="false"
              aria-describedby="root-key-hint"
              required
            />
            <p class="hint" id="root-key-hint">
              A root key (kw_root_…) from the operator's secrets manager. It is exchanged for a session and not kept by this page.
            </p>
          </div>
          <div role="alert" class="alert">${error}</div>
          <div class="form-actions">
            <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
          </div>
        </form>
      </div>
    </main>
  `;
}
