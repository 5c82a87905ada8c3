import { generateKeyPairSync } from 'node:crypto';
import type { JwkSet } from '@opsdesk/contracts';
import { waitFor } from '@opsdesk/testing';
import { JwksCache } from './jwks-cache';
import { ed25519PublicJwk } from './jwt';

const jwk = () => ed25519PublicJwk(generateKeyPairSync('ed25519').publicKey);

/** Pure logic: a fake clock and an in-memory key set stand in for time and for auth. */
function setup(initial: JwkSet) {
  let set = initial;
  let clock = 1_000_000;
  let fetches = 0;
  let failing = false;
  const cache = new JwksCache({
    fetch: async () => {
      fetches++;
      if (failing) throw new Error('auth unreachable');
      return set;
    },
    refreshIntervalMs: 300_000,
    minRefreshGapMs: 1000,
    now: () => clock,
  });
  return {
    cache,
    publish: (s: JwkSet) => (set = s),
    advance: (ms: number) => (clock += ms),
    fetches: () => fetches,
    fail: (f: boolean) => (failing = f),
  };
}

describe('JwksCache', () => {
  const a = jwk();
  const b = jwk();
  let t: ReturnType<typeof setup>;

  afterEach(() => t.cache.stop());

  it('loads at start and serves known kids without asking again', async () => {
    t = setup({ keys: [a] });
    expect(t.cache.ready).toBe(false);
    await t.cache.start();
    expect(t.cache.ready).toBe(true);
    expect(await t.cache.keyFor(a.kid)).not.toBeNull();
    expect(await t.cache.keyFor(a.kid)).not.toBeNull();
    expect(t.fetches()).toBe(1);
    expect(t.cache.jwks()).toEqual({ keys: [a] });
  });

  it('an unknown kid triggers a refresh (picks up a key auth rotated to)', async () => {
    t = setup({ keys: [a] });
    await t.cache.start();
    t.publish({ keys: [b, a] });
    t.advance(1000);
    expect(await t.cache.keyFor(b.kid)).not.toBeNull();
    expect(t.fetches()).toBe(2);
  });

  it('made-up kids cost at most one refresh per gap; a lookup inside the gap waits for it instead of failing', async () => {
    let fetches = 0;
    let set: JwkSet = { keys: [a] };
    const cache = new JwksCache({ fetch: async () => (fetches++, set), refreshIntervalMs: 300_000, minRefreshGapMs: 300 });
    t = { cache } as ReturnType<typeof setup>;
    await cache.start();
    const started = Date.now();
    const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => cache.keyFor(`made-up-${i}`)));
    expect(flood.every((k) => k === null)).toBe(true);
    expect(fetches).toBe(2); // the boot fetch, then one shared refresh for the 50 lookups
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // it waited for the gap
    // right after that refresh auth rotates: the new kid is found by the next allowed refresh, not refused
    set = { keys: [b, a] };
    expect(await cache.keyFor(b.kid)).not.toBeNull();
    expect(fetches).toBe(3);
  });

  it('concurrent lookups of an unknown kid share one fetch', async () => {
    t = setup({ keys: [a] });
    await t.cache.start();
    t.publish({ keys: [a, b] });
    t.advance(5000);
    const found = await Promise.all(Array.from({ length: 20 }, () => t.cache.keyFor(b.kid)));
    expect(found.every((k) => k !== null)).toBe(true);
    expect(t.fetches()).toBe(2);
  });

  it('a refresh replaces the set: a key auth withdrew stops verifying', async () => {
    t = setup({ keys: [a, b] });
    await t.cache.start();
    t.publish({ keys: [b] });
    await t.cache.refresh();
    expect(t.cache.kids()).toEqual([b.kid]);
    expect(await t.cache.keyFor(b.kid)).not.toBeNull();
  });

  it('keeps the last good set when auth cannot be reached, and is not ready before a first load', async () => {
    t = setup({ keys: [a] });
    t.fail(true);
    await t.cache.start(); // never throws
    expect(t.cache.ready).toBe(false);
    expect(await t.cache.keyFor(a.kid)).toBeNull();
    t.fail(false);
    t.advance(1000);
    expect(await t.cache.keyFor(a.kid)).not.toBeNull();
    t.fail(true);
    await expect(t.cache.refresh()).rejects.toThrow('auth unreachable');
    expect(t.cache.ready).toBe(true);
    expect(await t.cache.keyFor(a.kid)).not.toBeNull();
  });

  it('re-reads the set periodically without any lookup (picks up added keys, drops withdrawn ones), and retries until a first load', async () => {
    let set: JwkSet = { keys: [a] };
    let failing = true;
    const cache = new JwksCache({
      fetch: async () => {
        if (failing) throw new Error('auth not up yet');
        return set;
      },
      refreshIntervalMs: 50,
      retryMs: 20,
    });
    t = { cache } as ReturnType<typeof setup>;
    await cache.start();
    expect(cache.ready).toBe(false);
    failing = false;
    await waitFor(() => cache.ready, { timeoutMs: 2000, intervalMs: 10, what: 'first load by the retry timer' });
    expect(cache.kids()).toEqual([a.kid]);
    set = { keys: [b] };
    await waitFor(() => cache.kids().join() === b.kid, { timeoutMs: 2000, intervalMs: 10, what: 'periodic refresh' });
  });

  it('an empty set (auth on HS*) is not ready and is reported', async () => {
    const errors: unknown[] = [];
    const cache = new JwksCache({ fetch: async () => ({ keys: [] }), refreshIntervalMs: 300_000, onError: (e) => errors.push(e) });
    t = { cache } as ReturnType<typeof setup>;
    await cache.start();
    expect(cache.ready).toBe(false);
    expect(String(errors[0])).toMatch(/publishes no access-token key/);
  });

  it('ignores an entry whose kid is not its key thumbprint, keeping the others', async () => {
    const errors: unknown[] = [];
    const cache = new JwksCache({ fetch: async () => ({ keys: [a, { ...b, kid: a.kid }] }), refreshIntervalMs: 300_000, onError: (e) => errors.push(e) });
    t = { cache } as ReturnType<typeof setup>;
    await cache.start();
    expect(cache.kids()).toEqual([a.kid]);
    expect(errors).toHaveLength(1);
  });
});
