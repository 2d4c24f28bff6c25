// Fails the build when dist/ holds something the server's
// Content-Security-Policy would block or that reaches another host: an
// inline <script> or <style>, a style="…" attribute, an inline event
// handler, a data: or remote script, stylesheet or font.
import fs from 'node:fs';
import path from 'node:path';

const dist = new URL('./dist/', import.meta.url).pathname;
const problems = [];
for (const page of ['portal.html', 'console.html']) {
  const file = path.join(dist, page);
  if (!fs.existsSync(file)) {
    problems.push(`${page}: missing`);
    continue;
  }
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(/<script\b([^>]*)>/gi)) {
    if (!/\bsrc\s*=\s*"\/assets\/[^"]+\.js"/i.test(m[1])) problems.push(`${page}: a script that is not /assets/*.js: ${m[0]}`);
  }
  if (/<style\b/i.test(text)) problems.push(`${page}: an inline <style>`);
  if (/\sstyle\s*=/i.test(text)) problems.push(`${page}: a style attribute`);
  if (/\son[a-z]+\s*=/i.test(text)) problems.push(`${page}: an inline event handler`);
  for (const m of text.matchAll(/\b(?:href|src)\s*=\s*"([^"]*)"/gi)) {
    if (!m[1].startsWith('/assets/')) problems.push(`${page}: a reference outside /assets/: ${m[1]}`);
  }
}
for (const file of fs.readdirSync(path.join(dist, 'assets'))) {
  if (!file.endsWith('.css')) continue;
  const css = fs.readFileSync(path.join(dist, 'assets', file), 'utf8');
  if (/@import|url\(\s*['"]?(?:https?:)?\/\//i.test(css)) problems.push(`assets/${file}: loads from another host`);
}
if (problems.length) {
  console.error(`dist/ would break the Content-Security-Policy:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('dist/: no inline script or style, nothing from another host');
