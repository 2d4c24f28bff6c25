// Workspaces: the searchable list, creating one, and one workspace's page
// (key limit, keys, usage, its portal).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../shared/html.js';
import { listAll, query } from '../shared/api.js';
import { Modal } from '../shared/dialog.js';
import { formatDate } from '../shared/format.js';
import { KeyTable, LimitMeter, RevokeDialog } from '../shared/keys.js';
import { UsagePanel } from '../shared/usage.js';
import { safeUrl } from '../shared/layout.js';

export function WorkspacesView({ api, onOpen }) {
  const [q, setQ] = useState('');
  const [applied, setApplied] = useState('');
  const [list, setList] = useState({ status: 'loading', items: [], cursor: null, error: '' });
  const [creating, setCreating] = useState(false);

  const load = useCallback(
    async (search, cursor = null) => {
      setList((l) => ({ ...l, status: cursor ? 'more' : 'loading', error: '' }));
      try {
        const page = await api.get(`/v1/workspaces${query({ q: search, limit: 50, cursor })}`);
        setList((l) => ({
          status: 'ready',
          items: cursor ? [...l.items, ...page.data] : page.data,
          cursor: page.next_cursor ?? null,
          error: '',
        }));
      } catch (err) {
        if (err.status !== 401) setList((l) => ({ ...l, status: 'error', error: err.message }));
      }
    },
    [api],
  );

  useEffect(() => {
    load(applied);
  }, [applied]);

  // Search as one types, a moment after the last key.
  useEffect(() => {
    const t = setTimeout(() => setApplied(q.trim()), 300);
    return () => clearTimeout(t);
  }, [q]);

  return html`
    <div class="page-title"><h1 data-focus-fallback tabindex="-1">Workspaces</h1></div>
    <section class="card" aria-labelledby="ws-heading">
      <div class="card-head">
        <h2 id="ws-heading" class="visually-hidden">All workspaces</h2>
        <form
          class="inline-form"
          role="search"
          onSubmit=${(e) => {
            e.preventDefault();
            setApplied(q.trim());
            load(q.trim());
          }}
        >
          <div class="field">
            <label for="ws-search">Search by name or id</label>
            <input id="ws-search" type="search" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} autocomplete="off" />
          </div>
          <button type="submit">Search</button>
        </form>
        <button type="button" class="primary" onClick=${() => setCreating(true)}>New workspace</button>
      </div>
      ${list.status === 'loading' && html`<p class="state" role="status"><span class="spinner" aria-hidden="true"></span>Loading workspaces…</p>`}
      ${list.error && html`<div role="alert" class="alert">${list.error}</div>`}
      ${list.status !== 'loading' &&
      list.items.length === 0 &&
      !list.error &&
      html`<div class="state"><h3>${applied ? 'No workspace matches' : 'No workspaces yet'}</h3>
        <p>${applied ? 'Try another name or id.' : 'Create one for each of your customers.'}</p></div>`}
      ${list.items.length > 0 &&
      html`
        <div class="table-wrap">
          <table class="cards">
            <caption class="visually-hidden">Workspaces</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                <th scope="col">Active keys</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              ${list.items.map(
                (w) => html`
                  <tr key=${w.id} data-workspace-id=${w.id}>
                    <td class="primary-cell">
                      <button type="button" class="link" onClick=${() => onOpen(w.id)}>${w.name}</button>
                    </td>
                    <td data-label="Id"><code>${w.id}</code></td>
                    <td data-label="Active keys">${w.active_keys} of ${w.max_active_keys}</td>
                    <td data-label="Created">${formatDate(w.created_at)}</td>
                  </tr>
                `,
              )}
            </tbody>
          </table>
        </div>
      `}
      ${list.cursor &&
      html`<div class="more">
        <button type="button" disabled=${list.status === 'more'} onClick=${() => load(applied, list.cursor)}>
          ${list.status === 'more' ? 'Loading…' : 'More'}
        </button>
      </div>`}
    </section>
    ${creating &&
    html`<${CreateWorkspaceDialog}
      api=${api}
      onClose=${() => setCreating(false)}
      onCreated=${(w) => {
        setCreating(false);
        onOpen(w.id);
      }}
    />`}
  `;
}

function parseLimit(text) {
  const t = text.trim();
  if (t === '') return { value: undefined };
  if (!/^\d+$/.test(t)) return { error: 'The key limit must be a whole number.' };
  return { value: Number(t) };
}

