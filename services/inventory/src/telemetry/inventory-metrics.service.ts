import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { gauge, untraced } from '@opsdesk/observability';

/** A host whose last telemetry collection is older than this (or that was never collected) is stale. */
export const STALE_TELEMETRY_SECONDS = 3600;
/** Counting every host on each scrape is a scan; a few seconds old is fresh enough for these gauges. */
const CACHE_MS = 10_000;

interface Counts {
  at: number;
  rows: Array<{ environment: string; hosts: number; stale: number }>;
}

/**
 * Domain gauges of the inventory, read from the database at scrape time (cached briefly, outside any trace):
 * how many hosts each environment has and how many of them have stale telemetry.
 */
@Injectable()
export class InventoryMetricsService implements OnModuleInit {
  private cache: Counts | null = null;
  private inFlight: Promise<Counts | null> | null = null;

  constructor(private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    const read = () => this.counts();
    const stale = gauge(
      'opsdesk_inventory_hosts_telemetry_stale',
      `Hosts whose last telemetry is older than ${STALE_TELEMETRY_SECONDS} s or that never reported, by environment`,
      ['environment'],
    );
    gauge('opsdesk_inventory_hosts', 'Hosts in the inventory by environment', ['environment'], async function collect() {
      const c = await read();
      if (!c) return; // database down: keep the last values (opsdesk_db_connection_errors_total says why)
      this.reset();
      stale.reset();
      for (const env of ['prod', 'stage', 'dev']) {
        const r = c.rows.find((x) => x.environment === env);
        this.set({ environment: env }, r?.hosts ?? 0);
        stale.set({ environment: env }, r?.stale ?? 0);
      }
    });
  }

  private async counts(): Promise<Counts | null> {
    if (this.cache && Date.now() - this.cache.at < CACHE_MS) return this.cache;
    this.inFlight ??= untraced(async () => {
      try {
        const rows = (await this.dataSource.query(
          `SELECT environment, count(*)::int AS hosts,
                  count(*) FILTER (WHERE last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => $1))::int AS stale
             FROM inventory.hosts GROUP BY environment`,
          [STALE_TELEMETRY_SECONDS],
        )) as Counts['rows'];
        this.cache = { at: Date.now(), rows };
        return this.cache;
      } catch {
        return null;
      } finally {
        this.inFlight = null;
      }
    });
    return this.inFlight;
  }
}
