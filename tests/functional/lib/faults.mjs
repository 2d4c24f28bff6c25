// Helpers for the storage-fault tests (storage-faults.test.mjs): real file
// systems that fill up or turn read-only under a running keyward, filler
// files, /metrics and log parsing. These need root (mount, losetup); the
// tests run as root in CI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

// Runs a command; returns {status, stdout, stderr}. check: throw unless the
// exit status is one of okCodes.
export function sh(cmd, args, { check = true, okCodes = [0], timeoutMs = 30_000 } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) {
    if (check) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
    return { status: -1, stdout: '', stderr: r.error.message };
  }
  if (check && !okCodes.includes(r.status)) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()} ${r.stdout.trim()}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A new empty directory under os.tmpdir() to mount something on.
export function makeMountPoint(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `keyward-${label}-`));
}

function isMounted(dir) {
  const target = path.resolve(dir);
  return fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === target);
}

// Unmounts dir (lazily, so that a file some process still holds does not
// keep it) and removes the mount point. Never throws.
export function unmountQuietly(dir) {
  for (let i = 0; i < 3 && isMounted(dir); i++) sh('umount', ['-l', dir], { check: false });
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty or gone: leave it
  }
}

// A tmpfs of `bytes` mounted on a new directory: {dir, cleanup()}.
export function mountTmpfs(bytes) {
  const dir = makeMountPoint('tmpfs');
  sh('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'keyward-test', dir]);
  return { dir, cleanup: () => unmountQuietly(dir) };
}

// An ext4 image file of sizeMiB mounted with -o loop,errors=remount-ro on a
// new directory. The loop device goes with the mount (autoclear); cleanup()
// detaches any loop device still backed by the image and deletes it.
export class Ext4Image {
  constructor(sizeMiB = 32) {
    this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyward-ext4img-'));
    this.image = path.join(this.workDir, 'fs.img');
    this.dir = makeMountPoint('ext4');
    fs.closeSync(fs.openSync(this.image, 'w'));
    fs.truncateSync(this.image, sizeMiB * 1024 * 1024);
    sh('mkfs.ext4', ['-q', '-F', this.image]);
  }

  mount() {
    sh('mount', ['-t', 'ext4', '-o', 'loop,errors=remount-ro', this.image, this.dir]);
  }

  // The loop device the mount uses (loopN), read from /proc/self/mounts.
  loopName() {
    const target = path.resolve(this.dir);
    const line = fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[1] === target);
    assert.ok(line, `${this.dir} is not mounted`);
    return path.basename(line.split(' ')[0]);
  }

  // The knob that makes the kernel treat the file system as broken: with
  // errors=remount-ro it turns read-only at once, open files and all.
  triggerPath() {
    return `/sys/fs/ext4/${this.loopName()}/trigger_fs_error`;
  }

  trigger() {
    fs.writeFileSync(this.triggerPath(), '1\n');
  }

  // True when the kernel has made it read-only (ro, or emergency_ro as
  // newer kernels say while the mount still reads rw).
  isReadOnly() {
    const o = this.mountOptions() ?? [];
    return o.includes('ro') || o.includes('emergency_ro');
  }

  mountOptions() {
    const target = path.resolve(this.dir);
    const line = fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[1] === target);
    return line ? line.split(' ')[3].split(',') : null;
  }

  umount() {
    sh('umount', [this.dir]);
  }

  // e2fsck -fy: 0 (clean) or 1 (errors corrected) are fine; 2 and more are
  // not (reboot needed, or errors left).
  fsck() {
    const r = sh('e2fsck', ['-fy', this.image], { okCodes: [0, 1] });
    return r;
  }

  cleanup() {
    unmountQuietly(this.dir);
    const attached = sh('losetup', ['-j', this.image], { check: false }).stdout;
    for (const line of attached.split('\n')) {
      const dev = line.split(':')[0];
      if (dev.startsWith('/dev/loop')) sh('losetup', ['-d', dev], { check: false });
    }
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}

// Bytes free on the file system holding dir.
export function freeBytes(dir) {
  const s = fs.statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

// Writes zeros to `file` until the disk is full (ENOSPC), or until only
// about leaveBytes are free. Returns the bytes written.
export function fillDisk(file, { leaveBytes = 0 } = {}) {
  const fd = fs.openSync(file, 'a');
  let written = 0;
  try {
    const big = Buffer.alloc(1 << 20);
    const small = Buffer.alloc(4096);
    for (const chunk of [big, small]) {
      for (;;) {
        const room = freeBytes(path.dirname(file)) - leaveBytes;
        if (room < chunk.length) break;
        try {
          written += fs.writeSync(fd, chunk);
        } catch (e) {
          if (e.code === 'ENOSPC') break;
          throw e;
        }
      }
    }
    if (leaveBytes === 0) {
      // The last bytes: one at a time is too slow; a write that partly fits
      // writes what fits.
      for (let i = 0; i < 64; i++) {
        try {
          const n = fs.writeSync(fd, small);
          written += n;
          if (n === 0) break;
        } catch (e) {
          if (e.code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

// ---------------------------------------------------------------------------
// /metrics and the log

// GET /metrics parsed: {text, get(name, labels?) -> number | undefined}.
export async function readMetrics(srv) {
  const res = await fetch(`${srv.url}/metrics`);
  assert.equal(res.status, 200, '/metrics');
  const text = await res.text();
  const values = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m) values.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return {
    text,
    get(name, labels) {
      const key = labels
        ? `${name}{${Object.entries(labels)
            .map(([k, v]) => `${k}="${v}"`)
            .join(',')}}`
        : name;
      return values.get(key);
    },
  };
}

// The storage and usage samples of a /metrics text, for assertion messages.
export function storageSamples(text) {
  return text.split('\n').filter((l) => /^keyward_(store_|storage_|usage_)/.test(l)).join('\n');
}

export const FAULTS = ['full', 'read_only', 'io_error', 'missing', 'corrupt', 'unreachable'];

// Checks the storage metrics: keyward_store_up and one
// keyward_storage_fault{fault=…} per fault, 1 for `fault` (or none when
// fault is null), 0 for the others.
export function assertFaultMetrics(m, fault, what = '') {
  assert.equal(m.get('keyward_store_up'), fault === null ? 1 : 0, `${what}: keyward_store_up\n${storageSamples(m.text)}`);
  for (const f of FAULTS) {
    assert.equal(
      m.get('keyward_storage_fault', { fault: f }),
      f === fault ? 1 : 0,
      `${what}: keyward_storage_fault{fault="${f}"}\n${storageSamples(m.text)}`,
    );
  }
}

// The server's log lines (stdout, every run) that are JSON objects.
export function logLines(srv) {
  const out = [];
  for (const line of srv.allStdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t));
    } catch {
      // a torn line
    }
  }
  return out;
}

export function faultBeganLines(srv) {
  return logLines(srv).filter((l) => l.level === 'error' && typeof l.msg === 'string' && l.msg.startsWith('storage fault:'));
}

export function faultEndedLines(srv) {
  return logLines(srv).filter((l) => l.msg === 'storage works again: changes are accepted');
}

// A compact description of a log for assertion messages.
// The last n lines of the log but the request lines (one per request).
export function logTail(srv, n = 30) {
  return srv.allStdout
    .split('\n')
    .filter((l) => l.trim() && !l.includes('"msg":"request"'))
    .slice(-n)
    .join('\n');
}
