// The operator's accent colour, applied as CSS custom properties from script
// (the page's CSP forbids inline styles in the markup, not CSSOM).

function parseHex(hex) {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(hex || '').trim());
  if (!m) return null;
  let s = m[1];
  if (s.length === 3) s = [...s].map((c) => c + c).join('');
  return [0, 2, 4].map((i) => parseInt(s.slice(i, i + 2), 16));
}

function toHex(rgb) {
  return '#' + rgb.map((v) => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, '0')).join('');
}

function luminance([r, g, b]) {
  const f = (v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}

export function contrast(a, b) {
  const la = luminance(a);
  const lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

// Darkens a colour towards black until it reads on white at `min`:1.
function readableOnWhite(rgb, min = 4.6) {
  const white = [255, 255, 255];
  let c = rgb;
  for (let i = 0; i < 40 && contrast(c, white) < min; i++) c = c.map((v) => v * 0.92);
  return c;
}

export function applyAccent(color) {
  const rgb = parseHex(color);
  if (!rgb) return;
  const root = document.documentElement.style;
  // Buttons: the accent itself with black or white text, whichever reads
  // better, unless neither reaches 4.5:1; then a darker accent with white.
  let fill = rgb;
  let text = contrast(rgb, [255, 255, 255]) >= contrast(rgb, [0, 0, 0]) ? [255, 255, 255] : [0, 0, 0];
  if (contrast(fill, text) < 4.6) {
    fill = readableOnWhite(rgb);
    text = [255, 255, 255];
  }
  root.setProperty('--accent', toHex(fill));
  root.setProperty('--accent-text', toHex(text));
  root.setProperty('--accent-ink', toHex(readableOnWhite(rgb)));
  root.setProperty('--accent-soft', `rgba(${rgb.join(',')}, 0.12)`);
}
