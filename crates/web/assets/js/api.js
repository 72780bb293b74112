// The one HTTP client: JSON in and out, cookies for the session, the API's
// {error: {code, message}} turned into ApiError, and one silent refresh on a 401.

import { t } from './i18n.js';

export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.status = status;
    this.code = code;
    // The whole error body: some errors carry more beside `error` (a refused check-in).
    this.body = body;
  }
}

const SIGNED_IN = 'urr.signedIn';
const ACCESS = 'urr.access';

/** Whether this browser believes it has a session worth refreshing. */
export function hasSession() {
  return localStorage.getItem(SIGNED_IN) === '1';
}

/** Keeps what a sign-in or refresh returned: operator calls need it as a bearer token. */
export function rememberSession(reply) {
  localStorage.setItem(SIGNED_IN, '1');
  if (reply?.accessToken) {
    sessionStorage.setItem(ACCESS, JSON.stringify({ token: reply.accessToken, expiresAt: reply.expiresAt }));
  }
}

export function forgetSession() {
  localStorage.removeItem(SIGNED_IN);
  sessionStorage.removeItem(ACCESS);
}

let refreshing = null;

/**
 * Rotates the refresh cookie for a new access token. One at a time per page, and across
 * tabs through a Web Lock: the server revokes a whole session when one refresh token is
 * presented twice.
 */
export function refreshSession() {
  if (!hasSession()) return Promise.resolve(false);
  refreshing ??= (async () => {
    const attempt = async () => {
      try {
        const reply = await request('/api/v1/auth/refresh', { method: 'POST', retry: false });
        rememberSession(reply);
        return true;
      } catch (err) {
        if (err.status === 401) forgetSession();
        return false;
      }
    };
    try {
      return navigator.locks ? await navigator.locks.request('urr-refresh', attempt) : await attempt();
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** An access token for calls that take only `Authorization: Bearer` (the Tier-1 operator). */
export async function bearer() {
  const saved = JSON.parse(sessionStorage.getItem(ACCESS) ?? 'null');
  if (saved && new Date(saved.expiresAt).getTime() - Date.now() > 30_000) return saved.token;
  if (!(await refreshSession())) return null;
  return JSON.parse(sessionStorage.getItem(ACCESS) ?? 'null')?.token ?? null;
}

async function request(path, { method = 'GET', body, headers = {}, retry = true } = {}) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json', ...headers } };
  if (body instanceof Blob) {
    init.headers['content-type'] = body.type || 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', t('error.network'));
  }
  if (response.status === 401 && retry && (await refreshSession())) {
    return request(path, { method, body, headers, retry: false });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = data?.error?.code ?? `http_${response.status}`;
    let message = data?.error?.message ?? response.statusText;
    if (response.status === 429) {
      message = t('error.rateLimited', { s: response.headers.get('retry-after') ?? '?' });
    }
    throw new ApiError(response.status, code, message, data);
  }
  return data;
}

export const api = {
  get: (path, opts) => request(path, { ...opts, method: 'GET' }),
  post: (path, body, opts) => request(path, { ...opts, method: 'POST', body: body ?? {} }),
  put: (path, body, opts) => request(path, { ...opts, method: 'PUT', body }),
  patch: (path, body, opts) => request(path, { ...opts, method: 'PATCH', body }),
  delete: (path, opts) => request(path, { ...opts, method: 'DELETE' }),
  /** Sends a file (a photo) as the raw body, with its own content type. */
  upload: (path, blob, opts) => request(path, { ...opts, method: 'POST', body: blob }),
};

/** A readable sentence for an error, preferring our own wording for known codes. */
export function describe(err) {
  const known = t(`error.${err?.code}`);
  return known !== `error.${err?.code}` ? known : err?.message || t('error.generic');
}
