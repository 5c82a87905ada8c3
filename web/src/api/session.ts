import type { TokenPair } from '@opsdesk/contracts';

/**
 * The session: the access token lives in memory only (never in storage a script could read after the tab is
 * closed); the refresh token is kept in sessionStorage so a reload of the tab stays signed in. Refresh tokens
 * are single-use (a replay revokes the session), so a refresh is single-flight.
 */
export type SessionState = 'anonymous' | 'authenticated' | 'expired';

const REFRESH_KEY = 'opsdesk.refresh';
const REFRESH_EARLY_MS = 30_000;

type Listener = (state: SessionState) => void;

let accessToken: string | null = null;
let accessExpiresAt = 0;
let state: SessionState = 'anonymous';
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<Listener>();

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // storage disabled by the browser: the session lasts as long as the page
  }
}

function setState(next: SessionState): void {
  if (state === next) return;
  state = next;
  for (const l of listeners) l(next);
}

export const session = {
  get state(): SessionState {
    return state;
  },
  get accessToken(): string | null {
    return accessToken;
  },
  hasRefreshToken(): boolean {
    return !!storage()?.getItem(REFRESH_KEY);
  },
  /** The access token expires within REFRESH_EARLY_MS (long uploads refresh first). */
  expiresSoon(now = Date.now()): boolean {
    return !accessToken || accessExpiresAt - now < REFRESH_EARLY_MS;
  },
  signIn(pair: TokenPair): void {
    accessToken = pair.access_token;
    accessExpiresAt = Date.now() + pair.expires_in * 1000;
    storage()?.setItem(REFRESH_KEY, pair.refresh_token);
    setState('authenticated');
  },
  /** Forget everything (sign-out). */
  clear(): void {
    accessToken = null;
    accessExpiresAt = 0;
    storage()?.removeItem(REFRESH_KEY);
    setState('anonymous');
  },
  /** The server refused the session (refresh failed): keep the user on their page and ask to sign in again. */
  expire(): void {
    accessToken = null;
    accessExpiresAt = 0;
    storage()?.removeItem(REFRESH_KEY);
    setState('expired');
  },
  subscribe(fn: Listener): () => void {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
  /**
   * Exchanges the stored refresh token for a new pair; concurrent callers share one exchange. Resolves false
   * when there is no refresh token or the server refuses it (exchange resolves null); a network failure
   * rejects, so being offline never ends a session.
   */
  refresh(exchange: (refreshToken: string) => Promise<TokenPair | null>): Promise<boolean> {
    if (refreshing) return refreshing;
    const token = storage()?.getItem(REFRESH_KEY);
    if (!token) return Promise.resolve(false);
    refreshing = exchange(token)
      .then((pair) => {
        if (!pair) return false;
        session.signIn(pair);
        return true;
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  },
};
