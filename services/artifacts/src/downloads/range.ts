/**
 * `Range` and conditional request headers for downloads (RFC 9110 §13, §14). One byte range is served;
 * anything this server does not support (several ranges, other units, bad syntax) is ignored and the whole
 * file is sent, which RFC 9110 allows. A syntactically valid range that cannot be satisfied is a 416.
 */
export type RangeResult = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return { kind: 'full' };
  const specs = m[1].split(',').map((s) => s.trim()).filter(Boolean);
  if (specs.length !== 1) return { kind: 'full' };
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(specs[0]);
  if (!r || (r[1] === '' && r[2] === '')) return { kind: 'full' };
  if (r[1] === '') {
    // suffix range: the last N bytes
    const n = Number(r[2]);
    if (!Number.isSafeInteger(n)) return { kind: 'full' };
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(r[1]);
  const last = r[2] === '' ? Number.MAX_SAFE_INTEGER : Number(r[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last)) return { kind: 'full' };
  if (last < start) return { kind: 'full' }; // invalid spec: ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(last, size - 1) };
}

/** Strong comparison for If-Range; weak comparison (W/ ignored) for If-None-Match, as RFC 9110 says. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** If-Range with an entity tag: serve the range only when it still names this content; dates are not used. */
export function ifRangeAllows(header: string | undefined, etag: string): boolean {
  if (!header) return true;
  return header.trim() === etag;
}

export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}
