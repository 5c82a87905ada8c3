import { createHash } from 'node:crypto';

/**
 * The hash chain, defined so that anyone can recompute it without OpsDesk (docs/audit.md):
 *
 *   canonical(v)  JSON with object keys sorted by UTF-16 code units, no whitespace, strings and numbers
 *                 serialised as ECMAScript JSON.stringify does (RFC 8785 / JCS for the values we store),
 *                 `undefined` members omitted, non-finite numbers as null.
 *   hash(n)       hex SHA-256 of UTF-8( prev_hash(n) ‖ canonical(body(n)) ), prev_hash(1) = 64 × "0"
 *   body(n)       {seq, event_id, type, source, occurred_at, recorded_at, actor, entity_type, entity_id,
 *                  request_id, trace_id, data}  (prev_hash and hash themselves are not part of the body)
 *
 * This file has no dependency besides node:crypto: the offline verifier uses it as is. Checkpoint signatures:
 * checkpoint-keys.ts.
 */
export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function')
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      return 'null';
  }
}

export interface ChainActor {
  user_id: string | null;
  email: string | null;
  ip: string | null;
  user_agent: string | null;
}

/** What the hash covers: every stored field of a record except prev_hash and hash. */
export interface RecordBody {
  seq: number;
  event_id: string;
  type: string;
  source: string;
  occurred_at: string;
  recorded_at: string;
  actor: ChainActor | null;
  entity_type: string;
  entity_id: string | null;
  request_id: string | null;
  trace_id: string | null;
  data: Record<string, unknown>;
}

export interface ChainedRecord extends RecordBody {
  prev_hash: string;
  hash: string;
}

export function bodyOf(r: RecordBody): RecordBody {
  return {
    seq: r.seq,
    event_id: r.event_id,
    type: r.type,
    source: r.source,
    occurred_at: r.occurred_at,
    recorded_at: r.recorded_at,
    actor: r.actor,
    entity_type: r.entity_type,
    entity_id: r.entity_id,
    request_id: r.request_id,
    trace_id: r.trace_id,
    data: r.data,
  };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function recordHash(prevHash: string, body: RecordBody): string {
  return sha256Hex(prevHash + canonicalJson(bodyOf(body)));
}

/**
 * Values are normalised once, before hashing, into what PostgreSQL stores and gives back unchanged:
 * text and jsonb refuse U+0000, so it becomes U+FFFD; everything else round-trips through jsonb exactly
 * (key order is irrelevant to the canonical form).
 */
export function sanitize<T>(value: T): T {
  if (typeof value === 'string') return value.replace(/\u0000/g, '\uFFFD') as T;
  if (Array.isArray(value)) return value.map((v) => sanitize(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[sanitize(k)] = sanitize(v);
    return out as T;
  }
  return value;
}
