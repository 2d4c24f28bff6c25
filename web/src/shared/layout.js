// Page frame pieces shared by the portal and the console.
import { html } from './html.js';

// An http(s) URL, or null: never navigate to javascript: or data: URLs that
// a server answer might carry.
export function safeUrl(url, protocols = ['https:', 'http:']) {
  if (typeof url !== 'string' || !url) return null;
  try {
    const u = new URL(url, location.href);
    return protocols.includes(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

export function TopBar({ branding, sub, children }) {
  const name = branding?.product_name || 'keyward';
  const logo = safeUrl(branding?.logo_url);
  return html`
    <header class="topbar">
      <div class="topbar-inner">
        <div class="brand">
          ${logo && html`<img src=${logo} alt="" referrerpolicy="no-referrer" />`}
          <span>${name}</span>
          ${sub && html`<span class="sub">${sub}</span>`}
        </div>
        <div class="topbar-meta">${children}</div>
      </div>
    </header>
  `;
}

export function SkipLink() {
  return html`<a class="skip-link" href="#main">Skip to content</a>`;
}

// A whole-page state (loading, signed out, failed) with a heading.
export function StatePage({ title, children, branding, busy = false }) {
  return html`
    <${TopBar} branding=${branding} />
    <main id="main" class="page" tabindex="-1">
      <div class="card state state-page" role=${busy ? 'status' : undefined}>
        <h1 data-focus-fallback tabindex="-1">${busy && html`<span class="spinner" aria-hidden="true"></span>`}${title}</h1>
        ${children}
      </div>
    </main>
  `;
}
