import { randomUUID } from 'node:crypto';
import type { Client as PgClient, Pool } from 'pg';
import { headers as natsHeaders, type JetStreamClient } from 'nats';
import type { DataSource } from 'typeorm';
import { eventSubject, type EventEnvelope, type NewEvent } from '@opsdesk/contracts';
import { Metrics, SpanKind, contextFromCarrier, gauge, publishSpanAttributes, traceHeaders, untraced, withSpan } from '@opsdesk/observability';

export interface OutboxOptions {
  schema: string;
  /** service name, the `source` of every event */
  source: string;
  subjectPrefix: string;
}

/**
 * What the writer needs of the caller's transaction: one method to run SQL in it. A TypeORM EntityManager of a
 * transaction fits, and so does a node-postgres client between BEGIN and COMMIT (the CSV import's raw path).
 */
export interface SqlExecutor {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Writes events into the outbox inside the caller's transaction: the event exists if and only if the
 * change committed. The active trace context is stored with the row so the relay can continue the trace.
 */
export class OutboxWriter {
  constructor(private readonly opts: OutboxOptions) {}

  async add(tx: SqlExecutor, events: NewEvent | NewEvent[]): Promise<EventEnvelope[]> {
    const { table, rows } = this.rows(Array.isArray(events) ? events : [events]);
    if (rows.length === 0) return [];
    const values: unknown[] = [];
    const tuples = rows.map((r, i) => {
      values.push(...r.params);
      const b = i * 4;
      return `($${b + 1}, $${b + 2}, $${b + 3}::jsonb, $${b + 4}::jsonb)`;
    });
    await tx.query(`INSERT INTO ${table} (id, subject, payload, headers) VALUES ${tuples.join(', ')}`, values);
    return rows.map((r) => r.envelope);
  }

  /**
   * The outbox rows of these events (envelope, subject, trace headers) without writing them, for a caller whose
   * single statement writes the change and its event together (inventory's host create splices the stored view
   * into the payload). The caller must insert them in the transaction (or statement) of the change.
   */
  rows(events: NewEvent[]): { table: string; rows: NewOutboxRow[] } {
    const headers = JSON.stringify(traceHeaders());
    const rows = events.map((e): NewOutboxRow => {
      const envelope: EventEnvelope = {
        id: randomUUID(),
        type: e.type,
        version: e.version ?? 1,
        occurred_at: new Date().toISOString(),
        source: this.opts.source,
        actor: e.actor,
        request_id: e.request_id,
        subject: e.subject,
        data: e.data,
      };
      return { envelope, params: [envelope.id, eventSubject(this.opts.subjectPrefix, envelope.type), JSON.stringify(envelope), headers] };
    });
    return { table: `"${this.opts.schema}".outbox`, rows };
  }
}

/** One outbox row not yet written: values for (id, subject, payload::jsonb, headers::jsonb), in that order. */
export interface NewOutboxRow {
  envelope: EventEnvelope;
  params: [id: string, subject: string, payload: string, headers: string];
}

export interface OutboxRow {
  seq: string;
  id: string;
  subject: string;
  payload: EventEnvelope;
  headers: Record<string, string>;
}

export interface RelayOptions {
  schema: string;
  batchSize?: number;
  pollIntervalMs?: number;
  /** published rows are kept this long for inspection, then deleted */
  retentionHours?: number;
  publishTimeoutMs?: number;
  logger?: { warn(msg: string): void; error(msg: string): void; log(msg: string): void };
  /**
   * Fault injection for tests of the crash window between "published" and "marked published".
   * Called for each acknowledged publish, in `seq` order, after the whole batch was sent and before it is marked.
   */
  afterPublish?: (row: OutboxRow) => Promise<void> | void;
}

/**
 * Publishes outbox rows to JetStream in `seq` order with Nats-Msg-Id = event id.
 *
 * - Wakes on LISTEN/NOTIFY (`<schema>_outbox`) and polls as a fallback.
 * - Several replicas may run: a transaction-scoped advisory lock lets one relay work a batch at a time.
 * - Crash between publish and mark: the rows stay unmarked and are published again; JetStream drops the
 *   copy inside the stream's duplicate window, and consumers dedupe by event id (inbox) beyond it.
 * - NATS down: publishing fails, the batch keeps its unpublished rows, the relay backs off and retries.
 * Ordering: events of one entity keep their causal order (the entity row lock orders their transactions
 * before the outbox insert); unrelated concurrent transactions are ordered by sequence allocation.
 */
export class OutboxRelay {
  private listener: PgClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = true;
  private failures = 0;
  private lastCleanup = 0;
  private idle: Promise<void> = Promise.resolve();
  private readonly batchSize: number;
  private readonly published = Metrics.outboxPublished();
  private readonly publishFailures = Metrics.outboxPublishFailures();

