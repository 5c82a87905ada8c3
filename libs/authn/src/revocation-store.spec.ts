import { RevocationStore } from './revocation-store';

describe('RevocationStore (local state)', () => {
  it('revokes sessions, tokens and applies user cut-offs by issue time', () => {
    const s = new RevocationStore(3600_000);
    s.apply('sid.abc');
    s.apply('tok.t1');
    s.apply('user.u1', 1000);
    expect(s.isSessionRevoked('abc')).toBe(true);
    expect(s.isSessionRevoked('other')).toBe(false);
    expect(s.isTokenRevoked('t1')).toBe(true);
    expect(s.isUserCutOff('u1', 999)).toBe(true);
    expect(s.isUserCutOff('u1', 1000)).toBe(true);
    expect(s.isUserCutOff('u1', 1001)).toBe(false);
    expect(s.isUserCutOff('u2', 1)).toBe(false);
  });

  it('keeps the latest cut-off', () => {
    const s = new RevocationStore(3600_000);
    s.apply('user.u1', 2000);
    s.apply('user.u1', 1000);
    expect(s.isUserCutOff('u1', 1500)).toBe(true);
  });
});

/**
 * A stand-in for the NATS KV watch (pure logic under test: what the store does when its watch ends). The real
 * bucket is exercised by the e2e suites (logout, deactivation and role change across gateway replicas).
 */
class FakeWatch implements AsyncIterable<{ key: string; operation: string; string(): string; created: Date }> {
  private ended = false;
  private wake: (() => void) | null = null;
  constructor(
    private readonly entries: string[],
    readonly initializedFn: () => void,
  ) {}
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  stop(): void {
    this.end();
  }
  async *[Symbol.asyncIterator]() {
    for (const key of this.entries) yield { key, operation: 'PUT', string: () => '{}', created: new Date() };
    this.initializedFn();
    while (!this.ended) await new Promise<void>((r) => (this.wake = r));
  }
}

describe('RevocationStore (watch lifecycle, fail closed)', () => {
  it('is not ready before the bucket is loaded, and a broken watch makes it not ready until a new watch replays the bucket', async () => {
    const watches: FakeWatch[] = [];
    let entries = ['sid.s1'];
    const kv = {
      watch: async (o: { initializedFn: () => void }) => {
        const w = new FakeWatch(entries, o.initializedFn);
        watches.push(w);
        return w;
      },
    };
    const js = { views: { kv: async () => kv } } as unknown as Parameters<RevocationStore['start']>[0];
    const s = new RevocationStore(3600_000, 10);
    expect(s.ready).toBe(false);
    expect(() => s.assertLoaded()).toThrow(/not loaded/);
    await s.start(js, 'B');
    expect(s.ready).toBe(true);
    expect(s.isSessionRevoked('s1')).toBe(true);
    expect(() => s.assertLoaded()).not.toThrow();

    entries = ['sid.s1', 'sid.s2']; // revoked while the watch was broken
    watches[0].end();
    await new Promise((r) => setImmediate(r));
    expect(s.ready).toBe(false);
    expect(() => s.assertLoaded()).toThrow(expect.objectContaining({ status: 503 }));

    const deadline = Date.now() + 5000;
    while (!s.ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(s.ready).toBe(true);
    expect(watches).toHaveLength(2);
    expect(s.isSessionRevoked('s2')).toBe(true);
    s.stop();
  });
});
