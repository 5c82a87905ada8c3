import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jsonResponse } from '../test/render';
import { ApiError, describeError } from './errors';
import { api } from './http';
import { session } from './session';

const pair = (n: number) => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-token-${n}`,
  token_type: 'bearer' as const,
  expires_in: 900,
});

describe('http data layer', () => {
  let fetchMock: ReturnType<typeof vi.fn>;
  beforeEach(() => {
    sessionStorage.clear();
    session.clear();
    fetchMock = vi.fn();
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it('sends the access token from memory and parses JSON', async () => {
    session.signIn(pair(1));
    fetchMock.mockResolvedValueOnce(jsonResponse(200, { items: [], next_cursor: null }));
    await expect(api('/api/hosts', { query: { q: 'web', tag: ['a', 'b'], empty: '' } })).resolves.toEqual({
      items: [],
      next_cursor: null,
    });
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('/api/hosts?q=web&tag=a&tag=b');
    expect(new Headers(init.headers).get('Authorization')).toBe('Bearer access-1');
    expect(sessionStorage.getItem('opsdesk.refresh')).toBe('refresh-token-1'); // the refresh token survives a reload; the access token does not
    expect(JSON.stringify(sessionStorage)).not.toContain('access-1');
  });

  it('turns problem+json into an error with field errors, request id and a readable message', async () => {
    session.signIn(pair(1));
    fetchMock.mockResolvedValueOnce(
      jsonResponse(400, {
        title: 'Bad Request',
        status: 400,
        detail: 'Validation failed',
        code: 'VALIDATION.FAILED',
        request_id: 'req-1',
        errors: [{ field: 'ip', message: 'must be an IPv4 or IPv6 address' }],
      }),
    );
    const err = (await api('/api/hosts', { method: 'POST', body: {} }).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('VALIDATION.FAILED');
    expect(err.fieldError('ip')).toBe('must be an IPv4 or IPv6 address');
    expect(err.requestId).toBe('req-1');
    expect(describeError(err)).toBe('Validation failed');
  });

  it('says how long to wait on 429', async () => {
    fetchMock.mockResolvedValueOnce(
      jsonResponse(
        429,
        { status: 429, code: 'GATEWAY.RATE_LIMITED', detail: 'Too many requests' },
        { 'retry-after': '42' },
      ),
    );
    const err = await api('/api/auth/login', { method: 'POST', body: {}, anonymous: true }).catch(
      (e: unknown) => e,
    );
    expect(describeError(err)).toBe('Too many attempts. Try again in 42 seconds.');
  });

  it('refreshes once on 401 (single flight for parallel requests) and retries', async () => {
    session.signIn(pair(1));
    let refreshes = 0;
    fetchMock.mockImplementation(async (url: string, init: RequestInit) => {
      if (url === '/api/auth/refresh') {
        refreshes++;
        expect(JSON.parse(init.body as string)).toEqual({ refresh_token: 'refresh-token-1' });
        return jsonResponse(200, pair(2));
      }
      const auth = new Headers(init.headers).get('Authorization');
      return auth === 'Bearer access-2'
        ? jsonResponse(200, { ok: true })
        : jsonResponse(401, { status: 401, code: 'AUTH.INVALID_TOKEN' });
    });
    const results = await Promise.all([api('/api/a'), api('/api/b'), api('/api/c')]);
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(refreshes).toBe(1); // refresh tokens are single-use: a second exchange would revoke the session
    expect(session.accessToken).toBe('access-2');
  });

  it('marks the session expired when the refresh is refused', async () => {
    session.signIn(pair(1));
    const states: string[] = [];
    const off = session.subscribe((s) => states.push(s));
    fetchMock.mockImplementation(async (url: string) =>
      url === '/api/auth/refresh'
        ? jsonResponse(401, { status: 401, code: 'AUTH.REFRESH_TOKEN_REUSED' })
        : jsonResponse(401, { status: 401, code: 'AUTH.TOKEN_REVOKED' }),
    );
    const err = (await api('/api/hosts').catch((e: unknown) => e)) as ApiError;
    off();
    expect(err.kind).toBe('session_expired');
    expect(states).toEqual(['expired']);
    expect(session.hasRefreshToken()).toBe(false);
  });

  it('a lost connection during refresh does not end the session', async () => {
    session.signIn(pair(1));
    fetchMock.mockImplementation(async (url: string) => {
      if (url === '/api/auth/refresh') throw new TypeError('Failed to fetch');
      return jsonResponse(401, { status: 401 });
    });
    const err = (await api('/api/hosts').catch((e: unknown) => e)) as ApiError;
    expect(err.kind).toBe('network');
    expect(session.state).toBe('authenticated');
    expect(session.hasRefreshToken()).toBe(true);
  });

  it('reports timeouts and offline as such', async () => {
    fetchMock.mockImplementation(
      (_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) =>
          init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
        ),
    );
    const timeout = (await api('/api/slow', { timeoutMs: 20, anonymous: true }).catch(
      (e: unknown) => e,
    )) as ApiError;
    expect(timeout.kind).toBe('timeout');
    expect(describeError(timeout)).toMatch(/took too long/);

    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'));
    const online = vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false);
    const offline = (await api('/api/x', { anonymous: true }).catch((e: unknown) => e)) as ApiError;
    online.mockRestore();
    expect(offline.kind).toBe('offline');
    expect(describeError(offline)).toMatch(/offline/);
  });
});
