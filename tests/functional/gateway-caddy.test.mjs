// deploy/caddy/Caddyfile, as shipped (only its addresses changed), run by
// Debian's Caddy in front of keyward and a recording upstream: the contract
// of lib/deploy-gateway.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './lib/nginx-gateway.mjs';
import { assertInstalled, defineGatewaySuite, deployFile, GatewayProcess, tempDir } from './lib/deploy-gateway.mjs';

const CADDY = '/usr/bin/caddy';

defineGatewaySuite({
  name: 'caddy',
  stripsEveryKeywardHeader: true,
  async start({ keywardPort, upstreamPort }) {
    assertInstalled(CADDY, 'the Caddy gateway test runs Debian\'s caddy');
    const [port, adminPort] = [await freePort(), await freePort()];
    const conf = deployFile('caddy/Caddyfile', [
      ['127.0.0.1:8080', `127.0.0.1:${keywardPort}`],
      ['127.0.0.1:9000', `127.0.0.1:${upstreamPort}`],
      ['admin 127.0.0.1:2019', `admin 127.0.0.1:${adminPort}`],
      ['\n:8000 {', `\nhttp://127.0.0.1:${port} {\n\tbind 127.0.0.1`],
    ]);
    const dir = tempDir('keyward-caddy-');
    const file = path.join(dir, 'Caddyfile');
    fs.writeFileSync(file, conf);
    const env = { HOME: dir, XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config') };
    const caddy = await GatewayProcess.start({ bin: CADDY, args: ['run', '--config', file, '--adapter', 'caddyfile'], ports: [port], env, dir });
    return { port, close: () => caddy.close() };
  },
});
