import { INDEXED_ALIGNMENTS, MAX_IP_RANGES, ipv4RangesContaining, ipv4Text, mayBeInIpv6Text } from './ip-search';

function inRanges(term: string, addr: number, r: NonNullable<ReturnType<typeof ipv4RangesContaining>>): boolean {
  return r.some(({ alignment, ranges, recheck }) => {
    const low = addr % 256 ** (4 - alignment);
    return ranges.some(([a, b]) => low >= a && low <= b) && (!recheck || ipv4Text(addr).includes(term));
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
        recheck: false,
      },
    ]);
    expect(ipv4Text(167782912)).toBe('10.0.42.0');
  });

  it.each([
    '10.0.42.', '10.0.42', '10.0.42.1', '10.0.', '10.0', '192.168.', '192.168', '0.42.', '4.2', '1.2.3.4', '255.255.255.255', '.', '..', '...', '.1.', '1.',
    '.0', '9.9.', '256.1', '0.42.7', '0.0.7', '5.5.5', '01.2', '1.02', '1..2', '0.0.0.0', '00.', '100.200.', '25.25', '1.2.3.4.5', '2.5.5.', '200.1',
  ])('%p: an address is in the ranges exactly when its text contains the term', (term) => {
    const r = ipv4RangesContaining(term);
    if (r === null) return; // searched as text: nothing to compare
    const rnd = seeded(term.length * 7919 + term.charCodeAt(0));
    const wrong = probes(term, r, rnd)
      .filter((addr) => inRanges(term, addr, r) !== ipv4Text(addr).includes(term))
      .map(ipv4Text);
    expect(wrong).toEqual([]);
    expect(r.every(({ alignment }) => (INDEXED_ALIGNMENTS as readonly number[]).includes(alignment))).toBe(true);
    expect(r.reduce((n, x) => n + x.ranges.length, 0)).toBeLessThanOrEqual(MAX_IP_RANGES);
  });

  it('leaves leading octets free when they have too many values, gives up (text search) past the indexed alignments, and answers [] where no IPv4 text fits', () => {
    expect(ipv4RangesContaining('42')).toBeNull(); // digits alone: any octet
    // octet 2 or 3 is 42: exact ranges on the low-24 / low-16 bits
    expect(ipv4RangesContaining('.42.')).toEqual([
      { alignment: 1, ranges: [[2752512, 2818047]], recheck: false },
      { alignment: 2, ranges: [[10752, 11007]], recheck: false },
    ]);
    expect(ipv4RangesContaining('.42')).toBeNull(); // x.x.x.42 too: the last octet has no index
    // "ends with 0" then 42 then "starts with 7": 26 × 2 ranges per alignment, so octet 1 (2) is left free and
    // the low-24 (low-16) bits are ranged, with the text rechecked
    expect(ipv4RangesContaining('0.42.7')).toEqual([
      { alignment: 1, ranges: [[2754304, 2754559], [2770432, 2772991]], recheck: true }, // x.42.7.*, x.42.70–79.*
      { alignment: 2, ranges: [[10759, 10759], [10822, 10831]], recheck: true }, // x.x.42.7, x.x.42.70–79
    ]);
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
