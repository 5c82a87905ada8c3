import type { MigrationInterface, QueryRunner } from 'typeorm';
import { gauge, untraced } from '@opsdesk/observability';
import type { NatsHandles } from './nats-types';
import { NatsMetrics, recordStreamInfo } from './nats-metrics';

/**
 * Resolutions of dead letters (replayed, dismissed), one row per resolved letter. Append-only like the dead
 * letters themselves: audit's runtime login may only INSERT and SELECT, so "resolved" is a row here, never an
 * UPDATE of the letter. A letter without a row is unresolved and keeps OpsDeskDeadLetters firing.
 */
export function deadLetterResolutionsSql(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    `CREATE TABLE IF NOT EXISTS ${s}.dead_letter_resolutions (
       id bigserial PRIMARY KEY,
       dead_letter_id bigint NOT NULL REFERENCES ${s}.dead_letters (id),
       action text NOT NULL CHECK (action IN ('replayed', 'dismissed')),
       note text NOT NULL DEFAULT '',
       resolved_by text NOT NULL DEFAULT current_user,
       resolved_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE UNIQUE INDEX IF NOT EXISTS dead_letter_resolutions_letter_idx ON ${s}.dead_letter_resolutions (dead_letter_id)`,
  ];
}

/** The migration that adds `dead_letter_resolutions`; `grantTo` gets SELECT, INSERT. */
export function deadLetterResolutionsMigration(schema: string, timestamp: number, grantTo?: string): new () => MigrationInterface {
  const name = `DeadLetterResolutions${timestamp}`;
  const cls = class implements MigrationInterface {
    name = name;
    async up(q: QueryRunner): Promise<void> {
      for (const sql of deadLetterResolutionsSql(schema)) await q.query(sql);
      if (grantTo) {
        await q.query(`GRANT SELECT, INSERT ON "${schema}".dead_letter_resolutions TO ${grantTo}`);
        await q.query(`GRANT USAGE, SELECT ON SEQUENCE "${schema}".dead_letter_resolutions_id_seq TO ${grantTo}`);
      }
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE IF EXISTS "${schema}".dead_letter_resolutions`);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** Anything that runs SQL with positional parameters (TypeORM DataSource, pg Client). */
export interface SqlQuery {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** Rows of a query on either: TypeORM answers the rows, node-postgres a result with `rows`. */
export async function queryRows<T>(db: SqlQuery, sql: string, params?: unknown[]): Promise<T[]> {
  const r = await db.query(sql, params);
  return (Array.isArray(r) ? r : (r as { rows: T[] }).rows) as T[];
}

/**
 * Unresolved dead letters per consumer of one schema. Before the resolutions migration ran every letter
 * counts as unresolved (nothing could have resolved it).
 */
export async function unresolvedDeadLetters(db: SqlQuery, schema: string): Promise<Map<string, number>> {
  const s = `"${schema}"`;
  const [{ has }] = await queryRows<{ has: boolean }>(db, `SELECT to_regclass($1) IS NOT NULL AS has`, [`${s}.dead_letter_resolutions`]);
  const rows = await queryRows<{ consumer: string; n: number }>(
    db,
    has
      ? `SELECT d.consumer, count(*)::int AS n FROM ${s}.dead_letters d
          WHERE NOT EXISTS (SELECT 1 FROM ${s}.dead_letter_resolutions r WHERE r.dead_letter_id = d.id)
          GROUP BY d.consumer`
      : `SELECT consumer, count(*)::int AS n FROM ${s}.dead_letters GROUP BY consumer`,
  );
  return new Map(rows.map((r) => [r.consumer, r.n]));
}

export const DeadLetterMetrics = {
  unresolved: () =>
    gauge(
      'opsdesk_dead_letters_unresolved',
      'Dead letters neither replayed nor dismissed (npm run dead-letters -- list); stays > 0 until someone acts',
      ['consumer'],
    ),
};

export interface PipelineMonitorOptions {
  schema: string;
  stream: string;
  /** durable names of this service's consumers: each gets a series, 0 when it has no letters */
  consumers: () => string[];
  intervalMs?: number;
}

/**
 * Reads, every few seconds and outside any trace, what the event pipeline looks like from the server side:
 * the stream's size and this service's unresolved dead letters. A failed read keeps the last values (the
 * NATS and database metrics say why).
 */
export class PipelineMonitor {
  private timer: NodeJS.Timeout | null = null;
  private readonly unresolved = DeadLetterMetrics.unresolved();

  constructor(
    private readonly db: SqlQuery,
    private readonly nats: NatsHandles,
    private readonly opts: PipelineMonitorOptions,
  ) {
    NatsMetrics.streamMessages();
    NatsMetrics.streamBytes();
    NatsMetrics.streamConsumers();
    NatsMetrics.streamInfoErrors();
    NatsMetrics.consumerPending();
    NatsMetrics.consumerAckPending();
    NatsMetrics.consumerRedelivered();
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.intervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  refresh(): Promise<void> {
    return untraced(async () => {
      await Promise.all([this.refreshDeadLetters(), this.refreshStream()]);
    });
  }

  private async refreshDeadLetters(): Promise<void> {
    try {
      const counts = await unresolvedDeadLetters(this.db, this.opts.schema);
      for (const c of this.opts.consumers()) if (!counts.has(c)) counts.set(c, 0);
      this.unresolved.reset();
      for (const [consumer, n] of counts) this.unresolved.set({ consumer }, n);
    } catch {
      // database down: keep the last values, opsdesk_db_connection_errors_total says why
    }
  }

  private async refreshStream(): Promise<void> {
    try {
      recordStreamInfo(await this.nats.jsm.streams.info(this.opts.stream));
    } catch {
      NatsMetrics.streamInfoErrors().inc({ stream: this.opts.stream });
    }
  }
}
