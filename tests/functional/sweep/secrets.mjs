// The secrets sweep: runs after every functional suite (a ctest fixture
// cleanup) over what they left in $KEYWARD_EVIDENCE_DIR (see lib/keyward.mjs):
// every secret the tests saw or sent, and every server's stdout and stderr
// logs, last /metrics, whole database (audit log, names, meta, reasons, as
// `sqlite3 .dump` or, on PostgreSQL, `pg_dump --inserts` prints it), every error body answered and everything the
// command line printed besides its answers. No
// secret may appear in any of them beyond its short prefix (the product,
// the environment and 12 characters), which is all keyward ever shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const DIR = process.env.KEYWARD_EVIDENCE_DIR;
const SHORT_PREFIX_BODY = 12;
const WINDOW = 16;
const CAPITAL = /[A-Z]/;

function readAll() {
  const secrets = new Set();
  const texts = []; // {where, text}
  for (const run of fs.readdirSync(DIR)) {
    const runDir = path.join(DIR, run);
    if (!fs.statSync(runDir).isDirectory()) continue;
    for (const file of fs.readdirSync(runDir)) {
      const text = fs.readFileSync(path.join(runDir, file), 'utf8');
      if (file === 'secrets.txt') {
        for (const line of text.split('\n')) if (line) secrets.add(line);
      } else {
        texts.push({ where: `${run}/${file}`, text });
      }
    }
  }
  return { secrets, texts };
}

// Every 16-character window of the part of each secret that is never shown
// (its body after the short prefix) -> the secret. Windows with no capital
// letter are left out, so that the scan can pass over every run of text
// with none (hex digests, ids, most of a database dump: nearly all of the
// evidence) without looking inside. A secret all of whose windows lack one
// (one in millions) is indexed whole, and then no run is passed over:
// `everyRun` says so.
function indexHiddenParts(secrets) {
  const windows = new Map();
  let everyRun = false;
  for (const s of secrets) {
    const body = s.slice(s.lastIndexOf('_') + 1);
    const hidden = body.slice(SHORT_PREFIX_BODY);
    // A made-up credential such as kw_root_xxxx… is no secret, and its
    // windows would match any long run of the same letter.
    if (new Set(hidden).size < 8) continue;
    const own = [];
    for (let i = 0; i + WINDOW <= hidden.length; i++) {
      const w = hidden.slice(i, i + WINDOW);
      // A window of a made-up key such as …AAAAAAAAAAAAAAAAAB0jZUS5 (built to
      // share a real key's prefix) would match any id padded with one
      // letter; 16 random base62 characters have fewer than 6 distinct ones
      // with a probability below 1e-9.
      if (new Set(w).size < 6) continue;
      own.push(w);
    }
    const capitalized = own.filter((w) => CAPITAL.test(w));
    if (capitalized.length === 0 && own.length > 0) everyRun = true;
    for (const w of capitalized.length > 0 ? capitalized : own) windows.set(w, s);
  }
  return { windows, everyRun };
}

test('no secret in any log, error body, metrics page or audit log of the functional run', (t) => {
  assert.ok(DIR && fs.existsSync(DIR), 'KEYWARD_EVIDENCE_DIR is not set or does not exist');
  const { secrets, texts } = readAll();
  if (!texts.some((x) => x.where.includes('/server-'))) {
    // `ctest -R` picked suites that start no server (the OpenAPI document's).
    t.skip('no functional suite of this run started a server');
    return;
  }
  const kinds = new Set(texts.map((t) => t.where.split('.').slice(-2).join('.')));
  console.log(`sweep: ${secrets.size} secrets against ${texts.length} files ` +
              `(${(texts.reduce((n, t) => n + t.text.length, 0) / 1e6).toFixed(1)} MB; ${[...kinds].sort().join(', ')})`);
  for (const t of texts.filter((x) => x.where.endsWith('.unreadable.txt'))) console.log(`sweep: could not read ${t.text}`);
  // The sweep must have had something to look at.
  assert.ok(secrets.size > 0, 'no secrets were recorded: is lib/keyward.mjs writing evidence?');
  assert.ok(texts.some((t) => t.where.endsWith('.stdout.log') && t.text.length > 0), 'no server logs were recorded');
  assert.ok(texts.some((t) => t.where.endsWith('.database.sql') && t.text.includes('INSERT INTO')), 'no database was dumped');

  const { windows, everyRun } = indexHiddenParts(secrets);
  const leaks = [];
  for (const { where, text } of texts) {
    for (const m of text.matchAll(/[0-9A-Za-z]{16,}/g)) {
      const run = m[0];
      if (!everyRun && !CAPITAL.test(run)) continue;
      for (let i = 0; i + WINDOW <= run.length; i++) {
        const s = windows.get(run.slice(i, i + WINDOW));
        if (s) {
          const at = m.index + i;
          leaks.push(`${where}: ${s.slice(0, s.lastIndexOf('_') + 1 + SHORT_PREFIX_BODY)}… at offset ${at}: ` +
                     JSON.stringify(text.slice(Math.max(0, at - 60), at)));
          break;
        }
      }
    }
  }
  assert.deepEqual(leaks.slice(0, 20), [], `${leaks.length} secret(s) found where none may be`);
});