function CreateWorkspaceDialog({ api, onClose, onCreated }) {
  const [name, setName] = useState('');
  const [limit, setLimit] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setError('');
    if (!name.trim()) {
      setError('Give the workspace a name.');
      return;
    }
    const l = parseLimit(limit);
    if (l.error) {
      setError(l.error);
      return;
    }
    const body = { name: name.trim() };
    if (l.value !== undefined) body.max_active_keys = l.value;
    setBusy(true);
    try {
      onCreated(await api.post('/v1/workspaces', body));
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  };
  return html`
    <${Modal} title="New workspace" onClose=${onClose}>
      <form onSubmit=${submit} noValidate>
        <div class="field">
          <label for="ws-name">Name</label>
          <input id="ws-name" type="text" maxlength="200" required value=${name} onInput=${(e) => setName(e.currentTarget.value)} data-autofocus />
          <p class="hint">Usually your customer's account or company name.</p>
        </div>
        <div class="field">
          <label for="ws-limit">Active key limit (optional)</label>
          <input id="ws-limit" type="number" min="0" inputmode="numeric" aria-describedby="ws-limit-hint" value=${limit} onInput=${(e) => setLimit(e.currentTarget.value)} />
          <p class="hint" id="ws-limit-hint">Empty: the deployment default.</p>
        </div>
        <div role="alert" class="alert">${error}</div>
        <div class="form-actions">
          <button type="button" onClick=${onClose}>Cancel</button>
          <button type="submit" class="primary" disabled=${busy}>${busy ? 'Creating…' : 'Create workspace'}</button>
        </div>
      </form>
    </${Modal}>
  `;
}

function LimitForm({ api, workspace, onSaved }) {
  const [useDefault, setUseDefault] = useState(workspace.max_active_keys_override === null);
  const [limit, setLimit] = useState(String(workspace.max_active_keys_override ?? workspace.max_active_keys));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [saved, setSaved] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setError('');
    setSaved('');
    let value = null;
    if (!useDefault) {
      const l = parseLimit(limit);
      if (l.error || l.value === undefined) {
        setError(l.error ?? 'Enter a key limit, or use the deployment default.');
        return;
      }
      value = l.value;
    }
    setBusy(true);
    try {
      const w = await api.patch(`/v1/workspaces/${encodeURIComponent(workspace.id)}`, { max_active_keys: value });
      setSaved(`Saved: this workspace may have ${w.max_active_keys} active keys${w.max_active_keys_override === null ? ' (the deployment default)' : ''}.`);
      onSaved(w);
    } catch (err) {
      setError(err.message);
    }
    setBusy(false);
  };
  return html`
    <form onSubmit=${submit} noValidate aria-labelledby="limit-heading">
      <h3 id="limit-heading">Key limit</h3>
      <div class="inline-form">
        <div class="field narrow">
          <label for="ws-max">Active keys allowed</label>
          <input
            id="ws-max"
            type="number"
            min="0"
            inputmode="numeric"
            value=${limit}
            disabled=${useDefault}
            onInput=${(e) => setLimit(e.currentTarget.value)}
          />
        </div>
        <label class="choice">
          <input type="checkbox" checked=${useDefault} onChange=${(e) => setUseDefault(e.currentTarget.checked)} />
          <span>Use the deployment default</span>
        </label>
        <button type="submit" disabled=${busy}>${busy ? 'Saving…' : 'Save limit'}</button>
      </div>
      <div role="status">${saved && html`<p class="notice">${saved}</p>`}</div>
      <div role="alert" class="alert">${error}</div>
    </form>
  `;
}

