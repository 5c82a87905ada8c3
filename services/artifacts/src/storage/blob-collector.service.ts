import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from '../config/artifacts.config';
import { ArtifactMetrics } from '../common/artifacts.metrics';
import { BlobStore } from './blob-store';

/**
 * Keeps storage and metadata in agreement.
 * - At start (before the port opens): temp files are removed (uploads a crash interrupted), blob files with
 *   no referenced row are removed (a crash between rename and commit), unreferenced rows are collected.
 * - Blobs whose ref_count reached 0 are deleted, file then row, under the row lock: an upload of the same
 *   content takes that lock too (INSERT ... ON CONFLICT), so it either waits for the deletion and stores
 *   the file again, or raises ref_count first and the collector skips the row.
 * Assumes one artifacts instance per storage volume (see docs/artifacts.md).
 */
@Injectable()
export class BlobCollector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BlobCollector.name);
  private timer: NodeJS.Timeout | null = null;
  private readonly collected = ArtifactMetrics.blobsCollected();
  private readonly storageBytes = ArtifactMetrics.storageBytes();
  private readonly blobCount = ArtifactMetrics.blobs();
  private stopped = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly ds: DataSource,
    private readonly store: BlobStore,
    @Inject(ARTIFACTS_CONFIG) private readonly config: ArtifactsConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.store.init();
    const temps = await this.store.removeAllTemp();
    const orphans = await this.removeOrphanFiles();
    const unreferenced = await this.collect();
    if (temps || orphans || unreferenced) this.logger.log(`startup cleanup: ${temps} temp file(s), ${orphans} orphan blob file(s), ${unreferenced} unreferenced blob(s)`);
    await this.refreshGauges();
    this.timer = setInterval(() => void this.track(this.collect().then(() => this.refreshGauges())), this.config.ARTIFACT_GC_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
  }

  /** Collects these blobs once the transaction that released them commits (it holds their row locks until then). */
  collectSoon(shas: string[]): void {
    if (shas.length === 0) return;
    this.track(this.collect(shas).then(() => this.refreshGauges()));
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err: Error) => {
      if (!this.stopped) this.logger.warn(`blob collection failed (retried later): ${err.message}`);
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /** Deletes blobs nobody references (all of them, or the given ones); returns how many. */
  async collect(shas?: string[]): Promise<number> {
    if (this.stopped || !this.ds.isInitialized) return 0;
    return this.ds.transaction(async (m) => {
      // For given hashes the rows are locked without a ref_count condition: a condition would be checked
      // against the last committed version and skip a row whose release is still being committed, while the
      // plain lock waits for that transaction and then reads the row as committed.
      const rows: Array<{ sha256: string }> = shas
        ? ((await m.query(`SELECT sha256, ref_count FROM artifacts.blobs WHERE sha256 = ANY($1) ORDER BY sha256 FOR UPDATE`, [[...new Set(shas)]])) as Array<{ sha256: string; ref_count: number }>).filter(
            (r) => r.ref_count === 0,
          )
        : await m.query(`SELECT sha256 FROM artifacts.blobs WHERE ref_count = 0 ORDER BY sha256 LIMIT 1000 FOR UPDATE SKIP LOCKED`);
      if (rows.length === 0) return 0;
      // file first: a crash after the unlink leaves a row at 0 without a file, which the next run deletes
      for (const r of rows) await this.store.remove(r.sha256);
      await m.query(`DELETE FROM artifacts.blobs WHERE sha256 = ANY($1) AND ref_count = 0`, [rows.map((r) => r.sha256)]);
      this.collected.inc(rows.length);
      return rows.length;
    });
  }

  /** Files whose hash has no row with references: left by a crash between the rename and the commit. */
  private async removeOrphanFiles(): Promise<number> {
    let removed = 0;
    let batch: string[] = [];
    const flush = async () => {
      const rows: Array<{ sha256: string }> = await this.ds.query(`SELECT sha256 FROM artifacts.blobs WHERE sha256 = ANY($1) AND ref_count > 0`, [batch]);
      const known = new Set(rows.map((r) => r.sha256));
      for (const sha of batch) {
        if (!known.has(sha)) {
          await this.store.remove(sha);
          removed++;
        }
      }
      batch = [];
    };
    for await (const sha of this.store.listBlobs()) {
      batch.push(sha);
      if (batch.length >= 1000) await flush();
    }
    if (batch.length) await flush();
    return removed;
  }

  async refreshGauges(): Promise<void> {
    if (!this.ds.isInitialized) return;
    const [row] = (await this.ds.query(`SELECT count(*)::bigint AS n, coalesce(sum(size), 0)::bigint AS bytes FROM artifacts.blobs`)) as Array<{ n: string; bytes: string }>;
    this.blobCount.set(Number(row.n));
    this.storageBytes.set(Number(row.bytes));
  }
}
