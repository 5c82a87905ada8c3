import type { JetStreamClient, KV, QueuedIterator, KvEntry } from 'nats';
import { ServiceUnavailableException } from '@nestjs/common';
import { ErrorCodes, RevocationKeys } from '@opsdesk/contracts';

/**
 * In-memory mirror of the revocation KV bucket. Every gateway replica watches the bucket, so a logout,
 * deactivation or role change made anywhere is refused everywhere within milliseconds. Entries older than
 * the longest access-token lifetime are forgotten (the tokens they refuse have expired anyway).
 */
export class RevocationStore {
  private readonly sessions = new Map<string, number>();
  private readonly userCutoffs = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  private watcher: QueuedIterator<KvEntry> | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private initialized = false;
  private stopped = false;
  private rewatchTimer: NodeJS.Timeout | null = null;
  private kv: Pick<KV, 'watch'> | null = null;

  constructor(
    private readonly maxAgeMs: number,
    private readonly rewatchDelayMs = 1000,
  ) {}

  async start(js: Pick<JetStreamClient, 'views'>, bucket: string): Promise<void> {
    this.kv = await js.views.kv(bucket, { history: 1, ttl: this.maxAgeMs });
    await this.watch(5000);
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /**
   * Starts a watch of every key and waits (up to `waitMs`) for the initial values. When the watch ends or
   * fails, the store is not ready (fail closed: the gateway's readiness and authentication refuse) until a new
   * watch has replayed the bucket.
   */
  private async watch(waitMs: number): Promise<void> {
    const kv = this.kv;
    if (!kv || this.stopped) return;
    this.initialized = false;
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => (markReady = r));
    const w = await kv.watch({
      key: '>',
      initializedFn: () => {
        this.initialized = true;
        markReady();
      },
    });
    this.watcher = w;
    void (async () => {
      for await (const e of w) this.applyEntry(e);
    })()
      .catch(() => undefined)
      .finally(() => {
        if (this.stopped || this.watcher !== w) return;
        // the watch is gone: revocations made from now on would be missed, so refuse until watching again
        this.initialized = false;
        this.watcher = null;
        this.scheduleRewatch();
      });
    await Promise.race([ready, new Promise((r) => setTimeout(r, waitMs).unref())]);
  }

  private scheduleRewatch(): void {
    if (this.stopped || this.rewatchTimer) return;
    this.rewatchTimer = setTimeout(() => {
      this.rewatchTimer = null;
      this.watch(5000).catch(() => this.scheduleRewatch());
    }, this.rewatchDelayMs);
    this.rewatchTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.rewatchTimer) clearTimeout(this.rewatchTimer);
  }

  /** true while the bucket's current state is loaded and watched; false before, and while a broken watch is replaced */
  get ready(): boolean {
    return this.initialized;
  }

  /** Fail closed: a credential is not accepted while revocations may be missing (503, retry shortly). */
  assertLoaded(): void {
    if (!this.initialized)
      throw new ServiceUnavailableException({ message: 'Revocations are not loaded yet; retry shortly', code: ErrorCodes.UPSTREAM_UNAVAILABLE, retry_after: 1 });
  }

  private applyEntry(e: KvEntry): void {
    if (e.operation !== 'PUT') {
      this.forget(e.key);
      return;
    }
    let entry: { cutoff_ms?: number } = {};
    try {
      entry = JSON.parse(e.string()) as { cutoff_ms?: number };
    } catch {
      // a malformed value still revokes: fail closed
    }
    this.apply(e.key, entry.cutoff_ms ?? e.created.getTime());
  }

  /** Applies a revocation locally (also used by the replica that served the request, for zero delay). */
  apply(key: string, cutoffOrAt: number = Date.now()): void {
    const [kind, ...rest] = key.split('.');
    const id = rest.join('.');
    if (kind === 'sid') this.sessions.set(id, Date.now());
    else if (kind === 'tok') this.tokens.set(id, Date.now());
    else if (kind === 'user') this.userCutoffs.set(id, Math.max(cutoffOrAt, this.userCutoffs.get(id) ?? 0));
  }

  private forget(key: string): void {
    const [kind, ...rest] = key.split('.');
    const id = rest.join('.');
    if (kind === 'sid') this.sessions.delete(id);
    else if (kind === 'tok') this.tokens.delete(id);
    else if (kind === 'user') this.userCutoffs.delete(id);
  }

  private sweep(): void {
    const limit = Date.now() - this.maxAgeMs;
    for (const m of [this.sessions, this.tokens, this.userCutoffs]) for (const [k, t] of m) if (t < limit) m.delete(k);
  }

  isSessionRevoked(sid: string): boolean {
    return this.sessions.has(sid);
  }

  isTokenRevoked(tokenId: string): boolean {
    return this.tokens.has(tokenId);
  }

  /** True when the user's tokens issued at `issuedAtMs` are no longer valid. */
  isUserCutOff(userId: string, issuedAtMs: number): boolean {
    const cutoff = this.userCutoffs.get(userId);
    return cutoff !== undefined && issuedAtMs <= cutoff;
  }

  static keys = RevocationKeys;
}