export function WorkspaceDetail({ api, id, onBack, onAudit }) {
  const [ws, setWs] = useState({ status: 'loading', data: null, error: '' });
  const [keys, setKeys] = useState({ status: 'loading', items: [], error: '' });
  const [revoking, setRevoking] = useState(null);
  const [portalError, setPortalError] = useState('');
  const [portalBusy, setPortalBusy] = useState(false);
  const [notice, setNotice] = useState('');
  const [usageVersion, setUsageVersion] = useState(0);
  const heading = useRef(null);
  const returnTo = useRef(null);

  const loadWs = useCallback(async () => {
    try {
      const data = await api.get(`/v1/workspaces/${encodeURIComponent(id)}`);
      setWs({ status: 'ready', data, error: '' });
    } catch (err) {
      if (err.status !== 401) setWs({ status: 'error', data: null, error: err.message });
    }
  }, [id]);
  const loadKeys = useCallback(async () => {
    try {
      const items = await listAll(api, `/v1/api-keys${query({ workspace_id: id, limit: 100 })}`, 10);
      setKeys({ status: 'ready', items, error: '' });
    } catch (err) {
      if (err.status !== 401) setKeys({ status: 'error', items: [], error: err.message });
    }
  }, [id]);

  useEffect(() => {
    loadWs();
    loadKeys();
  }, [id]);
  useEffect(() => {
    if (ws.status === 'ready') heading.current?.focus();
  }, [ws.status]);

  const openPortal = async () => {
    setPortalError('');
    setPortalBusy(true);
    try {
      const r = await api.post('/v1/portal-sessions', { workspace_id: id });
      const url = safeUrl(r.url);
      if (!url) throw new Error('The portal link is not a web address.');
      location.assign(url);
    } catch (err) {
      setPortalError(err.message);
      setPortalBusy(false);
    }
  };

  const back = html`<p><button type="button" class="link" onClick=${onBack}>← All workspaces</button></p>`;
  if (ws.status === 'loading') return html`${back}<p class="state" role="status"><span class="spinner" aria-hidden="true"></span>Loading workspace…</p>`;
  if (ws.status === 'error')
    return html`${back}<h1 data-focus-fallback tabindex="-1">Workspace</h1><div role="alert" class="alert">${ws.error}</div>`;
  const w = ws.data;

  return html`
    ${back}
    <div class="page-title">
      <h1 ref=${heading} data-focus-fallback tabindex="-1">${w.name}</h1>
      <code class="context">${w.id}</code>
    </div>
    <div role="status">${notice && html`<p class="notice">${notice}</p>`}</div>
    <div class="grid-2">
      <section class="card" aria-labelledby="overview-heading">
        <h2 id="overview-heading">Overview</h2>
        <dl class="kv">
          <dt>Keys</dt>
          <dd><${LimitMeter} workspace=${w} /></dd>
          <dt>Limit</dt>
          <dd>${w.max_active_keys_override === null ? `${w.max_active_keys} (deployment default)` : `${w.max_active_keys} (set for this workspace)`}</dd>
          <dt>Created</dt>
          <dd>${formatDate(w.created_at)}</dd>
        </dl>
        <${LimitForm} key=${w.id} api=${api} workspace=${w} onSaved=${(nw) => setWs({ status: 'ready', data: nw, error: '' })} />
      </section>
      <section class="card" aria-labelledby="portal-heading">
        <h2 id="portal-heading">Customer portal</h2>
        <p>Open this workspace's API-keys page as its customer sees it. The link works once and signs you in for a short session.</p>
        <div role="alert" class="alert">${portalError}</div>
        <div class="form-actions">
          <button type="button" onClick=${() => onAudit(w.id)}>Audit log</button>
          <button type="button" class="primary" onClick=${openPortal} disabled=${portalBusy}>${portalBusy ? 'Opening…' : 'Open portal'}</button>
        </div>
      </section>
    </div>
    <section class="card" aria-labelledby="wkeys-heading">
      <div class="card-head"><h2 id="wkeys-heading">API keys</h2></div>
      ${keys.status === 'loading' && html`<p class="state" role="status"><span class="spinner" aria-hidden="true"></span>Loading keys…</p>`}
      ${keys.status === 'error' && html`<div role="alert" class="alert">${keys.error}</div>`}
      ${keys.status === 'ready' && keys.items.length === 0 && html`<div class="state"><h3>No API keys yet</h3></div>`}
      ${keys.items.length > 0 &&
      html`<${KeyTable}
        keys=${keys.items}
        caption=${`API keys of ${w.name}`}
        actions=${(k) =>
          k.status !== 'revoked' &&
          html`<button
            type="button"
            class="small ghost-danger"
            aria-label=${`Revoke ${k.name}`}
            onClick=${(e) => {
              returnTo.current = e.currentTarget;
              setNotice('');
              setRevoking(k);
            }}
          >
            Revoke
          </button>`}
      />`}
    </section>
    <section class="card" aria-labelledby="wusage-heading">
      <div class="card-head"><h2 id="wusage-heading">Usage</h2></div>
      <${UsagePanel} api=${api} workspaceId=${w.id} keys=${keys.items} version=${usageVersion} idPrefix="wusage" />
    </section>
    ${revoking &&
    html`<${RevokeDialog}
      api=${api}
      apiKey=${revoking}
      returnFocus=${returnTo.current}
      onClose=${() => setRevoking(null)}
      onRevoked=${(k) => {
        setRevoking(null);
        setNotice(`${k.name} is revoked.`);
        loadKeys();
        loadWs();
        setUsageVersion((v) => v + 1);
      }}
    />`}
  `;
}
