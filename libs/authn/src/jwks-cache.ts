import type { KeyObject } from 'node:crypto';
import type { Ed25519PublicJwk, JwkSet } from '@opsdesk/contracts';
import { publicKeyFromJwk } from './jwt';

export interface JwksCacheOptions {
  /** asks auth for its key set (over RPC in the gateway) */
  fetch: () => Promise<JwkSet>;
  /** periodic refresh: picks up keys auth added and drops keys it withdrew */
  refreshIntervalMs: number;
  /**
   * At most one refresh per this many ms is caused by tokens naming an unknown kid, so a stream of
   * made-up kids costs auth at most one RPC per interval: a lookup inside the gap waits for the next
   * allowed refresh (shared by every lookup waiting) rather than failing, so a token signed with a key auth
   * has just rotated to is never refused because another refresh happened a moment before.
   */
  minRefreshGapMs?: number;
  /** retry pace until the first set is loaded */
  retryMs?: number;
  onError?: (err: unknown) => void;
  now?: () => number;
}

/**
 * The verifier's copy of auth's public keys (the gateway never holds a private key). Loaded at boot,
 * refreshed periodically, and at once (rate-limited) when a token names a kid it has not seen: that is
 * how a key auth just rotated to is picked up. A refresh replaces the set, so a key auth stops publishing
 * stops verifying (withdrawing a compromised key); rotated-out keys stay published until their tokens expire.
 */
export class JwksCache {
  private keys = new Map<string, KeyObject>();
  private published: Ed25519PublicJwk[] = [];
  private loaded = false;
  private inflight: Promise<void> | null = null;
  private scheduled: Promise<void> | null = null;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly opts: JwksCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * true once a set with at least one usable key has been fetched: an empty set verifies nothing (auth on an
   * HS* JWT_ALGORITHM while this verifier expects EdDSA), so readiness must not claim otherwise.
   */
  get ready(): boolean {
    return this.loaded && this.keys.size > 0;
  }

  /** First fetch (awaited, never throws: failures are retried in the background), then periodic refreshes. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh().catch((err: unknown) => this.opts.onError?.(err));
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.loaded ? this.opts.refreshIntervalMs : (this.opts.retryMs ?? 1000);
    this.timer = setTimeout(() => {
      void this.refresh()
        .catch((err: unknown) => this.opts.onError?.(err))
        .finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }

  /** Fetches the set now (joins a refresh already under way). */
  refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    this.lastAttempt = this.now();
    this.inflight = (async () => {
      try {
        const set = await this.opts.fetch();
        if (!set || !Array.isArray(set.keys)) throw new Error('JWKS answer has no keys array');
        const next = new Map<string, KeyObject>();
        const published: Ed25519PublicJwk[] = [];
        for (const jwk of set.keys) {
          try {
            const { kid, key } = publicKeyFromJwk(jwk);
            next.set(kid, key);
            published.push(jwk);
          } catch (err) {
            // one bad entry must not take the others down; it is reported and ignored
            this.opts.onError?.(err);
          }
        }
        this.keys = next;
        this.published = published;
        this.loaded = true;
        if (next.size === 0) this.opts.onError?.(new Error('auth publishes no access-token key: is auth on an HS* JWT_ALGORITHM?'));
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }

  /** The public key for a kid; an unknown kid triggers a rate-limited refresh first. */
  async keyFor(kid: string): Promise<KeyObject | null> {
    const known = this.keys.get(kid);
    if (known) return known;
    await this.refreshSoon().catch((err: unknown) => this.opts.onError?.(err));
    return this.keys.get(kid) ?? null;
  }

  /** The refresh under way, else the next one the gap allows (one shared timer however many callers wait). */
  private refreshSoon(): Promise<void> {
    if (this.inflight) return this.inflight;
    if (this.scheduled) return this.scheduled;
    const wait = (this.opts.minRefreshGapMs ?? 1000) - (this.now() - this.lastAttempt);
    if (wait <= 0) return this.refresh();
    this.scheduled = new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => {
      this.scheduled = null;
      return this.refresh();
    });
    return this.scheduled;
  }

  /** The set as last fetched (what the gateway re-publishes at /api/auth/jwks.json). */
  jwks(): JwkSet {
    return { keys: [...this.published] };
  }

  kids(): string[] {
    return [...this.keys.keys()];
  }
}
