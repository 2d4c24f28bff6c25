// Starting what a browser test needs: a real keyward (its public_url names
// its own port, so the port is chosen first) and small local web servers
// standing in for the operator's app (return_url) or another site.
import http from 'node:http';
import assert from 'node:assert/strict';
import { KeywardServer, noteSecret, poll, sleep } from '../../functional/lib/keyward.mjs';
import { freePort } from './browser.mjs';

export { noteSecret, poll, sleep };

export const BRANDING = {
  product_name: 'Acme Cloud',
  accent_color: '#0f766e',
  support_url: 'https://support.example.com/api-keys',
};

// keyward with the [portal] table filled in; portal: overrides for it.
export async function startKeyward({ portal = {}, config = {} } = {}) {
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await KeywardServer.start({
        listen: `127.0.0.1:${port}`,
        config: {
          public_url: `http://127.0.0.1:${port}`,
          ...config,
          portal: {
            ...BRANDING,
            session_ttl_seconds: 900,
            code_ttl_seconds: 300,
            frame_ancestors: ["'self'"],
            ...portal,
          },
        },
      });
    } catch (e) {
      lastError = e; // the port was taken between choosing and binding: try another
      if (!/address|in use|bind/i.test(e.message)) throw e;
    }
  }
  throw lastError;
}

// POST /v1/portal-sessions with the root key; resolves the answer
// ({id, url, expires_at, …}).
export async function portalSession(srv, body) {
  const r = await srv.post('/v1/portal-sessions', body);
  assert.equal(r.status, 201, `POST /v1/portal-sessions ${JSON.stringify(body)} answered ${r.status}: ${r.text}`);
  assert.match(r.json.url, /\/portal\?code=/, `portal session url: ${r.json.url}`);
  return r.json;
}

// A tiny web server: routes maps a path to [contentType, body] or a function
// (req, res). Resolves {port, url(host), close()}.
export async function startSite(routes) {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const route = routes[path];
    if (typeof route === 'function') return route(req, res);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': route[0], 'cache-control': 'no-store' });
    res.end(route[1]);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    url: (host = '127.0.0.1') => `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

// Every string held in localStorage and sessionStorage, and document.cookie.
export function storageDump(page) {
  return page.evaluate(() => {
    const out = [];
    for (const store of [localStorage, sessionStorage]) {
      for (let i = 0; i < store.length; i++) {
        const k = store.key(i);
        out.push(k, store.getItem(k));
      }
    }
    out.push(document.cookie);
    return out.join('\n');
  });
}

// A heap snapshot of the page's JavaScript (after garbage collection), as
// text: what the page still holds.
export async function heapText(context, page) {
  const cdp = await context.newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.enable');
    await cdp.send('HeapProfiler.collectGarbage');
    const chunks = [];
    cdp.on('HeapProfiler.addHeapSnapshotChunk', (e) => chunks.push(e.chunk));
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    return chunks.join('');
  } finally {
    await cdp.detach().catch(() => {});
  }
}

// The test's own reads of the page (Playwright's text and role matching in
// its isolated world, page.evaluate) leave the last subject of a regular
// expression in V8's per-context RegExp state. Overwriting it with harmless
// text before a heap check leaves only what the page itself keeps.
export async function scrubTestTraces(page) {
  await page.evaluate(() => /o k/.test('o k'));
  // A text search visits every element's (whitespace-normalised) text.
  await page.getByText('no such text anywhere, surely').count();
  await page.getByRole('heading', { level: 1 }).first().textContent();
}

// Records the body of every response the page receives from now on.
// Resolves (through texts()) the bodies seen so far.
export function recordResponses(page) {
  const pending = [];
  const onResponse = (response) => {
    pending.push(
      response
        .body()
        .then((b) => `${response.url()}\n${b.toString('utf8')}`)
        .catch(() => `${response.url()}\n`),
    );
  };
  page.on('response', onResponse);
  return {
    async texts() {
      return Promise.all(pending);
    },
    stop() {
      page.off('response', onResponse);
    },
  };
}

// The keys of a workspace, over HTTP with the root key.
export async function keysOf(srv, workspaceId) {
  return srv.listAll(`/v1/api-keys?workspace_id=${encodeURIComponent(workspaceId)}`);
}

// GET /v1/auth with a key: {status, json}.
export async function authWith(srv, key) {
  noteSecret(key);
  return srv.auth({ authorization: `Bearer ${key}` });
}

// In a heap snapshot (text from heapText), the shortest chain of references
// from the page's roots to a string holding needle, one line per link, to
// say who keeps it; null when no string holds it.
export function retainerPath(snapshotText, needle) {
  const snap = JSON.parse(snapshotText);
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const { nodes, edges, strings } = snap;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const nameAt = meta.node_fields.indexOf('name');
  const toAt = meta.edge_fields.indexOf('to_node');
  const count = nodes.length / nf;
  const retainers = new Map();
  for (let i = 0, e = 0; i < count; i++) {
    const end = e + nodes[i * nf + edgeCountAt] * ef;
    for (; e < end; e += ef) {
      const to = edges[e + toAt] / nf;
      const type = edgeTypes[edges[e]];
      const name = type === 'element' || type === 'hidden' ? `[${edges[e + 1]}]` : strings[edges[e + 1]];
      if (!retainers.has(to)) retainers.set(to, []);
      retainers.get(to).push([i, `${type}:${name}`]);
    }
  }
  const describe = (i) => `${nodeTypes[nodes[i * nf]]} ${String(strings[nodes[i * nf + nameAt]]).slice(0, 80)}`;
  let start = -1;
  for (let i = 0; i < count && start < 0; i++) {
    if (nodeTypes[nodes[i * nf]] === 'string' && String(strings[nodes[i * nf + nameAt]]).includes(needle)) start = i;
  }
  if (start < 0) return snapshotText.includes(needle) ? '(in the snapshot, but not as a string node)' : null;
  const prev = new Map([[start, null]]);
  let queue = [start];
  let root = null;
  while (queue.length && root === null) {
    const next = [];
    for (const n of queue) {
      for (const [r, edge] of retainers.get(n) ?? []) {
        if (prev.has(r)) continue;
        prev.set(r, [n, edge]);
        if (/^(synthetic|native Window)/.test(describe(r))) {
          root = r;
          break;
        }
        next.push(r);
      }
      if (root !== null) break;
    }
    queue = next;
  }
  if (root === null) return `${describe(start)} (no path to a root)`;
  const lines = [];
  for (let n = root; n !== start; ) {
    const [child, edge] = prev.get(n);
    lines.push(`${describe(n)} --${edge}-->`);
    n = child;
  }
  lines.push(describe(start).replace(needle, '…'));
  return lines.join('\n');
}
