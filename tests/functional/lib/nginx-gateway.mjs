// Helpers for running keyward behind a real nginx (`auth_request`): a free
// port, Debian's nginx started from a configuration the test writes, a
// recording upstream, raw HTTP requests from a chosen loopback address, and
// the way a typical back end reads the path it receives.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, noteSecret, sleep } from './keyward.mjs';

export const NGINX_BIN = '/usr/sbin/nginx';

// Fails (never skips) when nginx is not installed.
export function assertNginxInstalled() {
  let ok = false;
  try {
    fs.accessSync(NGINX_BIN, fs.constants.X_OK);
    ok = true;
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new Error(
      `${NGINX_BIN} is missing: the gateway tests run keyward behind Debian's nginx; ` +
        'scripts/install-deps installs nginx-light (run it, or make test, which runs it)',
    );
  }
}

// A TCP port that was free a moment ago on host.
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Resolves once something accepts connections on host:port.
export function canConnect(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

// A set of child processes that are killed if the test process exits
// before they were closed (and taken out of it).
export function killedAtExit() {
  const live = new Set();
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  });
  return live;
}

// Every nginx we start.
const liveNginx = killedAtExit();

// Debian's nginx in the foreground, in one process (master_process off, so a
// kill leaves no orphaned worker), with its pid, logs and temporary
// directories in its own temporary directory.
//   conf(dir): the `http { … }` block's contents, given the temporary dir
//   ports: the ports the configuration listens on (127.0.0.1), waited for
export class Nginx {
  constructor() {
    this.dir = makeTempDir('keyward-nginx-');
    this.proc = null;
    this.stderr = '';
    this.exited = null;
    this.exitInfo = null;
  }

  static async start({ http: httpBlock, ports, timeoutMs = 5000 }) {
    const n = new Nginx();
    try {
      await n.spawn(httpBlock(n.dir), ports, timeoutMs);
    } catch (e) {
      await n.close();
      throw e;
    }
    return n;
  }

  get confPath() {
    return path.join(this.dir, 'nginx.conf');
  }

