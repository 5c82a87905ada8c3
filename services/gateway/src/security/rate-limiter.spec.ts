import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows the burst, then refuses with a Retry-After until tokens refill', () => {
    let now = 0;
    const rl = new RateLimiter(5, 5, () => now);
    for (let i = 0; i < 5; i++) expect(rl.take('ip')).toBe(0);
    expect(rl.take('ip')).toBe(12); // one token every 12 s at 5/min
    now += 12_000;
    expect(rl.take('ip')).toBe(0);
    expect(rl.take('ip')).toBeGreaterThan(0);
  });

  it('keeps keys apart', () => {
    const rl = new RateLimiter(1, 1, () => 0);
    expect(rl.take('a')).toBe(0);
    expect(rl.take('b')).toBe(0);
    expect(rl.take('a')).toBe(60);
  });
});

describe('RateLimiter.peek and refund', () => {
  it('peek does not take; refund gives a token back, never above the burst', () => {
    const rl = new RateLimiter(2, 2, () => 0);
    expect(rl.peek('a')).toBe(0);
    expect(rl.take('a')).toBe(0);
    expect(rl.take('a')).toBe(0);
    expect(rl.peek('a')).toBe(30);
    rl.refund('a');
    expect(rl.peek('a')).toBe(0);
    rl.refund('a');
    rl.refund('a');
    expect(rl.take('a')).toBe(0);
    expect(rl.take('a')).toBe(0);
    expect(rl.take('a')).toBe(30);
  });
});
