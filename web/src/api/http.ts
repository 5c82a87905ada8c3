import type { TokenPair } from '@opsdesk/contracts';
import { ApiError, problemFromResponse } from './errors';
import { session } from './session';

/**
 * The one place the console talks HTTP. JSON in and out; bearer token from the session; on a 401 one silent
 * refresh and one retry; a refused refresh marks the session expired (the app then asks to sign in again and
 * returns to the page). Timeouts and lost connections become ApiErrors a person can read.
 */
export const DEFAULT_TIMEOUT_MS = 20_000;

export type Query = Record<string, string | number | boolean | null | undefined | string[]>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  /** JSON-encoded unless it is a string, Blob or FormData */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** no bearer token, no refresh (login, refresh itself) */
  anonymous?: boolean;
  /** the body as a Blob (downloads), not parsed */
  raw?: boolean;
}

export interface ApiResponse<T> {
  data: T;
  status: number;
  headers: Headers;
}

export function buildUrl(path: string, query?: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const item of v) p.append(k, item);
    else p.set(k, String(v));
  }
  const qs = p.toString();
  return qs ? `${path}?${qs}` : path;
}

function encodeBody(body: unknown, headers: Headers): BodyInit | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Blob || body instanceof FormData) return body;
  headers.set('Content-Type', 'application/json');
  return JSON.stringify(body);
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined;
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (!text) return undefined;
  if (type.includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function offline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

async function send<T>(path: string, opts: RequestOptions): Promise<ApiResponse<T>> {
  const headers = new Headers(opts.headers);
  headers.set('Accept', headers.get('Accept') ?? 'application/json, application/problem+json');
  if (!opts.anonymous && session.accessToken) headers.set('Authorization', `Bearer ${session.accessToken}`);
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const onAbort = () => ctrl.abort();
  opts.signal?.addEventListener('abort', onAbort);
  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method: opts.method ?? 'GET',
      headers,
      body: encodeBody(opts.body, headers),
      signal: ctrl.signal,
    });
  } catch (err) {
    if (timedOut) throw new ApiError({ kind: 'timeout' });
    if (opts.signal?.aborted) throw new ApiError({ kind: 'aborted' });
    throw new ApiError({
      kind: offline() ? 'offline' : 'network',
      detail: err instanceof Error ? err.message : null,
    });
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (res.ok && opts.raw) return { data: (await res.blob()) as T, status: res.status, headers: res.headers };
  const body = await readBody(res);
  if (!res.ok) throw problemFromResponse(res.status, res.headers, body);
  return { data: body as T, status: res.status, headers: res.headers };
}

/** POST /api/auth/refresh; null when the server refuses the token (expired, reused, revoked). */
async function exchangeRefresh(refreshToken: string): Promise<TokenPair | null> {
  try {
    return (
      await send<TokenPair>('/api/auth/refresh', {
        method: 'POST',
        body: { refresh_token: refreshToken },
        anonymous: true,
      })
    ).data;
  } catch (err) {
    if (err instanceof ApiError && err.kind === 'problem' && (err.status === 400 || err.status === 401))
      return null;
    throw err;
  }
}

/** Silent refresh; true when a new access token is in memory. */
export function refreshSession(): Promise<boolean> {
  return session.refresh(exchangeRefresh);
}

/** Refreshes first when the access token is about to expire (before long uploads). */
export async function ensureFreshToken(): Promise<void> {
  if (session.expiresSoon() && session.hasRefreshToken()) await refreshSession();
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
  try {
    return await send<T>(path, opts);
  } catch (err) {
    if (opts.anonymous || !(err instanceof ApiError) || err.status !== 401) throw err;
    // the access token expired or was revoked: one silent refresh, then the same request once more
    if (await refreshSession()) return send<T>(path, opts);
    if (session.state !== 'anonymous') session.expire();
    throw new ApiError({
      kind: 'session_expired',
      status: 401,
      code: err.code,
      detail: err.detail,
      requestId: err.requestId,
    });
  }
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  return (await request<T>(path, opts)).data;
}
