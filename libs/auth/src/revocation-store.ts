import type { JetStreamClient, KV, QueuedIterator, KvEntry } from 'nats';
import { RevocationKeys } from '@opsdesk/contracts';

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
  private kv: KV | null = null;

  constructor(private readonly maxAgeMs: number) {}

  async start(js: JetStreamClient, bucket: string): Promise<void> {
    this.kv = await js.views.kv(bucket, { history: 1, ttl: this.maxAgeMs });
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => (markReady = r));
    this.watcher = await this.kv.watch({
      key: '>',
      initializedFn: () => {
        this.initialized = true;
        markReady();
      },
    });
    const w = this.watcher;
    void (async () => {
      for await (const e of w) this.applyEntry(e);
    })().catch(() => undefined);
    await Promise.race([ready, new Promise((r) => setTimeout(r, 5000).unref())]);
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  stop(): void {
    this.watcher?.stop();
    if (this.sweeper) clearInterval(this.sweeper);
  }

  get ready(): boolean {
    return this.initialized;
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
