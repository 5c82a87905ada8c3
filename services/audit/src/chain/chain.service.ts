import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuditPublicKeys, EventEnvelope } from '@opsdesk/contracts';
import { counter } from '@opsdesk/observability';
import { AUDIT_CONFIG, type AuditConfig } from '../config/audit.config';
import { recordHash, sanitize, type ChainedRecord, type RecordBody } from './canonical';
import { CHECKPOINT_ALG, checkpointKeyId, parsePublicKeyList, parseSigningKey, publishedKey, signCheckpoint } from './checkpoint-keys';
import { AuditRecordsRepository } from './audit-records.repository';
import { traceIdFromTraceparent } from './traceparent';

export type RecordInput = Omit<RecordBody, 'seq' | 'recorded_at'>;

/** What the chain stores for one event (normalised once; the hash covers exactly these values). */
export function recordInputFromEvent(event: EventEnvelope, headers?: Record<string, string>): RecordInput {
  return sanitize({
    event_id: event.id,
    type: event.type,
    source: event.source,
    occurred_at: new Date(event.occurred_at).toISOString(),
    actor: event.actor ? { user_id: event.actor.user_id, email: event.actor.email, ip: event.actor.ip, user_agent: event.actor.user_agent } : null,
    entity_type: event.subject.entity_type,
    entity_id: event.subject.entity_id,
    request_id: event.request_id,
    trace_id: traceIdFromTraceparent(headers?.['traceparent']),
    data: event.data,
  });
}

/**
 * Appends to the hash chain. Every append locks the single chain_head row (FOR UPDATE) inside the
 * caller's transaction, so seq is gapless and prev_hash is always the committed head, whatever the
 * number of replicas. Signed checkpoints are written every AUDIT_CHECKPOINT_EVERY records (same
 * transaction) and every AUDIT_CHECKPOINT_MINUTES by a timer when records arrived since the last one.
 */
@Injectable()
export class ChainService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ChainService.name);
  /** the only copy of the private key in the system: never logged, never sent anywhere */
  private readonly signingKey: KeyObject;
  readonly keyId: string;
  /** what verifies checkpoints: the current public key first, then earlier ones (AUDIT_PREVIOUS_PUBLIC_KEYS) */
  readonly publicKeys: KeyObject[];
  private timer: NodeJS.Timeout | null = null;
  private readonly appended = counter('opsdesk_audit_records_total', 'Audit records appended to the chain');
  private readonly checkpoints = counter('opsdesk_audit_checkpoints_total', 'Signed audit checkpoints written');

  constructor(
    @Inject(AUDIT_CONFIG) private readonly config: AuditConfig,
    private readonly dataSource: DataSource,
    private readonly records: AuditRecordsRepository,
  ) {
    this.signingKey = parseSigningKey(config.AUDIT_SIGNING_KEY);
    const current = createPublicKey(this.signingKey);
    this.keyId = checkpointKeyId(current);
    const previous = parsePublicKeyList(config.AUDIT_PREVIOUS_PUBLIC_KEYS).filter((k) => checkpointKeyId(k) !== this.keyId);
    this.publicKeys = [current, ...previous];
  }

  /** GET /api/audit/public-key: public keys only, the current one first. */
  publishedKeys(): AuditPublicKeys {
    return { keys: this.publicKeys.map((k, i) => ({ ...publishedKey(k), current: i === 0 })) };
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.checkpointIfBehind().catch((err: Error) => this.logger.warn(`checkpoint: ${err.message}`)), this.config.AUDIT_CHECKPOINT_MINUTES * 60_000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Appends many records in stream order with one lock, one existence check and one multi-row INSERT.
   * Event ids already in the chain are skipped before hashing (never inserted and skipped afterwards, which
   * would break the chain). Returns the records appended.
   */
  async appendMany(manager: EntityManager, inputs: RecordInput[]): Promise<ChainedRecord[]> {
    if (inputs.length === 0) return [];
    const head = await this.records.lockHead(manager);
    const skip = await this.records.existingEventIds(manager, inputs.map((i) => i.event_id));
    let seq = head.seq;
    let prev = head.hash;
    const records: ChainedRecord[] = [];
    const checkpointsDue: Array<{ seq: number; hash: string }> = [];
    for (const input of inputs) {
      if (skip.has(input.event_id)) continue;
      skip.add(input.event_id);
      seq++;
      const body: RecordBody = { ...input, seq, recorded_at: new Date().toISOString() };
      const record: ChainedRecord = { ...body, prev_hash: prev, hash: recordHash(prev, body) };
      records.push(record);
      prev = record.hash;
      if (seq % this.config.AUDIT_CHECKPOINT_EVERY === 0) checkpointsDue.push({ seq, hash: record.hash });
    }
    if (records.length === 0) return [];
    await this.records.insertRecords(manager, records);
    const last = records[records.length - 1];
    await this.records.moveHead(manager, { seq: last.seq, hash: last.hash });
    for (const c of checkpointsDue) await this.writeCheckpoint(manager, c.seq, c.hash);
    this.appended.inc(records.length);
    return records;
  }

  async writeCheckpoint(manager: EntityManager, seq: number, hash: string): Promise<void> {
    const created_at = new Date().toISOString();
    const signature = signCheckpoint(this.signingKey, { seq, hash, created_at, key_id: this.keyId });
    await this.records.insertCheckpoint(manager, { seq, hash, created_at, key_id: this.keyId, signature, alg: CHECKPOINT_ALG });
    this.checkpoints.inc();
  }

  /** Timer path: a checkpoint of the current head when it moved since the last checkpoint. */
  async checkpointIfBehind(): Promise<boolean> {
    return this.dataSource.transaction(async (m) => (await this.checkpointHead(m)).written);
  }

  /**
   * Locks the head and signs it unless a checkpoint already covers it (exports use this so the file they
   * write ends on a signed checkpoint). Returns the head and the highest checkpoint seq after that.
   */
  async checkpointHead(m: EntityManager): Promise<{ seq: number; hash: string; max_checkpoint: number; written: boolean }> {
    const head = await this.records.lockHead(m);
    const lastCheckpoint = await this.records.maxCheckpointSeq(m);
    const seq = head.seq;
    // a checkpoint beyond the head (a rewound head) is evidence: never sign over it
    if (seq === 0 || seq <= lastCheckpoint) return { seq, hash: head.hash, max_checkpoint: lastCheckpoint, written: false };
    await this.writeCheckpoint(m, seq, head.hash);
    return { seq, hash: head.hash, max_checkpoint: seq, written: true };
  }
}
