import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  AppError,
  ArtifactsErrors,
  ErrorCodes,
  EventTypes,
  decodeCursor,
  encodeCursor,
  type ArtifactKind,
  type ArtifactView,
  type ListArtifactsRequest,
  type Page,
  type RpcContext,
  type VerifyResult, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { ArtifactMetrics } from '../common/artifacts.metrics';
import { BlobCollector } from '../storage/blob-collector.service';
import { lockBlobAddress } from '../storage/blob-lock';
import { BlobStore } from '../storage/blob-store';
import { Artifact, toArtifactView } from './artifact.entity';

export interface NewArtifact {
  hostId: string;
  tempName: string;
  originalName: string;
  filename: string;
  kind: ArtifactKind;
  description: string | null;
  size: number;
  sha256: string;
  contentType: string;
  uploadedBy: string;
  uploadedByEmail: string | null;
}

/** Metadata, chain-of-custody events and reference counting. Bodies are handled by the transfers feature. */
@Injectable()
export class ArtifactsService {
  private readonly verifications = ArtifactMetrics.verifications();

  constructor(
    private readonly ds: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly store: BlobStore,
    private readonly collector: BlobCollector,
  ) {}

  async findOne(id: string): Promise<Artifact> {
    const a = await this.ds.getRepository(Artifact).findOne({ where: { id } });
    if (!a) throw new AppError(ArtifactsErrors.NOT_FOUND, 'Artifact not found');
    return a;
  }

  async get(id: string): Promise<ArtifactView> {
    return toArtifactView(await this.findOne(id));
  }

  async isBlobCorrupt(sha256: string): Promise<boolean> {
    const rows: Array<{ corrupt: boolean }> = await this.ds.query(`SELECT corrupt_at IS NOT NULL AS corrupt FROM artifacts.blobs WHERE sha256 = $1`, [sha256]);
    return rows[0]?.corrupt ?? true;
  }