  constructor(
    private readonly dataSource: DataSource,
    private readonly js: JetStreamClient,
    private readonly opts: RelayOptions,
  ) {
    this.batchSize = opts.batchSize ?? 500;
    // both go into the relay's SQL text (runOnce)
    if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error(`invalid outbox schema: ${opts.schema}`);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error(`invalid outbox batch size: ${this.batchSize}`);
    registerBacklogCollector(opts.schema, dataSource);
  }

  async start(): Promise<void> {
    if (!this.stopped) return; // already running
    this.stopped = false;
    await this.listen();
    const interval = this.opts.pollIntervalMs ?? 1000;
    this.timer = setInterval(() => this.kick(), interval);
    this.timer.unref();
    this.kick();
  }

  /**
   * Stops the relay after one last pass (bounded by `flushMs`), so events committed by work that finished
   * during a graceful shutdown are published now rather than by the next start or another replica.
   */
  async stop(flushMs = 3000): Promise<void> {
    if (!this.stopped) {
      this.kick();
      // the bound must not outlive the pass: a pending 3 s timer kept test workers (and stopping processes) alive
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([this.idle, new Promise<void>((r) => (bound = setTimeout(r, flushMs)))]);
      clearTimeout(bound);
    }
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
    await this.idle;
  }

  /** Ask for a run now; runs are never concurrent within one relay. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    // polling and LISTEN wake-ups are background work: no root trace per pass (publish spans still join
    // the trace stored with each row)
    this.idle = untraced(() => this.drain()).finally(() => {
      this.running = false;
    });
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      try {
        let n: number;
        do {
          n = await this.runOnce();
        } while (n === this.batchSize && !this.stopped);
        this.failures = 0;
        await this.cleanup();
      } catch (err) {
        this.failures++;
        this.publishFailures.inc();
        const delay = Math.min(250 * 2 ** Math.min(this.failures, 6), 10_000);
        this.opts.logger?.warn(`outbox relay: ${(err as Error).message}; retrying in ${delay} ms`);
        await sleep(delay);
        if (!this.stopped) this.again = true;
      }
    } while (this.again && !this.stopped);
  }

  /**
   * Publishes one batch. Returns the number of rows published (0 when another replica holds the lock).
   *
   * The batch is pipelined: every row is published at once (in `seq` order, on one connection, so JetStream
   * stores them in that order), then the acks are awaited together and the acknowledged rows are marked in the
   * same short transaction. One publish round trip per batch instead of one per row.
   *  - A failed publish: the rows before it are marked, it and every later row stay unmarked and are sent again
   *    by the next pass (later rows that did reach the stream are dropped then as duplicates: same Nats-Msg-Id
   *    inside the duplicate window). A publish fails alone only when the server refuses that one message; a
   *    timeout or a lost connection leaves it possibly stored, and its retry is dropped the same way.
   *  - A crash (kill -9) anywhere before COMMIT marks nothing: the whole batch is published again and
   *    JetStream keeps one copy of each (consumers also dedupe by event id through their inbox).
   */
  async runOnce(): Promise<number> {
    // Straight on the pool, two round trips per pass: `BEGIN` with the lock and the batch, then the marks with
    // `COMMIT` (simple-protocol statements; their only values are the validated schema and batch size, and
    // the seq numbers Postgres gave). TypeORM's query runner made it five (BEGIN, lock, SELECT, UPDATE, COMMIT).
    const client = await this.pool().connect();
    let open = false;
    let broken: Error | undefined;
    try {
      open = true;
      // rows only come back when this relay got the lock (pg_try_advisory_xact_lock is volatile, so the CTE
      // runs once, before the lateral read)
      const [, read] = (await client.query(
        `BEGIN; WITH l AS (SELECT pg_try_advisory_xact_lock(hashtext('opsdesk.outbox.${this.opts.schema}')) AS locked)
         SELECT l.locked, o.seq, o.id, o.subject, o.payload, o.headers FROM l
           LEFT JOIN LATERAL (SELECT seq, id, subject, payload, headers FROM "${this.opts.schema}".outbox
                               WHERE l.locked AND published_at IS NULL ORDER BY seq LIMIT ${this.batchSize}) o ON true
          ORDER BY o.seq`,
      )) as unknown as [unknown, { rows: Array<OutboxRow & { locked: boolean }> }];
      if (!read.rows[0]?.locked) return 0;
      const rows: OutboxRow[] = read.rows.filter((r) => r.seq !== null);
      const acks = await Promise.allSettled(rows.map((row) => this.publish(row)));
      const done: string[] = [];
      let failure: unknown = null;
      for (let i = 0; i < rows.length; i++) {
        const ack = acks[i];
        if (ack.status === 'rejected') {
          failure = ack.reason;
          break;
        }
        done.push(rows[i].seq);
        if (this.opts.afterPublish) await this.opts.afterPublish(rows[i]);
      }
      if (done.some((seq) => !/^\d+$/.test(String(seq)))) throw new Error('outbox seq is not a number'); // never: bigserial
      await client.query(
        done.length > 0 ? `UPDATE "${this.opts.schema}".outbox SET published_at = now() WHERE seq = ANY('{${done.join(',')}}'::bigint[]); COMMIT` : 'COMMIT',
      );
      open = false;
      this.published.inc(done.length);
      if (failure) throw failure;
      return done.length;
    } catch (err) {
      if (isConnectionError(err)) broken = err as Error;
      throw err;
    } finally {
      if (open && !broken) await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      client.release(broken);
    }
  }

