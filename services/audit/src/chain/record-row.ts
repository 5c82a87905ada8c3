import type { AuditCheckpointView } from '@opsdesk/contracts';
import type { ChainedRecord } from './canonical';

/** Columns selected wherever records are read (list, export, verify). */
export const RECORD_COLUMNS =
  'seq, event_id, type, source, occurred_at, recorded_at, actor, entity_type, entity_id, request_id, trace_id, data, prev_hash, hash';

/** A record as pg returns it: the bigint seq may come as a string, timestamps as Date. */
export type RecordRow = Omit<ChainedRecord, 'seq' | 'occurred_at' | 'recorded_at'> & {
  seq: string | number;
  occurred_at: Date | string;
  recorded_at: Date | string;
};

const iso = (v: Date | string) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

/** Row -> record exactly as it was hashed (timestamps are stored at millisecond precision). */
export function toRecord(row: RecordRow): ChainedRecord {
  return {
    seq: Number(row.seq),
    event_id: row.event_id,
    type: row.type,
    source: row.source,
    occurred_at: iso(row.occurred_at),
    recorded_at: iso(row.recorded_at),
    actor: row.actor ?? null,
    entity_type: row.entity_type,
    entity_id: row.entity_id,
    request_id: row.request_id,
    trace_id: row.trace_id,
    data: row.data,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

export interface CheckpointRow {
  seq: string | number;
  hash: string;
  created_at: Date | string;
  key_id: string;
  signature: string;
  alg: AuditCheckpointView['alg'];
}

/** Columns selected wherever checkpoints are read (verify, export). */
export const CHECKPOINT_COLUMNS = 'seq, hash, created_at, key_id, signature, alg';

export function toCheckpoint(row: CheckpointRow): AuditCheckpointView {
  return { seq: Number(row.seq), hash: row.hash, created_at: iso(row.created_at), key_id: row.key_id, alg: row.alg, signature: row.signature };
}

/** The values of one chained record's row, in RECORD_COLUMNS order: exactly what was hashed. */
export function insertRecordParams(r: ChainedRecord): unknown[] {
  return [
    r.seq,
    r.event_id,
    r.type,
    r.source,
    r.occurred_at,
    r.recorded_at,
    r.actor === null ? null : JSON.stringify(r.actor),
    r.entity_type,
    r.entity_id,
    r.request_id,
    r.trace_id,
    JSON.stringify(r.data),
    r.prev_hash,
    r.hash,
  ];
}
