// deploy/haproxy/haproxy.cfg and keyward.lua, as shipped (only addresses and
// paths changed), run by Debian's HAProxy (its Lua) in front of keyward and a
// recording upstream: the contract of lib/deploy-gateway.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './lib/nginx-gateway.mjs';
import { assertInstalled, defineGatewaySuite, deployFile, GatewayProcess, tempDir } from './lib/deploy-gateway.mjs';

const HAPROXY = '/usr/sbin/haproxy';

defineGatewaySuite({
  name: 'haproxy',
  stripsEveryKeywardHeader: true,
  async start({ keywardPort, upstreamPort }) {
    assertInstalled(HAPROXY, 'the HAProxy gateway test runs Debian\'s haproxy');
    const port = await freePort();
    const dir = tempDir('keyward-haproxy-');
    // The abstract socket's name, unique on the host for this run.
    const socket = `abns@keyward-auth-${process.pid}-${port}`;
    const lua = path.join(dir, 'keyward.lua');
    fs.writeFileSync(lua, deployFile('haproxy/keyward.lua', [['abns@keyward-auth', socket]]));
    const cfg = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(cfg, deployFile('haproxy/haproxy.cfg', [
      ['lua-load /etc/haproxy/keyward.lua', `lua-load ${lua}`],
      ['abns@keyward-auth', socket],
      ['bind :8000', `bind 127.0.0.1:${port}`],
      ['server keyward 127.0.0.1:8080', `server keyward 127.0.0.1:${keywardPort}`],
      ['server api 127.0.0.1:9000', `server api 127.0.0.1:${upstreamPort}`],
    ]));
    const haproxy = await GatewayProcess.start({ bin: HAPROXY, args: ['-db', '-f', cfg], ports: [port], dir });
    return { port, close: () => haproxy.close() };
  },
});