  /** Newest first; keyset cursor on (uploaded_at, id). */
  async list(q: ListArtifactsRequest): Promise<Page<ArtifactView>> {
    const qb = this.ds.getRepository(Artifact).createQueryBuilder('a');
    if (q.host_id) qb.andWhere('a.host_id = :host', { host: q.host_id });
    if (q.kind) qb.andWhere('a.kind = :kind', { kind: q.kind });
    if (q.uploaded_by) qb.andWhere('a.uploaded_by = :by', { by: q.uploaded_by });
    if (q.sha256) qb.andWhere('a.sha256 = :sha', { sha: q.sha256 });
    if (q.from) qb.andWhere('a.uploaded_at >= :from', { from: q.from });
    if (q.to) qb.andWhere('a.uploaded_at < :to', { to: q.to });
    if (q.cursor) {
      const c = decodeCursor<{ t: string; id: string }>(q.cursor);
      if (!c || typeof c.t !== 'string' || typeof c.id !== 'string' || Number.isNaN(Date.parse(c.t)))
        throw new AppError(ErrorCodes.VALIDATION_FAILED, 'Invalid cursor', [{ field: 'cursor', message: 'is not a cursor from this API' }]);
      qb.andWhere('(a.uploaded_at, a.id) < (:t, :cid)', { t: c.t, cid: c.id });
    } else if (q.skip) {
      qb.offset(q.skip);
    }
    const rows = await qb.orderBy('a.uploaded_at', 'DESC').addOrderBy('a.id', 'DESC').limit(q.limit + 1).getMany();
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toArtifactView),
      // uploaded_at is written from a JS Date (millisecond precision), so the ISO string is exact
      next_cursor: rows.length > q.limit && last ? encodeCursor({ t: last.uploadedAt.toISOString(), id: last.id }) : null,
    };
  }

  /** Total size of the artifacts a user has uploaded (their quota's use). */
  async bytesUploadedBy(userId: string): Promise<number> {
    const [row] = (await this.ds.query(`SELECT COALESCE(sum(size), 0)::bigint AS used FROM artifacts.artifacts WHERE uploaded_by = $1`, [userId])) as Array<{ used: string }>;
    return Number(row?.used ?? 0);
  }

  /**
   * Records a stored upload. The temp upload is already complete and durable; here, in one transaction: the
   * blob row is created or its ref_count raised (row lock), the temp is moved to its content address, the
   * artifact row and the `uploaded` event are written. Nothing is visible unless all of it commits.
   */
  async recordUpload(input: NewArtifact, ctx: RpcContext): Promise<{ view: ArtifactView; deduplicated: boolean }> {
    return this.ds.transaction(async (m) => {
      const tomb = (await m.query(`SELECT 1 FROM artifacts.deleted_hosts WHERE host_id = $1`, [input.hostId])) as unknown[];
      if (tomb.length) throw new AppError(ArtifactsErrors.HOST_NOT_FOUND, 'Host not found');
      // another replica's orphan sweep must not remove this content between its write below and the commit
      await lockBlobAddress(m, input.sha256);
      const [blob] = (await m.query(
        `INSERT INTO artifacts.blobs (sha256, size, ref_count) VALUES ($1, $2, 1)
         ON CONFLICT (sha256) DO UPDATE SET ref_count = blobs.ref_count + 1, corrupt_at = NULL
         RETURNING (xmax = 0) AS inserted`,
        [input.sha256, input.size],
      )) as Array<{ inserted: boolean }>;
      // Writing over an existing copy puts identical bytes there and repairs one found corrupt.
      await this.store.commitTemp(input.tempName, input.sha256);
      const a = m.create(Artifact, {
        id: randomUUID(),
        hostId: input.hostId,
        originalName: input.originalName,
        filename: input.filename,
        kind: input.kind,
        description: input.description,
        size: input.size,
        sha256: input.sha256,
        contentType: input.contentType,
        uploadedBy: input.uploadedBy,
        uploadedByEmail: input.uploadedByEmail,
        uploadedAt: new Date(),
        lastVerifiedAt: null,
        lastVerifyOk: null,
      });
      await m.save(a);
      const view = toArtifactView(a);
      await this.outbox.add(
        m,
        domainEvent(EventTypes.ARTIFACT_UPLOADED, ctx, { type: 'artifact', id: a.id }, {
          artifact_id: a.id,
          host_id: a.hostId,
          original_name: a.originalName,
          filename: a.filename,
          kind: a.kind,
          description: a.description,
          size: a.size,
          sha256: a.sha256,
          content_type: a.contentType,
          deduplicated: !blob.inserted,
        }),
      );
      return { view, deduplicated: !blob.inserted };
    });
  }

  /** Every download is an event (who read what, which bytes), committed before the first byte is sent. */
  async recordDownload(a: Artifact, range: { start: number; end: number } | null, ctx: RpcContext): Promise<void> {
    await this.ds.transaction(async (m) => {
      await this.outbox.add(
        m,
        domainEvent(EventTypes.ARTIFACT_DOWNLOADED, ctx, { type: 'artifact', id: a.id }, {
          artifact_id: a.id,
          host_id: a.hostId,
          filename: a.filename,
          sha256: a.sha256,
          size: a.size,
          range: range ? { start: range.start, end: range.end } : null,
          bytes: range ? range.end - range.start + 1 : a.size,
        }),
      );
    });
  }

  async delete(id: string, ctx: RpcContext): Promise<void> {
    const sha = await this.ds.transaction(async (m) => {
      const a = await m.findOne(Artifact, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!a) throw new AppError(ArtifactsErrors.NOT_FOUND, 'Artifact not found');
      await this.removeRows(m, [a], ctx, 'deleted');
      return a.sha256;
    });
    this.collector.collectSoon([sha]);
  }

  /**
   * Deletes artifact rows, releases their blobs and writes one `deleted` event each (inside the caller's
   * transaction). Returns the hashes released, for the collector.
   */
  async removeRows(m: EntityManager, rows: Artifact[], ctx: RpcContext, reason: 'deleted' | 'host_deleted', extra: Record<string, unknown> = {}): Promise<string[]> {
    if (rows.length === 0) return [];
    await m.query(`DELETE FROM artifacts.artifacts WHERE id = ANY($1)`, [rows.map((r) => r.id)]);
    const perBlob = new Map<string, number>();
    for (const r of rows) perBlob.set(r.sha256, (perBlob.get(r.sha256) ?? 0) + 1);
    // sorted, so concurrent releases lock blob rows in one order
    for (const sha of [...perBlob.keys()].sort()) {
      await m.query(`UPDATE artifacts.blobs SET ref_count = ref_count - $2 WHERE sha256 = $1`, [sha, perBlob.get(sha)]);
    }
    await this.outbox.add(
      m,
      rows.map((a) =>
        domainEvent(EventTypes.ARTIFACT_DELETED, ctx, { type: 'artifact', id: a.id }, {
          artifact_id: a.id,
          host_id: a.hostId,
          original_name: a.originalName,
          kind: a.kind,
          size: a.size,
          sha256: a.sha256,
          reason,
          ...extra,
        }),
      ),
    );
    return [...perBlob.keys()];
  }

  /** Re-hashes the stored blob; the result is recorded (event, artifact, blob flag) whatever it is. */
  async verify(id: string, ctx: RpcContext): Promise<VerifyResult> {
    const a = await this.findOne(id);
    const actual = await this.store.hash(a.sha256);
    const ok = actual !== null && actual.sha256 === a.sha256 && actual.size === a.size;
    return this.recordVerification(a, actual, ok, ctx, 'verify');
  }

  async recordVerification(
    a: Artifact,
    actual: { sha256: string; size: number } | null,
    ok: boolean,
    ctx: RpcContext,
    trigger: 'verify' | 'download',
  ): Promise<VerifyResult> {
    const now = new Date();
    this.verifications.inc({ result: ok ? 'ok' : 'corrupt' });
    await this.ds.transaction(async (m) => {
      await m.query(`UPDATE artifacts.artifacts SET last_verified_at = $2, last_verify_ok = $3 WHERE id = $1`, [a.id, now, ok]);
      // the flag is on the blob: every artifact sharing the content stops being served
      await m.query(`UPDATE artifacts.blobs SET corrupt_at = ${ok ? 'NULL' : 'coalesce(corrupt_at, $2)'} WHERE sha256 = $1`, ok ? [a.sha256] : [a.sha256, now]);
      await this.outbox.add(
        m,
        domainEvent(EventTypes.ARTIFACT_VERIFIED, ctx, { type: 'artifact', id: a.id }, {
          artifact_id: a.id,
          host_id: a.hostId,
          ok,
          sha256: a.sha256,
          expected_sha256: a.sha256,
          actual_sha256: actual?.sha256 ?? null,
          expected_size: a.size,
          actual_size: actual?.size ?? null,
          trigger,
        }),
      );
    });
    return {
      artifact_id: a.id,
      ok,
      expected_sha256: a.sha256,
      actual_sha256: actual?.sha256 ?? null,
      expected_size: a.size,
      actual_size: actual?.size ?? null,
      verified_at: now.toISOString(),
    };
  }
}