  /** The DataSource's own node-postgres pool (same connections, limits and error metrics as TypeORM's). */
  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  /**
   * One row to JetStream with Nats-Msg-Id = event id. The publish span continues the trace of the request that
   * wrote the row (its stored traceparent), and the consumer continues this span (its context replaces the
   * stored one in the NATS headers).
   */
  private publish(row: OutboxRow): Promise<void> {
    return withSpan(
      `${row.subject} publish`,
      SpanKind.PRODUCER,
      publishSpanAttributes(row.subject, row.id),
      async () => {
        const h = natsHeaders();
        for (const [k, v] of Object.entries({ ...(row.headers ?? {}), ...traceHeaders() })) h.set(k, String(v));
        await this.js.publish(row.subject, Buffer.from(JSON.stringify(row.payload)), {
          msgID: row.id,
          headers: h,
          timeout: this.opts.publishTimeoutMs ?? 5000,
        });
      },
      contextFromCarrier(stringHeaders(row.headers)),
    );
  }

  private async cleanup(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCleanup < 10 * 60_000) return;
    this.lastCleanup = now;
    await this.dataSource.query(
      `DELETE FROM "${this.opts.schema}".outbox WHERE published_at < now() - make_interval(hours => $1)`,
      [this.opts.retentionHours ?? 24],
    );
  }

  private async listen(): Promise<void> {
    const url = (this.dataSource.options as { url?: string }).url;
    if (!url || this.stopped) return;
    // pg is required here, not at the top: the messaging package is also the gateway's, which has no database
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Client } = require('pg') as typeof import('pg');
    const client: PgClient = new Client({ connectionString: url, application_name: `opsdesk-${this.opts.schema}-relay` });
    client.on('notification', () => this.kick());
    client.on('error', (err) => {
      if (!this.stopped) this.opts.logger?.warn(`outbox listener lost: ${err.message}; polling until it is back`);
      if (this.listener === client) this.listener = null;
      client.end().catch(() => undefined);
      if (!this.stopped) setTimeout(() => void this.listen().catch(() => undefined), 2000).unref();
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.opts.schema}_outbox"`);
      this.listener = client;
    } catch (err) {
      await client.end().catch(() => undefined);
      this.opts.logger?.warn(`outbox LISTEN failed: ${(err as Error).message}; polling only`);
      if (!this.stopped) setTimeout(() => void this.listen().catch(() => undefined), 2000).unref();
    }
  }
}

const backlogSources = new Map<string, DataSource>();
/** Backlog and age are read from the outbox at scrape time, so they are right even while the relay is stuck. */
function registerBacklogCollector(schema: string, ds: DataSource): void {
  backlogSources.set(schema, ds);
  const age = gauge('opsdesk_outbox_oldest_age_seconds', 'Age of the oldest unpublished outbox row');
  gauge('opsdesk_outbox_backlog', 'Unpublished outbox rows', [], async function collect() {
    let total = 0;
    let oldest = 0;
    for (const [s, source] of backlogSources) {
      if (!source.isInitialized) continue;
      try {
        const [r] = await source.query(
          `SELECT count(*)::int AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float AS age
             FROM "${s}".outbox WHERE published_at IS NULL`,
        );
        total += r.n;
        oldest = Math.max(oldest, r.age);
      } catch {
        // a scrape must not fail because the database blips; opsdesk_db_connection_errors_total covers that
      }
    }
    this.set(total);
    age.set(oldest);
  });
}

/** A failure of the connection itself (it must not go back to the pool), not of a statement. */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (typeof e?.code === 'string' && /^(08|57P0)/.test(e.code)) || /Connection terminated|ECONNRESET|EPIPE|not queryable/i.test(e?.message ?? '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function stringHeaders(h: Record<string, unknown> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k, String(v)]));
}
