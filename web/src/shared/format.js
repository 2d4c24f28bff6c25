// Dates, counts and key prefixes as people read them.

const DAY_MS = 86_400_000;

export function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function formatDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function relative(iso, now = Date.now()) {
  if (!iso) return '';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const s = Math.round((now - t) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86400);
  return d === 1 ? 'yesterday' : `${d} days ago`;
}

export function formatCount(n) {
  return typeof n === 'number' ? n.toLocaleString() : '—';
}

export function shortPrefix(key) {
  return key.short_prefix ? `${key.short_prefix}…` : '';
}

// Unused for 30 days or more: never used and created 30+ days ago, or last
// used 30+ days ago. Only keys that still work can be "unused".
export function isStale(key, now = Date.now()) {
  if (key.status === 'revoked' || key.status === 'expired') return false;
  const since = key.last_used_at ?? key.created_at;
  if (!since) return false;
  const t = new Date(since).getTime();
  return !Number.isNaN(t) && now - t >= 30 * DAY_MS;
}

// An RFC 3339 UTC time on a whole second.
export function rfc3339(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function daysFromNow(days) {
  return rfc3339(new Date(Date.now() + days * DAY_MS));
}

export const STATUS_LABEL = {
  active: 'Active',
  revoked: 'Revoked',
  expired: 'Expired',
  disabled: 'Disabled',
};
