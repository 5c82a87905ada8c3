import { HOST_DATA_FIELDS, HOST_EXTRA_FIELDS, type FieldChange } from '@opsdesk/contracts';

type Snapshot = Record<string, unknown> | null;

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return (a ?? null) === (b ?? null);
}

/**
 * Field-level changes between two snapshots of a host, in the canonical field order. Bookkeeping fields
 * (version, updated_at, last_seen_at) are not changes. A create lists every field that got a value, a
 * delete every field that had one.
 */
export function diffHost(before: Snapshot, after: Snapshot): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of [...HOST_DATA_FIELDS, ...HOST_EXTRA_FIELDS]) {
    const b = before ? (before[field] ?? null) : null;
    const a = after ? (after[field] ?? null) : null;
    if (!before && (a === null || (Array.isArray(a) && a.length === 0))) continue;
    if (!after && (b === null || (Array.isArray(b) && b.length === 0))) continue;
    if (!same(b, a)) changes.push({ field, before: b, after: a });
  }
  return changes;
}