  errorLog() {
    try {
      return fs.readFileSync(path.join(this.dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  accessLog() {
    try {
      return fs.readFileSync(path.join(this.dir, 'access.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async spawn(httpBlock, ports, timeoutMs) {
    const d = this.dir;
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(d, sub));
    const conf = [
      // deploy/nginx/keyward.conf drops every X-Keyward-* header of a
      // client's with it (libnginx-mod-http-headers-more-filter).
      'load_module /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${d}/nginx.pid;`,
      `error_log ${d}/error.log info;`,
      'events { worker_connections 512; }',
      'http {',
      `  access_log ${d}/access.log;`,
      `  client_body_temp_path ${d}/client_body;`,
      `  proxy_temp_path ${d}/proxy;`,
      `  fastcgi_temp_path ${d}/fastcgi;`,
      `  uwsgi_temp_path ${d}/uwsgi;`,
      `  scgi_temp_path ${d}/scgi;`,
      httpBlock,
      '}',
      '',
    ].join('\n');
    fs.writeFileSync(this.confPath, conf);
    // Check the configuration first: a clear message instead of a timeout.
    const check = await runOnce(NGINX_BIN, ['-t', '-q', '-p', d, '-e', `${d}/error.log`, '-c', this.confPath]);
    if (check.code !== 0) {
      throw new Error(`nginx -t refused the configuration (exit ${check.code}):\n${check.stderr}\n${this.errorLog()}\n--- nginx.conf ---\n${conf}`);
    }
    const child = spawn(NGINX_BIN, ['-p', d, '-e', `${d}/error.log`, '-c', this.confPath, '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = child;
    liveNginx.add(child);
    child.stderr.setEncoding('utf8').on('data', (x) => (this.stderr += x));
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        liveNginx.delete(child);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    child.on('error', () => {});
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitInfo) {
        throw new Error(`nginx exited (${JSON.stringify(this.exitInfo)}) before listening:\n${this.stderr}\n${this.errorLog()}`);
      }
      const up = await Promise.all(ports.map((p) => canConnect(p)));
      if (up.every(Boolean)) return;
      if (Date.now() > deadline) {
        throw new Error(`nginx did not listen on ${ports.join(', ')} within ${timeoutMs} ms:\n${this.stderr}\n${this.errorLog()}`);
      }
      await sleep(50);
    }
  }

  async close() {
    if (this.proc && !this.exitInfo) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!this.exitInfo) this.proc.kill('SIGKILL');
      }, 3000);
      await this.exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function runOnce(bin, args) {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', () => {});
    child.stderr.setEncoding('utf8').on('data', (x) => (stderr += x));
    child.on('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

// An HTTP server on 127.0.0.1 that records every request it receives
// (method, raw URL, headers) and answers 200. A request node's parser
// refuses is recorded too (method and url null, the raw bytes kept): it
// reached the upstream all the same.
export class RecordingUpstream {
  constructor() {
    this.records = [];
    this.server = http.createServer({ insecureHTTPParser: true, maxHeaderSize: 256 * 1024 }, (req, res) => {
      const rec = { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders };
      this.records.push(rec);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-recording-upstream': 'yes', connection: 'close' });
        res.end('upstream ok\n');
      });
    });
    this.server.on('clientError', (err, socket) => {
      this.records.push({ method: null, url: null, headers: {}, rawHeaders: [], error: err.code, raw: err.rawPacket?.toString('latin1') ?? '' });
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.sockets = new Set();
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start() {
    const u = new RecordingUpstream();
    await new Promise((resolve, reject) => {
      u.server.once('error', reject);
      u.server.listen(0, '127.0.0.1', resolve);
    });
    u.port = u.server.address().port;
    return u;
  }

  get hits() {
    return this.records.length;
  }

  // The records carrying the request id the client sent (X-Test-Id).
  withId(id) {
    return this.records.filter((r) => r.headers['x-test-id'] === id);
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// One HTTP/1.1 request over a raw socket from localAddress, the request
// target sent byte for byte, headers an object or a list of [name, value]
// pairs (a name may repeat). Resolves {status, headers, body, head}.
export function rawRequest({ port, host = '127.0.0.1', localAddress, method = 'GET', target, headers = [], timeoutMs = 5000 }) {
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [k, v] of pairs) {
    const lk = k.toLowerCase();
    if (lk === 'authorization' || lk === 'x-api-key') noteSecret(v);
  }
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}:${port}`, 'Connection: close'];
  for (const [k, v] of pairs) lines.push(`${k}: ${v}`);
  const bytes = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, localAddress });
    const chunks = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${method} ${target.slice(0, 120)} from ${localAddress}: no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => chunks.push(d));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      const head = end >= 0 ? all.slice(0, end) : all;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (!m) {
        reject(new Error(`${method} ${target.slice(0, 120)}: no HTTP answer: ${JSON.stringify(all.slice(0, 200))}`));
        return;
      }
      const h = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) h[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(m[1]), headers: h, body: end >= 0 ? all.slice(end + 4) : '', head });
    });
  });
}

// ---------------------------------------------------------------------------
// How a typical back end reads the request target it receives: the query
// (and any fragment) dropped, percent-decoded once, backslashes read as
// slashes, repeated slashes merged, then '.' and '..' segments resolved as
// RFC 3986 5.2.4 does.

export function decodeOnce(s) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(s.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes).toString('latin1');
}

export function removeDotSegments(input) {
  let inp = input;
  let out = '';
  while (inp.length) {
    if (inp.startsWith('../')) inp = inp.slice(3);
    else if (inp.startsWith('./')) inp = inp.slice(2);
    else if (inp.startsWith('/./')) inp = inp.slice(2);
    else if (inp === '/.') inp = '/';
    else if (inp.startsWith('/../')) {
      inp = inp.slice(3);
      out = out.slice(0, Math.max(0, out.lastIndexOf('/')));
    } else if (inp === '/..') {
      inp = '/';
      out = out.slice(0, Math.max(0, out.lastIndexOf('/')));
    } else if (inp === '.' || inp === '..') inp = '';
    else {
      const start = inp.startsWith('/') ? 1 : 0;
      const next = inp.indexOf('/', start);
      const seg = next < 0 ? inp : inp.slice(0, next);
      out += seg;
      inp = next < 0 ? '' : inp.slice(next);
    }
  }
  return out;
}

export function backendPath(rawTarget) {
  let p = rawTarget;
  const cut = p.search(/[?#]/);
  if (cut >= 0) p = p.slice(0, cut);
  p = decodeOnce(p);
  p = p.replace(/\\/g, '/');
  p = p.replace(/\/{2,}/g, '/');
  return removeDotSegments(p);
}

// Does an endpoint pattern ("GET /v1/products/*", "GET,POST /v1/orders/**",
// "/v1/x") allow method + an already-read path? '*' is one non-empty
// segment, '**' any number of segments; the rest is literal and
// case-sensitive.
export function endpointAllows(pattern, method, p) {
  let methods = null;
  let pathPattern = pattern;
  const sp = pattern.indexOf(' ');
  if (sp >= 0) {
    methods = pattern.slice(0, sp).split(',').map((m) => m.trim().toUpperCase());
    pathPattern = pattern.slice(sp + 1).trim();
  }
  if (methods && !methods.includes(String(method).toUpperCase())) return false;
  const want = pathPattern.split('/');
  const got = p.split('/');
  const match = (i, j) => {
    if (i === want.length) return j === got.length;
    if (want[i] === '**') {
      for (let k = j; k <= got.length; k++) if (match(i + 1, k)) return true;
      return false;
    }
    if (j === got.length) return false;
    if (want[i] === '*') return got[j].length > 0 && match(i + 1, j + 1);
    return want[i] === got[j] && match(i + 1, j + 1);
  };
  return match(0, 0);
}

// IPv4 address in an IPv4 CIDR block (the allow-lists these tests use).
export function ipv4InCidr(ip, cidr) {
  const [base, bitsText] = cidr.includes('/') ? cidr.split('/') : [cidr, '32'];
  const toInt = (a) => {
    const parts = a.split('.');
    if (parts.length !== 4 || parts.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return null;
    return parts.reduce((n, x) => n * 256 + Number(x), 0);
  };
  const a = toInt(ip);
  const b = toInt(base);
  if (a === null || b === null) return false;
  const bits = Number(bitsText);
  const size = 2 ** (32 - bits);
  return Math.floor(a / size) === Math.floor(b / size);
}
