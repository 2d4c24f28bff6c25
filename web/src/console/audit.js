// The audit log, filtered by workspace, actor and action, newest first.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { html } from '../shared/html.js';
import { query } from '../shared/api.js';
import { formatDateTime } from '../shared/format.js';

const ACTIONS = [
  'workspace.create',
  'workspace.update',
  'key.create',
  'key.update',
  'key.revoke',
  'key.rotate',
  'key.import',
  'key.export',
  'root_key.create',
  'root_key.revoke',
  'portal_session.create',
  'console_session.create',
];

export function AuditView({ api, initial = {} }) {
  const [form, setForm] = useState({ workspace_id: initial.workspace_id ?? '', actor: initial.actor ?? '', action: initial.action ?? '' });
  const [filter, setFilter] = useState(form);
  const [list, setList] = useState({ status: 'loading', items: [], cursor: null, error: '' });

  const load = useCallback(async (f, cursor = null) => {
    setList((l) => ({ ...l, status: cursor ? 'more' : 'loading', error: '' }));
    try {
      const page = await api.get(
        `/v1/audit-log${query({ workspace_id: f.workspace_id.trim(), actor: f.actor.trim(), action: f.action.trim(), limit: 50, cursor })}`,
      );
      setList((l) => ({
        status: 'ready',
        items: cursor ? [...l.items, ...page.data] : page.data,
        cursor: page.next_cursor ?? null,
        error: '',
      }));
    } catch (err) {
      if (err.status !== 401) setList((l) => ({ ...l, status: 'error', error: err.message }));
    }
  }, []);

  useEffect(() => {
    load(filter);
  }, [filter]);

  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });

  return html`
    <div class="page-title"><h1 data-focus-fallback tabindex="-1">Audit log</h1></div>
    <section class="card" aria-labelledby="audit-filter-heading">
      <h2 id="audit-filter-heading" class="visually-hidden">Filter</h2>
      <form
        class="inline-form"
        onSubmit=${(e) => {
          e.preventDefault();
          setFilter({ ...form });
        }}
      >
        <div class="field">
          <label for="audit-ws">Workspace id</label>
          <input id="audit-ws" type="text" autocomplete="off" placeholder="ws_…" value=${form.workspace_id} onInput=${set('workspace_id')} />
        </div>
        <div class="field">
          <label for="audit-actor">Actor</label>
          <input id="audit-actor" type="text" autocomplete="off" placeholder="rk_… or portal:ps_…" value=${form.actor} onInput=${set('actor')} />
        </div>
        <div class="field">
          <label for="audit-action">Action</label>
          <input id="audit-action" type="text" autocomplete="off" list="audit-actions" placeholder="key.revoke" value=${form.action} onInput=${set('action')} />
          <datalist id="audit-actions">${ACTIONS.map((a) => html`<option key=${a} value=${a}></option>`)}</datalist>
        </div>
        <button type="submit" class="primary">Filter</button>
        <button
          type="button"
          onClick=${() => {
            const empty = { workspace_id: '', actor: '', action: '' };
            setForm(empty);
            setFilter(empty);
          }}
        >
          Clear
        </button>
      </form>
    </section>
    <section class="card" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Events</h2>
      ${list.status === 'loading' && html`<p class="state" role="status"><span class="spinner" aria-hidden="true"></span>Loading the audit log…</p>`}
      ${list.error && html`<div role="alert" class="alert">${list.error}</div>`}
      ${list.status !== 'loading' && !list.error && list.items.length === 0 && html`<div class="state"><h3>No events match</h3></div>`}
      ${list.items.length > 0 &&
      html`
        <div class="table-wrap">
          <table class="cards audit-table">
            <caption class="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Actor</th>
                <th scope="col">Target</th>
                <th scope="col">Workspace</th>
                <th scope="col">IP</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              ${list.items.map(
                (ev) => html`
                  <tr key=${ev.id}>
                    <td class="primary-cell"><time datetime=${ev.at}>${formatDateTime(ev.at)}</time></td>
                    <td data-label="Action"><code>${ev.action}</code></td>
                    <td data-label="Actor"><code>${ev.actor}</code></td>
                    <td data-label="Target"><code>${ev.target ?? ''}</code></td>
                    <td data-label="Workspace"><code>${ev.workspace_id ?? ''}</code></td>
                    <td data-label="IP">${ev.ip ?? ''}</td>
                    <td data-label="Details">
                      ${ev.details && Object.keys(ev.details).length > 0 ? html`<span class="details-json">${JSON.stringify(ev.details)}</span>` : ''}
                    </td>
                  </tr>
                `,
              )}
            </tbody>
          </table>
        </div>
      `}
      ${list.cursor &&
      html`<div class="more">
        <button type="button" disabled=${list.status === 'more'} onClick=${() => load(filter, list.cursor)}>
          ${list.status === 'more' ? 'Loading…' : 'More'}
        </button>
      </div>`}
    </section>
  `;
}
