// The console's only way to the server: fetch() against the public API with the bearer token.
// Tokens live in sessionStorage (gone when the tab closes, not shared with other tabs).
// On a 401 the access token is refreshed once with the refresh token and the request retried;
// if that fails too the session is dropped and the app goes back to the login form.

const STORAGE_KEY = 'opsdesk.session';

/** An API error: a problem+json document (RFC 9457) turned into an Error. */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem && problem.code;
    this.requestId = problem && problem.request_id;
    this.errors = (problem && problem.errors) || [];
    /** seconds from the Retry-After header (429), or null */
    this.retryAfter = retryAfter;
  }
}

/** @returns {{access_token: string, refresh_token: string} | null} */
export function getSession() {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function saveSession(pair) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ access_token: pair.access_token, refresh_token: pair.refresh_token }));
}

export function clearSession() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Called when the session is gone for good (refresh failed): the app shows the login form. */
let onSessionLost = () => {};
export function setSessionLostHandler(fn) {
  onSessionLost = fn;
}

/** Builds a query string from an object, skipping empty values. */
export function query(params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `?${s}` : '';
}

async function send(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
}

async function parse(res) {
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : null;
  if (res.ok) return data;
  const retry = Number(res.headers.get('Retry-After'));
  throw new ApiError(res.status, data, Number.isFinite(retry) && retry > 0 ? retry : null);
}

// One refresh at a time: a refresh token is single-use (reusing one revokes the session), so
// concurrent 401s must all wait for the same refresh instead of each sending the old token.
let refreshing = null;
function refreshOnce(refreshToken) {
  if (!refreshing) {
    refreshing = send('POST', '/api/auth/refresh', { refresh_token: refreshToken })
      .then(parse)
      .then((pair) => {
        saveSession(pair);
        return pair;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** An authenticated API call; resolves with the JSON body (null for 204), rejects with ApiError. */
export async function api(method, path, body) {
  const session = getSession();
  if (!session) {
    onSessionLost();
    throw new ApiError(401, { detail: 'Not signed in', code: 'AUTH.UNAUTHENTICATED' }, null);
  }
  const res = await send(method, path, body, session.access_token);
  if (res.status !== 401) return parse(res);
  // expired (or revoked) access token: try the refresh token once
  let pair;
  try {
    const current = getSession();
    // another call may have refreshed meanwhile: then just use its new token
    pair = current && current.access_token !== session.access_token ? current : await refreshOnce(session.refresh_token);
  } catch (err) {
    if (err instanceof ApiError && err.status >= 500) throw err; // server trouble: keep the session
    return sessionLost();
  }
  const retried = await send(method, path, body, pair.access_token);
  if (retried.status === 401) return sessionLost();
  return parse(retried);
}

function sessionLost() {
  clearSession();
  onSessionLost();
  throw new ApiError(401, { detail: 'Your session has ended. Please sign in again.', code: 'AUTH.UNAUTHENTICATED' }, null);
}

/** Login (no token): {email, password, totp_code?} → stores the token pair. */
export async function login(email, password, totpCode) {
  const body = { email, password };
  if (totpCode) body.totp_code = totpCode;
  const pair = await parse(await send('POST', '/api/auth/login', body));
  saveSession(pair);
  return pair;
}

/** Ends the session on the server (best effort) and forgets the tokens. */
export async function logout() {
  const session = getSession();
  if (session) await send('POST', '/api/auth/logout', undefined, session.access_token).catch(() => undefined);
  clearSession();
}
