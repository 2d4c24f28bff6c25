// Usage: valid and refused verifications per day over the last 30 days, for a
// workspace or one of its keys. A uPlot chart for the eye and a table with
// the same numbers for everyone.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { html } from './html.js';
import { query } from './api.js';
import { formatCount, shortPrefix } from './format.js';

const DAY_MS = 86_400_000;
const VALID = '#15803d';
const REFUSED = '#b91c1c';

// One row per day from `from` to `to`, days without an entry at zero.
export function fillDays(report) {
  const byStart = new Map();
  for (const p of report?.data ?? []) byStart.set(Date.parse(p.start), p);
  const from = Date.parse(report?.from);
  const to = Date.parse(report?.to);
  const rows = [];
  if (Number.isNaN(from) || Number.isNaN(to)) return rows;
  const start = Math.floor(from / DAY_MS) * DAY_MS;
  for (let t = start; t < to && rows.length < 400; t += DAY_MS) {
    const p = byStart.get(t);
    rows.push({ t, valid: p?.valid ?? 0, refused: p?.refused ?? 0, total: p?.total ?? 0 });
  }
  return rows.slice(-30);
}

function dayLabel(t) {
  return new Date(t).toLocaleDateString(undefined, { timeZone: 'UTC', month: 'short', day: 'numeric', weekday: 'short' });
}

function Chart({ rows, label, describedBy }) {
  const box = useRef(null);
  const plot = useRef(null);

  useEffect(() => {
    const el = box.current;
    const width = Math.max(280, el.clientWidth || 600);
    const bars = uPlot.paths.bars;
    const opts = {
      width,
      height: 240,
      legend: { show: false },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } },
      axes: [
        { stroke: '#374151', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#d1d5db' }, font: '12px system-ui, sans-serif' },
        {
          stroke: '#374151',
          grid: { stroke: '#e5e7eb' },
          ticks: { stroke: '#d1d5db' },
          font: '12px system-ui, sans-serif',
          size: 56,
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6, 1e7, 1e8, 1e9],
          values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? v.toLocaleString() : '')),
        },
      ],
      series: [
        {},
        {
          label: 'Valid',
          stroke: VALID,
          fill: 'rgba(21,128,61,0.75)',
          width: 1,
          paths: bars ? bars({ size: [0.4, 24], align: -1 }) : undefined,
          points: { show: false },
        },
        {
          label: 'Refused',
          stroke: REFUSED,
          fill: 'rgba(185,28,28,0.75)',
          width: 1,
          paths: bars ? bars({ size: [0.4, 24], align: 1 }) : undefined,
          points: { show: false },
        },
      ],
    };
    const data = [rows.map((r) => r.t / 1000 + 43200), rows.map((r) => r.valid), rows.map((r) => r.refused)];
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => {
      const w = Math.max(280, el.clientWidth);
      if (plot.current && Math.abs(plot.current.width - w) > 1) plot.current.setSize({ width: w, height: 240 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [rows]);

  return html`<div class="chart-area" ref=${box} role="img" aria-label=${label} aria-describedby=${describedBy}></div>`;
}

// keys: the keys to offer in the select (may be empty). version: bump to
// reload.
export function UsagePanel({ api, workspaceId, keys = [], version = 0, idPrefix = 'usage' }) {
  const [keyId, setKeyId] = useState('');
  const [state, setState] = useState({ status: 'loading', rows: [], error: '' });

  const selected = keys.find((k) => k.id === keyId);
  const label = selected ? `key ${selected.name} (${shortPrefix(selected)})` : 'all keys';

  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, status: 'loading', error: '' }));
    api
      .get(`/v1/usage${query({ workspace_id: workspaceId, granularity: 'day', key_id: keyId })}`)
      .then((report) => live && setState({ status: 'ready', rows: fillDays(report), error: '', what: label, keyId }))
      .catch((err) => live && setState({ status: 'error', rows: [], error: err.message }));
    return () => {
      live = false;
    };
  }, [workspaceId, keyId, version]);

  // What the numbers shown are about: the selection they were loaded for.
  const what = state.what ?? label;
  const rows = state.rows;
  const valid = rows.reduce((a, r) => a + r.valid, 0);
  const refused = rows.reduce((a, r) => a + r.refused, 0);
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const captionId = `${idPrefix}-caption`;

  return html`
    <div class="usage" aria-busy=${state.status === 'loading' ? 'true' : undefined}>
      <div class="usage-controls">
        <div class="field">
          <label for=${`${idPrefix}-key`}>Show usage for</label>
          <select id=${`${idPrefix}-key`} value=${keyId} onChange=${(e) => setKeyId(e.currentTarget.value)}>
            <option value="">All keys</option>
            ${keys.map((k) => html`<option key=${k.id} value=${k.id}>${k.name} (${shortPrefix(k)}${k.status === 'active' ? '' : `, ${k.status}`})</option>`)}
          </select>
        </div>
        ${state.status === 'loading' && html`<p class="hint" role="status"><span class="spinner" aria-hidden="true"></span>Loading usage…</p>`}
      </div>
      ${state.status === 'error' && html`<div role="alert" class="alert">${state.error}</div>`}
      ${rows.length > 0 &&
      html`
        <p class="usage-summary" data-testid="usage-summary">
          <span><strong>${formatCount(valid)}</strong> valid</span>
          <span><strong>${formatCount(refused)}</strong> refused</span>
          <span>in the last ${rows.length} days, ${what}</span>
        </p>
        <figure class="chart">
          <figcaption id=${captionId}>Valid and refused requests per day, ${what}, last ${rows.length} days (UTC). The table below holds the same numbers.</figcaption>
          <${Chart} rows=${rows} label=${`Bar chart of valid and refused requests per day for ${what}`} describedBy=${captionId} />
          <div class="legend" aria-hidden="true">
            <span><span class="swatch valid"></span>Valid</span>
            <span><span class="swatch refused"></span>Refused</span>
          </div>
        </figure>
        <div class="usage-table-wrap" tabindex="0" role="region" data-key-id=${state.keyId || undefined} aria-labelledby=${`${idPrefix}-table-caption`}>
          <table class="usage-table">
            <caption id=${`${idPrefix}-table-caption`}>Requests per day, ${what} (newest first)</caption>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col" class="num">Valid</th>
                <th scope="col" class="num">Refused</th>
                <th scope="col" class="num">Total</th>
              </tr>
            </thead>
            <tbody>
              ${[...rows].reverse().map(
                (r) => html`
                  <tr key=${r.t} class=${r.t === today ? 'today' : ''} data-day=${new Date(r.t).toISOString().slice(0, 10)}>
                    <th scope="row">${r.t === today ? `Today, ${dayLabel(r.t)}` : dayLabel(r.t)}</th>
                    <td class="num" data-col="valid">${formatCount(r.valid)}</td>
                    <td class="num" data-col="refused">${formatCount(r.refused)}</td>
                    <td class="num" data-col="total">${formatCount(r.total)}</td>
                  </tr>
                `,
              )}
            </tbody>
          </table>
        </div>
      `}
    </div>
  `;
}
