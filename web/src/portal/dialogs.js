// The portal's create and rotate dialogs. Each hands the new secret to its
// owner through onDone and keeps no copy of the answer.
import { useState } from 'preact/hooks';
import { html } from '../shared/html.js';
import { Modal } from '../shared/dialog.js';
import { daysFromNow, formatDateTime, rfc3339, shortPrefix } from '../shared/format.js';

const EXPIRY = [
  { value: 'never', label: 'Never' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In 1 year' },
  { value: 'date', label: 'On a date' },
];

function tomorrow() {
  const d = new Date(Date.now() + 86_400_000);
  return d.toISOString().slice(0, 10);
}

export function CreateKeyDialog({ api, session, onClose, onDone, returnFocus }) {
  const fixedEnv = session.environment;
  const envs = fixedEnv ? [fixedEnv] : session.environments ?? [];
  const anyScope = (session.scopes ?? []).includes('*');
  const namedScopes = (session.scopes ?? []).filter((s) => s !== '*');

  const [name, setName] = useState('');
  const [env, setEnv] = useState(envs[0] ?? '');
  const [scopes, setScopes] = useState([]);
  const [scopeText, setScopeText] = useState('');
  const [expiry, setExpiry] = useState('never');
  const [date, setDate] = useState('');
  const [ips, setIps] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [nameInvalid, setNameInvalid] = useState(false);

  const toggleScope = (s, on) => setScopes((cur) => (on ? [...cur, s] : cur.filter((x) => x !== s)));

  const submit = async (e) => {
    e.preventDefault();
    setError('');
    const trimmed = name.trim();
    if (!trimmed) {
      setNameInvalid(true);
      setError('Give the key a name, such as the app or server that will use it.');
      e.currentTarget.querySelector('#key-name')?.focus();
      return;
    }
    let expires_at = null;
    if (expiry === 'date') {
      if (!date) {
        setError('Pick the day the key should expire.');
        return;
      }
      const t = new Date(`${date}T23:59:59Z`);
      if (Number.isNaN(t.getTime()) || t.getTime() <= Date.now()) {
        setError('The expiry date must be in the future.');
        return;
      }
      expires_at = rfc3339(t);
    } else if (expiry !== 'never') {
      expires_at = daysFromNow(Number(expiry));
    }
    const body = {
      workspace_id: session.workspace.id,
      environment: env,
      name: trimmed,
      scopes: anyScope ? scopeText.split(/[\s,]+/).filter(Boolean) : scopes,
      expires_at,
    };
    const allow = ips.split(/[\s,]+/).filter(Boolean);
    if (allow.length) body.ip_allowlist = allow;
    setBusy(true);
    try {
      const created = await api.post('/v1/api-keys', body);
      const secret = created.key;
      const label = `${created.name} (${shortPrefix(created)}, ${created.environment})`;
      onDone({ secret, label });
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  };

  return html`
    <${Modal} title="Create an API key" onClose=${onClose} returnFocus=${returnFocus}>
      <form onSubmit=${submit} noValidate>
        <div class="field">
          <label for="key-name">Name</label>
          <input
            id="key-name"
            type="text"
            required
            maxlength="200"
            autocomplete="off"
            aria-invalid=${nameInvalid ? 'true' : undefined}
            aria-describedby="key-name-hint"
            value=${name}
            onInput=${(e) => {
              setName(e.currentTarget.value);
              setNameInvalid(false);
            }}
            data-autofocus
          />
          <p class="hint" id="key-name-hint">Where the key will be used, for example “production server”.</p>
        </div>

        ${fixedEnv
          ? html`<p><span class="label">Environment</span><span class="badge env">${fixedEnv}</span></p>`
          : html`
              <div class="field">
                <label for="key-env">Environment</label>
                <select id="key-env" value=${env} onChange=${(e) => setEnv(e.currentTarget.value)}>
                  ${envs.map((x) => html`<option key=${x} value=${x}>${x}</option>`)}
                </select>
              </div>
            `}

        ${anyScope
          ? html`
              <div class="field">
                <label for="key-scopes">Scopes (optional)</label>
                <input
                  id="key-scopes"
                  type="text"
                  autocomplete="off"
                  aria-describedby="key-scopes-hint"
                  value=${scopeText}
                  onInput=${(e) => setScopeText(e.currentTarget.value)}
                />
                <p class="hint" id="key-scopes-hint">
                  Separated by spaces${namedScopes.length ? `, for example ${namedScopes.slice(0, 3).join(' ')}` : ', for example orders:read'}.
                </p>
              </div>
            `
          : namedScopes.length > 0 &&
            html`
              <fieldset>
                <legend>Scopes</legend>
                <div class="choices-grid">
                  ${namedScopes.map(
                    (s) => html`
                      <label class="choice" key=${s}>
                        <input type="checkbox" checked=${scopes.includes(s)} onChange=${(e) => toggleScope(s, e.currentTarget.checked)} />
                        <span class="mono">${s}</span>
                      </label>
                    `,
                  )}
                </div>
              </fieldset>
            `}

        <fieldset>
          <legend>Expires</legend>
          <div class="choices-grid">
            ${EXPIRY.map(
              (o) => html`
                <label class="choice" key=${o.value}>
                  <input type="radio" name="expiry" value=${o.value} checked=${expiry === o.value} onChange=${() => setExpiry(o.value)} />
                  <span>${o.label}</span>
                </label>
              `,
            )}
          </div>
          ${expiry === 'date' &&
          html`
            <div class="field">
              <label for="key-expiry-date">Expiry date</label>
              <input id="key-expiry-date" type="date" min=${tomorrow()} value=${date} onInput=${(e) => setDate(e.currentTarget.value)} />
              <p class="hint">The key stops working at the end of that day (UTC).</p>
            </div>
          `}
        </fieldset>

        <div class="field">
          <label for="key-ips">IP allow-list (optional)</label>
          <textarea id="key-ips" rows="3" aria-describedby="key-ips-hint" value=${ips} onInput=${(e) => setIps(e.currentTarget.value)}></textarea>
          <p class="hint" id="key-ips-hint">One address or CIDR block per line (or comma separated), e.g. 203.0.113.0/24. Empty: any address.</p>
        </div>

        <div role="alert" class="alert">${error}</div>
        <div class="form-actions">
          <button type="button" onClick=${onClose}>Cancel</button>
          <button type="submit" class="primary" disabled=${busy}>${busy ? 'Creating…' : 'Create key'}</button>
        </div>
      </form>
    </${Modal}>
  `;
}

const GRACE = [
  { value: 0, label: 'Now', desc: 'The old key stops working at once.' },
  { value: 3600, label: '1 hour', desc: 'The old key keeps working for 1 more hour.' },
  { value: 86400, label: '24 hours', desc: 'The old key keeps working for 24 more hours.' },
  { value: 604800, label: '7 days', desc: 'The old key keeps working for 7 more days.' },
];

export function RotateKeyDialog({ api, apiKey, onClose, onDone, returnFocus }) {
  const [grace, setGrace] = useState(3600);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const rotated = await api.post(`/v1/api-keys/${encodeURIComponent(apiKey.id)}/rotate`, { grace_seconds: grace });
      const secret = rotated.key;
      const label = `${rotated.name} (${shortPrefix(rotated)}, ${rotated.environment}) replaces ${shortPrefix(apiKey)}.`;
      const until = rotated.old_key?.expires_at;
      const note =
        grace === 0 || !until
          ? 'The old key no longer works.'
          : `The old key keeps working until ${formatDateTime(until)}: switch your apps to the new key before then.`;
      onDone({ secret, label, note });
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  };
  return html`
    <${Modal} title="Rotate this key" onClose=${onClose} returnFocus=${returnFocus} describedBy="rotate-desc">
      <form onSubmit=${submit}>
        <p id="rotate-desc">
          Rotating <strong>${apiKey.name}</strong> (<span class="prefix">${shortPrefix(apiKey)}</span>) creates a new key with the
          same settings. During the grace period both keys work, so you can deploy the new one first.
        </p>
        <fieldset>
          <legend>Old key stops working</legend>
          ${GRACE.map(
            (g) => html`
              <label class="choice" key=${g.value}>
                <input type="radio" name="grace" value=${g.value} checked=${grace === g.value} onChange=${() => setGrace(g.value)} />
                <span>${g.label}<span class="desc">${g.desc}</span></span>
              </label>
            `,
          )}
        </fieldset>
        <div role="alert" class="alert">${error}</div>
        <div class="form-actions">
          <button type="button" onClick=${onClose}>Cancel</button>
          <button type="submit" class="primary" disabled=${busy}>${busy ? 'Rotating…' : 'Rotate key'}</button>
        </div>
      </form>
    </${Modal}>
  `;
}
