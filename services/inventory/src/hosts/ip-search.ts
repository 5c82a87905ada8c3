/**
 * The address side of the host search. A search term matches a host when it is a substring of one of its
 * fields, the address as `host(ip)` text among them. Searching that text with the trigram index is slow when
 * addresses share their leading octets (every trigram of `10.0.42.` is in most rows of a 10/8 network), so a
 * term made of digits and dots is turned into the exact set of IPv4 addresses whose text contains it — a few
 * numeric ranges, answered by btree indexes — whenever that set is a few ranges.
 *
 * Where the match starts (`alignment`): a term with k dots spans k+1 consecutive octets starting at octet i.
 * Octets before i are free, so the addresses of one alignment are ranges over the address's low 32 − 8·i bits
 * (alignment 0: the address itself, `hosts_ip_uq`; 1 and 2: the low 24 / 16 bits, their own indexes).
 */

/** Alignments that have an index (see the migration that created hosts_ip4_low24_idx / hosts_ip4_low16_idx). */
export const INDEXED_ALIGNMENTS = [0, 1, 2] as const;

/** More ranges than this and the term is searched the old way (as text): a long OR is no faster than the trigram scan. */
export const MAX_IP_RANGES = 32;

/**
 * Inclusive ranges of the address's low `32 − 8·alignment` bits, per alignment. `recheck`: the ranges are a
 * superset (leading octets left free to keep the ranges few), so the address text must be checked as well.
 */
export type Ipv4Ranges = Array<{ alignment: number; ranges: Array<[number, number]>; recheck: boolean }>;

const OCTETS = Array.from({ length: 256 }, (_, v) => String(v));
const ALL = OCTETS.map((_, v) => v);
const CANONICAL_OCTET = /^(0|[1-9]\d{0,2})$/;

/** Runs of consecutive values, [from, to] inclusive (the set is ascending). */
function runs(values: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const v of values) {
    const last = out[out.length - 1];
    if (last && last[1] === v - 1) last[1] = v;
    else out.push([v, v]);
  }
  return out;
}

/**
 * The IPv4 addresses whose dotted-decimal text (as Postgres `host()` writes it: no leading zeros) contains
 * `term`, as ranges per alignment: `[]` when no IPv4 text can contain it, `null` when the set is not a few
 * ranges (a term without dots, or one whose match may start past the octets the indexes cover).
 */
export function ipv4RangesContaining(term: string, maxRanges = MAX_IP_RANGES): Ipv4Ranges | null {
  if (!/^[0-9.]+$/.test(term)) return [];
  const pieces = term.split('.');
  const k = pieces.length - 1;
  if (k > 3) return [];
  if (k === 0) return null; // digits alone can sit in any octet: hundreds of ranges
  const out: Ipv4Ranges = [];
  let total = 0;
  for (let i = 0; i + k <= 3; i++) {
    // allowed values of octets i..3; the match is pieces[0] at the end of octet i, whole octets, pieces[k] at the start of octet i+k
    const sets: number[][] = [];
    for (let j = i; j <= 3; j++) {
      const p = pieces[j - i];
      if (j === i) sets.push(ALL.filter((v) => OCTETS[v].endsWith(pieces[0])));
      else if (j < i + k) sets.push(CANONICAL_OCTET.test(p) && Number(p) <= 255 ? [Number(p)] : []);
      else if (j === i + k) sets.push(ALL.filter((v) => OCTETS[v].startsWith(pieces[k])));
      else sets.push(ALL);
    }
    if (sets.some((s) => s.length === 0)) continue;
    // the last constrained octet; octets after it are free, so each prefix up to it is one contiguous block
    let last = sets.length - 1;
    while (last > 0 && sets[last].length === 256) last--;
    // Too many ranges (a leading octet with many values, like "ends with 0"): leave leading octets free and use
    // the index of a later alignment, rechecking the text — as long as that alignment has an index.
    let skip = 0;
    const count = () => sets.slice(skip, last).reduce((n, set) => n * set.length, runs(sets[last]).length);
    while (count() > maxRanges - total && skip < last && INDEXED_ALIGNMENTS.includes((i + skip + 1) as (typeof INDEXED_ALIGNMENTS)[number])) skip++;
    if (!INDEXED_ALIGNMENTS.includes((i + skip) as (typeof INDEXED_ALIGNMENTS)[number])) return null;
    total += count();
    if (total > maxRanges) return null;
    const width = 256 ** (sets.length - 1 - last);
    const ranges: Array<[number, number]> = [];
    const walk = (j: number, base: number) => {
      if (j === last) {
        for (const [a, b] of runs(sets[last])) ranges.push([(base * 256 + a) * width, (base * 256 + b + 1) * width - 1]);
        return;
      }
      for (const v of sets[j]) walk(j + 1, base * 256 + v);
    };
    walk(skip, 0);
    // a left-free octet that was constrained makes the ranges a superset
    out.push({ alignment: i + skip, ranges: mergeRanges(ranges), recheck: sets.slice(0, skip).some((set) => set.length < 256) });
  }
  return out;
}

function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** 167783936 → '10.0.42.0' */
export function ipv4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Could `term` be part of an IPv6 address's text (hex digits, colons, and dots of an embedded IPv4)? */
export function mayBeInIpv6Text(term: string): boolean {
  return /^[0-9a-f:.]+$/.test(term);
}
