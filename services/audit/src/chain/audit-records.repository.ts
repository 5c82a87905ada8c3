import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuditFilters } from '@opsdesk/contracts';
import type { ChainedRecord } from './canonical';
import { CHECKPOINT_COLUMNS, RECORD_COLUMNS, insertRecordParams, type CheckpointRow, type RecordRow } from './record-row';
import { filterConditions } from '../query/audit-filters';

/** Anything that runs SQL: the data source, or the entity manager of the caller's transaction. */
export type Queryable = Pick<EntityManager, 'query'>;

export interface ChainHead {
  seq: number;
  hash: string;
}

export interface NewCheckpoint {
  seq: number;
  hash: string;
  created_at: string;
  key_id: string;
  signature: string;
  alg: string;
}

/** 14 parameters a row: 500 rows stay far below Postgres' 65535-parameter limit. */
const INSERT_CHUNK = 500;
/** the jsonb columns among RECORD_COLUMNS (actor, data) */
const JSONB_PARAMS = new Set([6, 11]);

/**
 * The audit trail's SQL in one place (schema `audit`: records, the single chain_head row, signed checkpoints), so
 * the chain, query, export and verify services read as what they do. Writes take the caller's transaction: an
 * append is only correct under the head lock (`lockHead`) of the same transaction.
 */
@Injectable()
export class AuditRecordsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The committed head, locked until the transaction ends: appends and checkpoints of the head serialise here. */
  async lockHead(m: Queryable): Promise<ChainHead> {
    const [row] = (await m.query(`SELECT seq, hash FROM audit.chain_head WHERE id = 1 FOR UPDATE`)) as Array<{ seq: string; hash: string }>;
    return { seq: Number(row.seq), hash: row.hash };
  }

  /** The head as committed now (no lock). */
  async head(): Promise<ChainHead> {
    const [row] = (await this.dataSource.query(`SELECT seq, hash FROM audit.chain_head WHERE id = 1`)) as Array<{ seq: string; hash: string }>;
    return { seq: Number(row.seq), hash: row.hash };
  }

  async moveHead(m: Queryable, head: ChainHead): Promise<void> {
    await m.query(`UPDATE audit.chain_head SET seq = $1, hash = $2, updated_at = now() WHERE id = 1`, [head.seq, head.hash]);
  }

  /** Which of these event ids are already in the chain. */
  async existingEventIds(m: Queryable, eventIds: string[]): Promise<Set<string>> {
    const rows = (await m.query(`SELECT event_id FROM audit.records WHERE event_id = ANY($1::uuid[])`, [eventIds])) as Array<{ event_id: string }>;
    return new Set(rows.map((r) => r.event_id));
  }

  /** Multi-row INSERTs of chained records, exactly the values that were hashed. */
  async insertRecords(m: Queryable, records: ChainedRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += INSERT_CHUNK) {
      const params: unknown[] = [];
      const values = records.slice(i, i + INSERT_CHUNK).map((r) => {
        const p = insertRecordParams(r);
        const base = params.length;
        params.push(...p);
        return `(${p.map((_, j) => `$${base + j + 1}${JSONB_PARAMS.has(j) ? '::jsonb' : ''}`).join(', ')})`;
      });
      await m.query(`INSERT INTO audit.records (${RECORD_COLUMNS}) VALUES ${values.join(', ')}`, params);
    }
  }

  /** A signed checkpoint; one per seq (a second signer of the same seq is a no-op). */
  async insertCheckpoint(m: Queryable, c: NewCheckpoint): Promise<void> {
    await m.query(
      `INSERT INTO audit.checkpoints (seq, hash, created_at, key_id, signature, alg) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq) DO NOTHING`,
      [c.seq, c.hash, c.created_at, c.key_id, c.signature, c.alg],
    );
  }

  /** The highest checkpoint's seq, 0 without any. */
  async maxCheckpointSeq(m: Queryable): Promise<number> {
    const [row] = (await m.query(`SELECT COALESCE(max(seq), 0) AS seq FROM audit.checkpoints`)) as Array<{ seq: string }>;
    return Number(row.seq);
  }

  /** Checkpoints with from < seq <= to, oldest first (at most `limit`). */
  async checkpointsBetween(from: number, to: number, limit?: number): Promise<CheckpointRow[]> {
    return (await this.dataSource.query(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit.checkpoints WHERE seq > $1 AND seq <= $2 ORDER BY seq${limit ? ` LIMIT ${Math.trunc(limit)}` : ''}`,
      [from, to],
    )) as CheckpointRow[];
  }

  /** The hash of the record at `seq`, undefined when there is none. */
  async hashAt(seq: number): Promise<string | undefined> {
    const [row] = (await this.dataSource.query(`SELECT hash FROM audit.records WHERE seq = $1`, [seq])) as Array<{ hash: string }>;
    return row?.hash;
  }

  /** Records with after < seq <= upTo matching the filters, oldest first, at most `limit` (keyset batches). */
  async recordsBetween(after: number, upTo: number, limit: number, filters: AuditFilters = {}): Promise<RecordRow[]> {
    const params: unknown[] = [];
    const where = filterConditions(filters, params);
    params.push(after, upTo);
    where.push(`seq > $${params.length - 1}`, `seq <= $${params.length}`);
    return (await this.dataSource.query(
      `SELECT ${RECORD_COLUMNS} FROM audit.records WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${Math.trunc(limit)}`,
      params,
    )) as RecordRow[];
  }

  /**
   * Newest first: records matching the filters below `beforeSeq` (a keyset cursor) or, without one, after skipping
   * `offset` rows (the original's `skip`); at most `limit`.
   */
  async newestFirst(filters: AuditFilters, page: { beforeSeq?: number; offset?: number; limit: number }): Promise<RecordRow[]> {
    const params: unknown[] = [];
    const where = filterConditions(filters, params);
    if (page.beforeSeq !== undefined) {
      params.push(page.beforeSeq);
      where.push(`seq < $${params.length}`);
    }
    params.push(page.limit);
    const limit = `$${params.length}`;
    let offset = '';
    if (page.offset) {
      params.push(page.offset);
      offset = ` OFFSET $${params.length}`;
    }
    return (await this.dataSource.query(
      `SELECT ${RECORD_COLUMNS} FROM audit.records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${limit}${offset}`,
      params,
    )) as RecordRow[];
  }
}
