// The one way the pages talk to keyward: same-origin fetch with the session
// cookie, the session kind header and the CSRF token. Errors become ApiError
// carrying the API's own message for people.

export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

const GENERIC = {
  400: 'The request was not accepted.',
  401: 'You are not signed in.',
  403: 'This action is not allowed.',
  404: 'Not found.',
  409: 'This conflicts with the current state; reload and try again.',
  429: 'Too many requests; wait a moment and try again.',
  500: 'keyward had an internal error; try again later.',
  503: 'keyward is unavailable right now; try again in a moment.',
};

// kind: 'portal' | 'console'. onSessionEnd(error) is called for a 401 on any
// call made after the session was loaded.
export function createApi(kind) {
  let csrf = null;
  let onSessionEnd = null;

  async function request(method, path, { body, headers = {}, quiet401 = false } = {}) {
    const h = { 'X-Keyward-Session': kind, ...headers };
    if (csrf) h['X-CSRF-Token'] = csrf;
    const init = { method, credentials: 'same-origin', headers: h, cache: 'no-store' };
    if (body !== undefined) {
      h['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
    }
    const text = await res.text().catch(() => '');
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (res.ok) return data;
    const code = data && typeof data.error === 'string' ? data.error : `http_${res.status}`;
    const message =
      data && typeof data.message === 'string' && data.message
        ? data.message
        : GENERIC[res.status] || `The server answered ${res.status}.`;
    const err = new ApiError(res.status, code, message, data);
    if (res.status === 401 && !quiet401 && onSessionEnd) onSessionEnd(err);
    throw err;
  }

  return {
    kind,
    request,
    get: (p, o) => request('GET', p, o),
    post: (p, body, o = {}) => request('POST', p, { ...o, body }),
    patch: (p, body, o = {}) => request('PATCH', p, { ...o, body }),
    del: (p, body, o = {}) => request('DELETE', p, { ...o, body }),
    setCsrf(token) {
      csrf = token || null;
    },
    onSessionEnd(fn) {
      onSessionEnd = fn;
    },
  };
}

// Every item of a list route, following next_cursor (bounded).
export async function listAll(api, path, maxPages = 50) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api.get(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    items.push(...(page?.data ?? []));
    cursor = page?.next_cursor ?? null;
    if (!cursor) break;
  }
  return items;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
