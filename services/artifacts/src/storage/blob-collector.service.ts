import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from '../config/artifacts.config';
import { ArtifactMetrics } from '../common/artifacts.metrics';
import { lockBlobAddress } from './blob-lock';
import { BlobStore } from './blob-store';
import { liveBoots, mayRemoveTemp, parseTempOwner, pidAlive } from './temp-owner';

/** Tests: the collector's clock (e.g. "the next start happens after the grace period"). Default Date.now. */
export const ARTIFACTS_CLOCK = Symbol('ARTIFACTS_CLOCK');
export type Clock = () => number;

/**
 * Keeps storage and metadata in agreement, safely when several replicas share one storage (a volume or a
 * bucket) and one database.
 * - Sweep (at start, before the port opens, then every ARTIFACT_ORPHAN_GRACE_SECONDS): temps of this
 *   instance's dead processes are removed at once; any other temp only once older than the grace period
 *   (a live writer refreshes its temps far more often, see temp-owner.ts); blob objects with no row at all
 *   (a crash between the commit of the object and of the metadata) only once older than the grace period and
 *   under the blob-address lock, so an upload committing that content right now is never undone.
 * - Blobs whose ref_count reached 0 are deleted, object then row, under the row lock: an upload of the same
 *   content takes that lock too (INSERT ... ON CONFLICT), so it either waits for the deletion and stores
 *   the object again, or raises ref_count first and the collector skips the row.
 */
@Injectable()
export class BlobCollector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BlobCollector.name);
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly collected = ArtifactMetrics.blobsCollected();
  private readonly swept = ArtifactMetrics.storageSwept();
  private readonly sweeps = ArtifactMetrics.storageSweeps();
  private readonly storageBytes = ArtifactMetrics.storageBytes();
  private readonly blobCount = ArtifactMetrics.blobs();
  private readonly now: Clock;
  private stopped = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly ds: DataSource,
    private readonly store: BlobStore,
    @Inject(ARTIFACTS_CONFIG) private readonly config: ArtifactsConfig,
    @Optional() @Inject(ARTIFACTS_CLOCK) clock?: Clock,
  ) {
    this.now = clock ?? Date.now;
  }

  private get graceMs(): number {
    return this.config.ARTIFACT_ORPHAN_GRACE_SECONDS * 1000;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.store.init();
    liveBoots.add(this.store.owner.boot);
    const s = await this.sweep();
    const unreferenced = await this.collect();
    if (s.temps || s.orphans || s.aborted || unreferenced)
      this.logger.log(`startup cleanup: ${s.temps} temp upload(s), ${s.aborted} abandoned multipart upload(s), ${s.orphans} orphan blob(s), ${unreferenced} unreferenced blob(s)`);
    await this.refreshGauges();
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => void this.track(fn()), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.config.ARTIFACT_GC_INTERVAL_SECONDS * 1000, () => this.collect().then(() => this.refreshGauges()));
    every(this.graceMs, () => this.sweep());
    // several heartbeats per grace period: one missed beat (a busy event loop) does not expose an upload
    every(Math.max(200, Math.floor(this.graceMs / 5)), () => this.store.touchActive());
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.pending]);
    liveBoots.delete(this.store.owner.boot);
    await this.store.close();
  }

  /** Collects these blobs once the transaction that released them commits (it holds their row locks until then). */
  collectSoon(shas: string[]): void {
    if (shas.length === 0) return;
    this.track(this.collect(shas).then(() => this.refreshGauges()));
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err: Error) => {
      if (!this.stopped) this.logger.warn(`storage maintenance failed (retried later): ${err.message}`);
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
      // object first: a crash after the removal leaves a row at 0 without an object, which the next run deletes
      for (const r of rows) await this.store.remove(r.sha256);
      await m.query(`DELETE FROM artifacts.blobs WHERE sha256 = ANY($1) AND ref_count = 0`, [rows.map((r) => r.sha256)]);
      this.collected.inc(rows.length);
      return rows.length;
    });
  }

  /** Removes what crashes left in storage (see the class comment); returns what it removed. */
  async sweep(): Promise<{ temps: number; orphans: number; aborted: number }> {
    if (this.stopped) return { temps: 0, orphans: 0, aborted: 0 };
    const temps = await this.sweepTemps();
    const aborted = await this.store.abortAbandoned((name) => {
      // only a writer known to be dead: an upload in progress on another replica cannot refresh its start time
      const o = parseTempOwner(name);
      return o !== null && o.instance === this.store.owner.instance && mayRemoveTemp({ name, ageMs: 0 }, this.store.owner, Number.MAX_SAFE_INTEGER);
    });
    const orphans = await this.sweepOrphans();
    if (temps) this.swept.inc({ what: 'temp' }, temps);
    if (aborted) this.swept.inc({ what: 'multipart' }, aborted);
    if (orphans) this.swept.inc({ what: 'orphan' }, orphans);
    this.sweeps.inc();
    return { temps, orphans, aborted };
  }

  private async sweepTemps(): Promise<number> {
    let removed = 0;
    const now = this.now();
    for await (const t of this.store.listTemp()) {
      if (this.stopped) break;
      if (this.store.isActive(t.name)) continue;
      if (!mayRemoveTemp({ name: t.name, ageMs: now - t.modifiedAt.getTime() }, this.store.owner, this.graceMs, pidAlive, liveBoots)) continue;
      await this.store.removeTemp(t.name);
      removed++;
    }
    return removed;
  }

  /** Objects whose hash has no row at all, older than the grace period: left by a crash between object and commit. */
  private async sweepOrphans(): Promise<number> {
    let removed = 0;
    let batch: string[] = [];
    const flush = async () => {
      const rows: Array<{ sha256: string }> = await this.ds.query(`SELECT sha256 FROM artifacts.blobs WHERE sha256 = ANY($1)`, [batch]);
      const known = new Set(rows.map((r) => r.sha256));
      for (const sha of batch) if (!known.has(sha) && (await this.removeOrphan(sha))) removed++;
      batch = [];
    };
    const cutoff = this.now() - this.graceMs;
    for await (const b of this.store.listBlobs()) {
      if (this.stopped) break;
      if (b.modifiedAt.getTime() >= cutoff) continue;
      batch.push(b.name);
      if (batch.length >= 1000) await flush();
    }
    if (batch.length) await flush();
    return removed;
  }

  /** Under the address lock: an upload committing this content either finished (its row is seen) or waits. */
  private async removeOrphan(sha256: string): Promise<boolean> {
    return this.ds.transaction(async (m) => {
      await lockBlobAddress(m, sha256);
      const rows = (await m.query(`SELECT 1 FROM artifacts.blobs WHERE sha256 = $1`, [sha256])) as unknown[];
      if (rows.length) return false;
      await this.store.remove(sha256);
      return true;
    });
  }

  async refreshGauges(): Promise<void> {
    if (!this.ds.isInitialized) return;
    const [row] = (await this.ds.query(`SELECT count(*)::bigint AS n, coalesce(sum(size), 0)::bigint AS bytes FROM artifacts.blobs`)) as Array<{ n: string; bytes: string }>;
    this.blobCount.set(Number(row.n));
    this.storageBytes.set(Number(row.bytes));
  }
}
