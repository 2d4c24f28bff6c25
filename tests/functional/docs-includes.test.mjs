// The configuration README.md shows is the configuration that is tested: a
// block between `<!-- include <path> -->` and `<!-- end include -->` must be
// that file, byte for byte, in one fenced code block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const INCLUDE = /<!-- include (\S+) -->\n([\s\S]*?)<!-- end include -->/g;

// [{file, block}] of every include in text.
export function includes(text) {
  return [...text.matchAll(INCLUDE)].map((m) => ({ file: m[1], block: m[2] }));
}

// Why block does not show the file's text, or null when it does.
export function mismatch(block, fileText) {
  const m = /^```[a-z]*\n([\s\S]*)```\n$/.exec(block);
  if (!m) return 'the block is not one fenced code block';
  if (m[1] === fileText) return null;
  const a = m[1].split('\n');
  const b = fileText.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}: README has ${JSON.stringify(a[i])}, the file ${JSON.stringify(b[i])}`;
  }
  return 'they differ';
}

test('README.md shows deploy/nginx/keyward.conf and deploy/caddy/Caddyfile as they are', () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const found = includes(readme);
  const files = found.map((f) => f.file);
  for (const want of ['deploy/nginx/keyward.conf', 'deploy/caddy/Caddyfile']) {
    assert.ok(files.includes(want), `README.md has no <!-- include ${want} --> block (it has ${JSON.stringify(files)})`);
  }
  assert.equal(readme.split('<!-- include ').length - 1, found.length, 'an include marker without its <!-- end include -->');
  for (const { file, block } of found) {
    const why = mismatch(block, fs.readFileSync(path.join(REPO, file), 'utf8'));
    assert.equal(why, null, `README.md's copy of ${file} is out of date (${why}): paste the file again`);
  }
});

test('the check itself: a changed line, a missing fence or a missing end marker is caught', () => {
  const file = 'a\nb\n';
  assert.equal(mismatch('```nginx\na\nb\n```\n', file), null);
  assert.match(mismatch('```nginx\na\nc\n```\n', file), /line 2/);
  assert.match(mismatch('```nginx\na\nb\n\n```\n', file), /line 4/);
  assert.match(mismatch('a\nb\n', file), /fenced/);
  assert.equal(includes('<!-- include x -->\n```\na\n```\n').length, 0);
  assert.deepEqual(includes('<!-- include x -->\n```\na\n```\n<!-- end include -->'), [{ file: 'x', block: '```\na\n```\n' }]);
});
