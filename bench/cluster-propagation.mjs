// Revocation propagation across keyward nodes (bench/cluster.sh runs it):
// COUNT keys are created on the first node and verified on the others (so
// their caches hold them as valid); then each is revoked on the first node
// and, from the moment the DELETE answers, every other node is asked
// (POST /v1/keys/verify) every INTERVAL ms until it answers `revoked`.
// Prints one line per node and one for all, with p50, p99 and max in ms.
//
//   node bench/cluster-propagation.mjs ROOT_KEY URL_A URL_B [URL_C…]
//   COUNT=200 INTERVAL_MS=2 GIVE_UP_MS=5000
import { performance } from 'node:perf_hooks';

const [root, first, ...others] = process.argv.slice(2);
if (!root || !first || others.length === 0) {
  console.error('usage: node bench/cluster-propagation.mjs ROOT_KEY URL_A URL_B [URL_C…]');
  process.exit(2);
}
const COUNT = Number(process.env.COUNT ?? 200);
const INTERVAL_MS = Number(process.env.INTERVAL_MS ?? 2);
const GIVE_UP_MS = Number(process.env.GIVE_UP_MS ?? 5000);

async function call(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${root}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${base}${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function refusedAfter(base, key, t0) {
  for (;;) {
    const v = await call(base, 'POST', '/v1/keys/verify', { key });
    if (v.code === 'revoked') return performance.now() - t0;
    if (v.code !== 'valid') throw new Error(`${base}: ${key.slice(0, 20)}… answered ${v.code}`);
    if (performance.now() - t0 > GIVE_UP_MS) return Infinity;
    await sleep(INTERVAL_MS);
  }
}

function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const pct = (p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  return { p50: pct(50), p99: pct(99), max: s.at(-1), over1s: s.filter((v) => v >= 1000).length };
}

const ws = await call(first, 'POST', '/v1/workspaces', { name: 'propagation bench', max_active_keys: COUNT + 10 });
const keys = [];
for (let i = 0; i < COUNT; i++) {
  keys.push(await call(first, 'POST', '/v1/api-keys', { workspace_id: ws.id, environment: 'live', name: `p${i}` }));
}
for (const k of keys) {
  for (const base of others) {
    const v = await call(base, 'POST', '/v1/keys/verify', { key: k.key });
    if (v.code !== 'valid') throw new Error(`${base}: a fresh key answered ${v.code}`);
  }
}

const delays = others.map(() => []);
for (const k of keys) {
  await call(first, 'DELETE', `/v1/api-keys/${k.id}`);
  const t0 = performance.now();
  const took = await Promise.all(others.map((base) => refusedAfter(base, k.key, t0)));
  took.forEach((ms, i) => delays[i].push(ms));
}

const fmt = (x) => (x === Infinity ? `>${GIVE_UP_MS}` : x.toFixed(1));
const line = (label, s) =>
  console.log(`${label.padEnd(24)} p50 ${fmt(s.p50).padStart(7)} ms  p99 ${fmt(s.p99).padStart(7)} ms  ` +
              `max ${fmt(s.max).padStart(7)} ms  ${s.over1s} of ${COUNT * (label === 'all' ? others.length : 1)} at 1 s or more`);
console.log(`revocation propagation: ${COUNT} revocations on ${first}, each polled every ${INTERVAL_MS} ms on ${others.length} other nodes`);
others.forEach((base, i) => line(base, stats(delays[i])));
line('all', stats(delays.flat()));
