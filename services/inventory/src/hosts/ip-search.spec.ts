import { INDEXED_ALIGNMENTS, MAX_IP_RANGES, ipv4RangesContaining, ipv4Text, mayBeInIpv6Text } from './ip-search';

function inRanges(addr: number, r: NonNullable<ReturnType<typeof ipv4RangesContaining>>): boolean {
  return r.some(({ alignment, ranges }) => {
    const low = addr % 256 ** (4 - alignment);
    return ranges.some(([a, b]) => low >= a && low <= b);
  });
}

/** Addresses around every range edge, plus random ones and ones built to contain the term at each position. */
function probes(term: string, r: NonNullable<ReturnType<typeof ipv4RangesContaining>>, rnd: () => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 3000; i++) out.push(Math.floor(rnd() * 2 ** 32));
  for (const { alignment, ranges } of r)
    for (const [a, b] of ranges)
      for (const low of [a - 1, a, a + 1, b - 1, b, b + 1])
        for (let hi = 0; hi < 8; hi++) {
          const span = 256 ** (4 - alignment);
          if (low < 0 || low >= span) continue;
          out.push(Math.floor(rnd() * 256 ** alignment) * span + low);
        }
  // texts containing the term at a random place, when such an address exists
  for (let i = 0; i < 3000; i++) {
    const o = [0, 0, 0, 0].map(() => Math.floor(rnd() * 256));
    const text = o.join('.');
    const at = Math.floor(rnd() * text.length);
    const candidate = text.slice(0, at) + term + text.slice(at + term.length);
    const parts = candidate.split('.');
    if (parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255))
      out.push(parts.reduce((n, p) => n * 256 + Number(p), 0));
  }
  return out;
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('ipv4RangesContaining', () => {
  it('turns an address prefix into the few /24s whose text contains it', () => {
    expect(ipv4RangesContaining('10.0.42.')).toEqual([
      {
        alignment: 0,
        ranges: [
          [167782912, 167783167], // 10.0.42.0 – 10.0.42.255
          [1845504512, 1845504767], // 110.0.42.0/24
          [3523226112, 3523226367], // 210.0.42.0/24
        ],
      },
    ]);
    expect(ipv4Text(167782912)).toBe('10.0.42.0');
  });

  it.each([
    '10.0.42.', '10.0.42', '10.0.42.1', '10.0.', '10.0', '192.168.', '192.168', '0.42.', '4.2', '1.2.3.4', '255.255.255.255', '.', '..', '...', '.1.', '1.',
    '.0', '9.9.', '256.1', '01.2', '1.02', '1..2', '0.0.0.0', '00.', '100.200.', '25.25', '1.2.3.4.5', '2.5.5.', '200.1',
  ])('%p: an address is in the ranges exactly when its text contains the term', (term) => {
    const r = ipv4RangesContaining(term);
    if (r === null) return; // searched as text: nothing to compare
    const rnd = seeded(term.length * 7919 + term.charCodeAt(0));
    for (const addr of probes(term, r, rnd)) expect([ipv4Text(addr), inRanges(addr, r)]).toEqual([ipv4Text(addr), ipv4Text(addr).includes(term)]);
    expect(r.every(({ alignment }) => (INDEXED_ALIGNMENTS as readonly number[]).includes(alignment))).toBe(true);
    expect(r.reduce((n, x) => n + x.ranges.length, 0)).toBeLessThanOrEqual(MAX_IP_RANGES);
  });

  it('gives up (text search) where the set is not a few ranges, and answers [] where no IPv4 text fits', () => {
    expect(ipv4RangesContaining('42')).toBeNull(); // digits alone: any octet
    expect(ipv4RangesContaining('.42.')).toBeNull(); // 256 first octets × …
    expect(ipv4RangesContaining('rack')).toEqual([]);
    expect(ipv4RangesContaining('1.2.3.4.5')).toEqual([]);
    expect(ipv4RangesContaining('256.1.')).toEqual([]);
  });

  it('IPv6 text: hex digits, colons and dots only', () => {
    expect(mayBeInIpv6Text('2001:db8::')).toBe(true);
    expect(mayBeInIpv6Text('10.0.42.')).toBe(true); // ::ffff:10.0.42.1
    expect(mayBeInIpv6Text('rack')).toBe(false);
  });
});
