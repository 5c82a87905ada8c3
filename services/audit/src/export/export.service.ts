import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { csvLine, EventTypes, type Actor, type AuditFilters } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { ChainService } from '../chain/chain.service';
import { AuditRecordsRepository } from '../chain/audit-records.repository';
import { toCheckpoint, toRecord, type RecordRow } from '../chain/record-row';
import { givenFilters } from '../query/audit-filters';

export type ExportFormat = 'csv' | 'jsonl';
/** /2: checkpoints are Ed25519 (with `alg`) and a full export ends on a signed checkpoint of its head */
export const EXPORT_FORMAT_VERSION = 'opsdesk-audit-export/2';
const BATCH = 1000;

export const CSV_COLUMNS = [
  'seq', 'event_id', 'type', 'occurred_at', 'recorded_at', 'actor_user_id', 'actor_email', 'actor_ip', 'actor_user_agent',
  'entity_type', 'entity_id', 'request_id', 'trace_id', 'source', 'data', 'prev_hash', 'hash',
];

export interface ExportSnapshot {
  head_seq: number;
  head_hash: string;
  /**
   * checkpoints up to here are exported: the head, or further when checkpoints exist beyond the head
   * (honest trails never have any; a rewound head does, and the file must carry that evidence)
   */
  checkpoint_limit: number;
}

/**
 * Exports are streamed: records are read in keyset batches of 1000 (oldest first, bounded by the head seen
 * at the start so the file is a consistent prefix of the chain) and each batch is yielded as text, so the
 * service never holds more than one batch whatever the size. The consumer (an HTTP response) pulls with
 * backpressure.
 */
@Injectable()
export class ExportService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly chain: ChainService,
    private readonly trail: AuditRecordsRepository,
  ) {}

  /** Records the export itself as an event (auditing the auditors) and fixes the snapshot it covers. */
  async begin(format: ExportFormat, filters: AuditFilters, actor: Actor, requestId: string): Promise<ExportSnapshot> {
    return this.dataSource.transaction(async (m) => {
      // Under the head lock: the head and the highest checkpoint together, and the head signed if no checkpoint
      // covers it yet, so the file ends on a signed checkpoint and the offline verifier can require one
      // (without it, whoever edits the file could re-hash the unsigned tail undetected).
      const head = await this.chain.checkpointHead(m);
      const snapshot = { head_seq: head.seq, head_hash: head.hash, checkpoint_limit: Math.max(head.seq, head.max_checkpoint) };
      await this.outbox.add(m, {
        type: EventTypes.AUDIT_EXPORTED,
        actor,
        request_id: requestId,
        subject: { entity_type: 'audit_export', entity_id: null },
        data: { format, filters: givenFilters(filters), head_seq: snapshot.head_seq },
      });
      return snapshot;
    });
  }

  async *records(filters: AuditFilters, snapshot: ExportSnapshot): AsyncGenerator<RecordRow[]> {
    let after = 0;
    for (;;) {
      const rows = await this.trail.recordsBetween(after, snapshot.head_seq, BATCH, filters);
      if (rows.length > 0) yield rows;
      if (rows.length < BATCH) return;
      after = Number(rows[rows.length - 1].seq);
    }
  }

  async *csv(filters: AuditFilters, snapshot: ExportSnapshot): AsyncGenerator<string> {
    yield csvLine(CSV_COLUMNS);
    for await (const rows of this.records(filters, snapshot)) {
      let chunk = '';
      for (const row of rows) {
        const r = toRecord(row);
        chunk += csvLine([
          r.seq, r.event_id, r.type, r.occurred_at, r.recorded_at, r.actor?.user_id, r.actor?.email, r.actor?.ip, r.actor?.user_agent,
          r.entity_type, r.entity_id, r.request_id, r.trace_id, r.source, r.data, r.prev_hash, r.hash,
        ]);
      }
      yield chunk;
    }
  }

  /**
   * JSONL: a header line, then the signed checkpoints up to the snapshot, then the records, one object per
   * line with a `kind` of header | checkpoint | record. Everything the offline verifier needs is in the file.
   */
  async *jsonl(filters: AuditFilters, snapshot: ExportSnapshot): AsyncGenerator<string> {
    const given = givenFilters(filters);
    yield `${JSON.stringify({
      kind: 'header',
      format: EXPORT_FORMAT_VERSION,
      exported_at: new Date().toISOString(),
      filtered: Object.keys(given).length > 0,
      filters: given,
      head_seq: snapshot.head_seq,
      head_hash: snapshot.head_hash,
      key_id: this.chain.keyId,
    })}\n`;
    let after = 0;
    for (;;) {
      const rows = await this.trail.checkpointsBetween(after, snapshot.checkpoint_limit, BATCH);
      if (rows.length > 0) yield rows.map((r) => `${JSON.stringify({ kind: 'checkpoint', ...toCheckpoint(r) })}\n`).join('');
      if (rows.length < BATCH) break;
      after = Number(rows[rows.length - 1].seq);
    }
    for await (const rows of this.records(filters, snapshot)) {
      yield rows.map((row) => `${JSON.stringify({ kind: 'record', ...toRecord(row) })}\n`).join('');
    }
  }
}
