import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  AppError,
  ErrorCodes,
  EventTypes,
  InventoryErrors,
  decodeCursor,
  encodeCursor,
  type MetricsSnapshotView,
  type Page,
  type RpcContext, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { INVENTORY_CONFIG, type InventoryConfig } from '../config/inventory.config';
import { returnedRows } from '../hosts/host.row';
import { HostsService } from '../hosts/hosts.service';
import { SettingsService } from '../settings/settings.service';
import { hasSeries, nodeQueries, renderInstance, toSnapshot, type PromSample, type SnapshotData } from './node-metrics';
import { PrometheusClient } from './prometheus.client';

/** A stored snapshot: the view's identity fields, and the measurements as one JSON column. */
type SnapshotRow = Pick<MetricsSnapshotView, 'id' | 'host_id' | 'instance' | 'collected_at' | 'collected_by' | 'expires_at'> & { data: SnapshotData };

const SNAPSHOT_COLUMNS = `id, host_id, instance, inventory.iso(collected_at) AS collected_at, collected_by, inventory.iso(expires_at) AS expires_at, data`;

/**
 * On-demand telemetry: pulls a host's node_exporter series from Prometheus when asked, stores a snapshot that
 * expires after the configured TTL (reads ignore expired ones at once; a job deletes them periodically).
 */
@Injectable()
export class TelemetryService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(TelemetryService.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly hosts: HostsService,
    private readonly settings: SettingsService,
    private readonly outbox: OutboxWriter,
    @Inject(INVENTORY_CONFIG) private readonly config: InventoryConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.cleanup().catch((err: unknown) => this.logger.warn(`snapshot cleanup failed: ${(err as Error).message}`));
    }, this.config.METRICS_CLEANUP_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Deletes expired snapshots; returns how many. */
  async cleanup(): Promise<number> {
    return returnedRows(await this.dataSource.query(`DELETE FROM inventory.metrics_snapshots WHERE expires_at <= now() RETURNING id`)).length;
  }

  async refresh(hostId: string, ctx: RpcContext): Promise<MetricsSnapshotView> {
    const host = await this.hosts.get(hostId);
    const settings = await this.settings.effective();
    if (!settings.prometheusUrl)
      throw new AppError(InventoryErrors.PROMETHEUS_UNAVAILABLE, 'Prometheus is not configured (PROMETHEUS_URL or the integration setting prometheus_url)', undefined, {
        cause: 'not configured',
      });
    const client = new PrometheusClient(settings.prometheusUrl, this.config.PROMETHEUS_TIMEOUT_MS);
    const instance = renderInstance(settings.instanceTemplate, host);
    const queries = Object.entries(nodeQueries(instance));
    const results = await Promise.all(queries.map(async ([k, q]) => [k, await client.query(q)] as [string, PromSample[]]));
    const byKey = Object.fromEntries(results);
    if (!hasSeries(byKey))
      throw new AppError(InventoryErrors.METRICS_NOT_FOUND, `Prometheus has no node_exporter series for instance "${instance}"`, undefined, { instance });
    const data = toSnapshot(byKey);
    return this.dataSource.transaction(async (m) => {
      const [row]: SnapshotRow[] = await m.query(
        `INSERT INTO inventory.metrics_snapshots (host_id, instance, collected_at, collected_by, expires_at, data)
         SELECT $1, $2, t, $3, t + make_interval(secs => $4), $5
           FROM (SELECT date_trunc('milliseconds', clock_timestamp()) AS t) c
         RETURNING ${SNAPSHOT_COLUMNS}`,
        [host.id, instance, ctx.actor ? JSON.stringify(ctx.actor) : null, settings.snapshotTtlSeconds, JSON.stringify(data)],
      );
      // last_seen_at is telemetry, not configuration: no new version or revision
      const touched = returnedRows(await m.query(`UPDATE inventory.hosts SET last_seen_at = $2 WHERE id = $1 RETURNING id`, [host.id, row.collected_at]));
      if (touched.length === 0) throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host not found');
      const view = toView(row);
      await this.outbox.add(
        m,
        domainEvent(EventTypes.HOST_METRICS_COLLECTED, ctx, { type: 'host', id: host.id }, {
          host_id: host.id,
          hostname: host.hostname,
          snapshot_id: view.id,
          instance,
          collected_at: view.collected_at,
          cpu_usage_percent: view.cpu.usage_percent,
          memory_available_bytes: view.memory.available_bytes,
          uptime_seconds: view.uptime_seconds,
        }),
      );
      return view;
    });
  }

  async latest(hostId: string): Promise<MetricsSnapshotView> {
    await this.hosts.get(hostId);
    const [row]: SnapshotRow[] = await this.dataSource.query(
      `SELECT ${SNAPSHOT_COLUMNS} FROM inventory.metrics_snapshots WHERE host_id = $1 AND expires_at > now() ORDER BY collected_at DESC, id DESC LIMIT 1`,
      [hostId],
    );
    if (!row) throw new AppError(InventoryErrors.METRICS_NOT_FOUND, 'No metrics snapshot for this host (refresh first)');
    return toView(row);
  }

  async list(hostId: string, q: { limit: number; cursor?: string; skip?: number }): Promise<Page<MetricsSnapshotView>> {
    await this.hosts.get(hostId);
    const params: unknown[] = [hostId, q.limit + 1];
    let keyset = '';
    if (q.cursor) {
      const c = decodeCursor<{ t: string; id: string }>(q.cursor);
      if (!c || typeof c.t !== 'string' || typeof c.id !== 'string' || Number.isNaN(Date.parse(c.t)) || !/^[0-9a-f-]{36}$/i.test(c.id))
        throw new AppError(ErrorCodes.VALIDATION_FAILED, 'Invalid cursor', [{ field: 'cursor', message: 'is not a cursor from this list' }]);
      params.push(c.t, c.id);
      keyset = `AND (collected_at, id) < ($3::timestamptz, $4::uuid)`;
    }
    // offset for the original's clients, only without a cursor (the gateway refuses both)
    let offset = '';
    if (!q.cursor && q.skip) {
      params.push(q.skip);
      offset = ` OFFSET $${params.length}`;
    }
    const rows: SnapshotRow[] = await this.dataSource.query(
      `SELECT ${SNAPSHOT_COLUMNS} FROM inventory.metrics_snapshots WHERE host_id = $1 AND expires_at > now() ${keyset}
        ORDER BY collected_at DESC, id DESC LIMIT $2${offset}`,
      params,
    );
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return { items: items.map(toView), next_cursor: rows.length > q.limit && last ? encodeCursor({ t: last.collected_at, id: last.id }) : null };
  }
}

function toView(r: SnapshotRow): MetricsSnapshotView {
  return {
    id: r.id,
    host_id: r.host_id,
    instance: r.instance,
    collected_at: r.collected_at,
    collected_by: r.collected_by,
    expires_at: r.expires_at,
    ...r.data,
  };
}
