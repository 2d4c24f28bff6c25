// API keys: the list, the limit meter, the revoke confirmation and the
// one-time secret dialog, shared by the portal and the console.
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { Modal } from './dialog.js';
import { formatCount, formatDate, formatDateTime, isStale, relative, shortPrefix, STATUS_LABEL } from './format.js';

export function LimitMeter({ workspace }) {
  if (!workspace) return null;
  const { active_keys: used, max_active_keys: max } = workspace;
  const pct = max > 0 ? Math.min(100, Math.round((used / max) * 100)) : 100;
  const full = used >= max;
  return html`
    <div class="limit">
      <span class="bar" aria-hidden="true"><span class=${full ? 'full' : ''} style=${{ width: `${pct}%` }}></span></span>
      <span data-testid="key-limit">${used} of ${max} active keys</span>
    </div>
  `;
}

export function StatusBadge({ status }) {
  return html`<span class=${`badge ${status}`}>${STATUS_LABEL[status] ?? status}</span>`;
}

// keys: API key objects. actions(key) gives the row's buttons (or null).
export function KeyTable({ keys, caption, actions, showWorkspace = false }) {
  const now = Date.now();
  return html`
    <div class="table-wrap">
      <table class="cards keys-table">
        <caption class="visually-hidden">${caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name and key</th>
            <th scope="col">Environment</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col" class="num">Requests 24 h</th>
            <th scope="col" class="num">Requests 30 d</th>
            ${actions && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
          </tr>
        </thead>
        <tbody>
          ${keys.map((k) => {
            const stale = isStale(k, now);
            return html`
              <tr key=${k.id} data-key-id=${k.id} class=${k.status === 'active' ? '' : 'inactive'}>
                <td class="primary-cell">
                  <span class="key-name">${k.name}</span>
                  ${stale && html` <span class="badge stale">unused for 30+ days</span>`}
                  <span class="sub prefix" data-label="Key">${shortPrefix(k)}</span>
                  ${k.scopes?.length > 0 && html`<span class="sub">Scopes: ${k.scopes.join(', ')}</span>`}
                  ${showWorkspace && html`<span class="sub">${k.workspace_id}</span>`}
                </td>
                <td data-label="Environment"><span class="badge env">${k.environment}</span></td>
                <td data-label="Status">
                  <span>
                    <${StatusBadge} status=${k.status} />
                    ${k.rotation_due && html` <span class="badge rotation-due" title="Older than this workspace's rotation policy: rotate it. It keeps working until then.">rotation due</span>`}
                    ${k.status === 'active' && k.expires_at && html`<span class="sub">expires ${formatDate(k.expires_at)}</span>`}
                  </span>
                </td>
                <td data-label="Created"><time datetime=${k.created_at}>${formatDate(k.created_at)}</time></td>
                <td data-label="Last used">
                  ${k.last_used_at
                    ? html`<time datetime=${k.last_used_at} title=${formatDateTime(k.last_used_at)}>${relative(k.last_used_at, now)}</time>`
                    : 'never'}
                </td>
                <td data-label="Requests 24 h" class="num">${formatCount(k.requests_24h)}</td>
                <td data-label="Requests 30 d" class="num">${formatCount(k.requests_30d)}</td>
                ${actions && html`<td class="actions-cell"><div class="row-actions">${actions(k)}</div></td>`}
              </tr>
            `;
          })}
        </tbody>
      </table>
    </div>
  `;
}

// Confirms and performs DELETE /v1/api-keys/<id>.
export function RevokeDialog({ api, apiKey, onClose, onRevoked }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [reason, setReason] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const r = reason.trim();
      await api.del(`/v1/api-keys/${encodeURIComponent(apiKey.id)}`, r ? { reason: r } : undefined);
      onRevoked(apiKey);
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  };
  return html`
    <${Modal} title="Revoke this key?" onClose=${onClose} describedBy="revoke-desc">
      <form onSubmit=${submit}>
        <div id="revoke-desc">
          <p>
            You are about to revoke <strong>${apiKey.name}</strong> (<span class="prefix">${shortPrefix(apiKey)}</span>).
          </p>
          <p class="danger-note">This cannot be undone. Every request using this key will be refused at once.</p>
        </div>
        <div class="field">
          <label for="revoke-reason">Reason (optional)</label>
          <input id="revoke-reason" type="text" maxlength="500" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
          <p class="hint">Kept in the audit log.</p>
        </div>
        <div role="alert" class="alert">${error}</div>
        <div class="form-actions">
          <button type="button" onClick=${onClose} data-autofocus>Cancel</button>
          <button type="submit" class="danger" disabled=${busy}>${busy ? 'Revoking…' : 'Revoke key'}</button>
        </div>
      </form>
    </${Modal}>
  `;
}

// Shows a new secret once. box is {value: secret}, owned by the caller, who
// sets box.value to null when the dialog closes. The secret is written into
// the DOM here, outside Preact's virtual DOM, and wiped from it on close, so
// no vnode, prop or closure keeps it (a detached element can outlive the
// dialog, e.g. in the browser's paint-timing records).
export function SecretDialog({ box, title, keyLabel, note, onClose, returnFocus }) {
  const [copied, setCopied] = useState(false);
  const [copyError, setCopyError] = useState('');
  const code = useRef(null);
  useLayoutEffect(() => {
    const el = code.current;
    el.textContent = box.value ?? '';
    return () => {
      el.textContent = '';
    };
  }, []);
  const copy = async () => {
    setCopyError('');
    try {
      if (!box.value) throw new Error('gone');
      await navigator.clipboard.writeText(box.value);
      setCopied(true);
    } catch {
      setCopyError('Copying did not work here: select the key above and copy it yourself.');
    }
  };
  return html`
    <${Modal} title=${title} onClose=${onClose} returnFocus=${returnFocus} describedBy="secret-store" className="secret-dialog">
      <p>${keyLabel}</p>
      <p id="secret-store" class="store-now">Store it now: it will not be shown again.</p>
      <div class="secret-box">
        <code data-secret ref=${code}></code>
        <button type="button" class="primary" onClick=${copy} data-autofocus>${copied ? 'Copied' : 'Copy'}</button>
      </div>
      <p role="status" class="visually-hidden">${copied ? 'The key is copied to the clipboard.' : ''}</p>
      ${copyError && html`<div role="alert" class="alert">${copyError}</div>`}
      ${note && html`<p>${note}</p>`}
      <div class="form-actions">
        <button type="button" onClick=${onClose}>Done</button>
      </div>
    </${Modal}>
  `;
}
