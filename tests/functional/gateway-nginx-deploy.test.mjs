// deploy/nginx/keyward.conf, as shipped (only its addresses changed), run by
// Debian's nginx in front of keyward and a recording upstream: the contract
// of lib/deploy-gateway.mjs, plus keyward's side of the 429 answer
// (X-Keyward-Error-Header).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNginxInstalled, freePort, Nginx } from './lib/nginx-gateway.mjs';
import { defineGatewaySuite, deployFile } from './lib/deploy-gateway.mjs';

defineGatewaySuite({
  name: 'nginx',
  stripsEveryKeywardHeader: true,
  async start({ keywardPort, upstreamPort }) {
    assertNginxInstalled();
    const port = await freePort();
    const conf = deployFile('nginx/keyward.conf', [
      ['server 127.0.0.1:8080;', `server 127.0.0.1:${keywardPort};`],
      ['server 127.0.0.1:9000;', `server 127.0.0.1:${upstreamPort};`],
      ['listen 80;', `listen 127.0.0.1:${port};`],
    ]);
    const nginx = await Nginx.start({ http: () => conf, ports: [port] });
    return { port, close: () => nginx.close() };
  },
  extraTests({ kw, ws }) {
    test('keyward: X-Keyward-Error carries a refusal\'s body only when the gateway asks with X-Keyward-Error-Header: 1', async () => {
      const k = await kw().createKey(ws().id, { name: 'error header', rate_limit: { limit: 1, period_seconds: 60 } });
      const ask = (extra) => kw().auth({ authorization: `Bearer ${k.key}`, ...extra });
      const ok = await ask({ 'x-keyward-error-header': '1' });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('x-keyward-error'), null, 'a 200 carries X-Keyward-Error');
      for (const extra of [{}, { 'x-keyward-error-header': '0' }, { 'x-keyward-error-header': 'yes' }]) {
        const r = await ask(extra);
        assert.equal(r.status, 429);
        assert.equal(r.headers.get('x-keyward-error'), null, `${JSON.stringify(extra)}: X-Keyward-Error sent unasked`);
      }
      const r = await ask({ 'x-keyward-error-header': '1' });
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('x-keyward-error'), r.text, 'X-Keyward-Error is not the body');
      assert.equal(JSON.parse(r.headers.get('x-keyward-error')).error, 'rate_limited');
      const missing = await kw().auth({ 'x-keyward-error-header': '1' });
      assert.equal(missing.status, 401);
      assert.deepEqual(JSON.parse(missing.headers.get('x-keyward-error')), missing.json);
      const conflict = await kw().auth({ 'x-keyward-error-header': '1', 'x-real-ip': '10.1.2.3', 'x-forwarded-for': '10.9.9.9' });
      assert.equal(conflict.status, 400);
      assert.deepEqual(JSON.parse(conflict.headers.get('x-keyward-error')), conflict.json);
    });
  },
});
