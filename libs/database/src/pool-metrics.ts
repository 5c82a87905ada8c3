import type { DataSource } from 'typeorm';
import { counter, gauge } from '@opsdesk/observability';

/**
 * Why a database call failed, when the failure is the connection's and not the statement's:
 * - refused: nothing listens / the server refuses new sessions (starting up, shutting down, unreachable)
 * - timeout: no connection within connectionTimeoutMillis while the pool still had room (server too slow to answer)
 * - pool_exhausted: no connection within connectionTimeoutMillis because every pooled connection was in use
 * - server_exhausted: the server has no connection slot left (SQLSTATE 53300)
 * - terminated: an open connection was closed under a query (server restart, admin kill, network reset)
 * A constraint violation or a syntax error is the statement's fault and returns null (not counted).
 */
export type DbErrorKind = 'refused' | 'timeout' | 'pool_exhausted' | 'server_exhausted' | 'terminated';

export function classifyDbError(err: unknown, pool?: { totalCount: number; max: number }): DbErrorKind | null {
  const e = err as { code?: string; message?: string; driverError?: unknown } | null;
  if (!e) return null;
  // TypeORM wraps driver errors (QueryFailedError.driverError)
  if (e.driverError && e.driverError !== err) {
    const inner = classifyDbError(e.driverError, pool);
    if (inner) return inner;
  }
  const code = e.code ?? '';
  const msg = e.message ?? '';
  if (/timeout exceeded when trying to connect/i.test(msg)) {
    return pool && pool.totalCount >= pool.max ? 'pool_exhausted' : 'timeout';
  }
  if (code === '53300' || /too many clients|remaining connection slots/i.test(msg)) return 'server_exhausted';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', '57P03'].includes(code)) return 'refused';
  if (code === 'ETIMEDOUT' || /connection timeout/i.test(msg)) return 'timeout';
  if (
    ['ECONNRESET', 'EPIPE', '57P01', '57P02'].includes(code) ||
    code.startsWith('08') ||
    /connection terminated|terminating connection|Connection is closed|server closed the connection/i.test(msg)
  ) {
    return 'terminated';
  }
  return null;
}

/** The part of node-postgres' Pool the metrics read (pg.Pool has all of it). */
export interface PgPoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max: number };
  connect: (...args: unknown[]) => unknown;
}

interface TrackedPool {
  name: string;
  pool: PgPoolLike;
}
const pools = new Set<TrackedPool>();

export const DbMetrics = {
  connectionErrors: () =>
    counter(
      'opsdesk_db_connection_errors_total',
      'Database calls that failed because of the connection (refused, timeout, pool_exhausted, server_exhausted, terminated), wherever they fail: connect, query, idle pool',
      ['pool', 'kind'],
    ),
};

function registerPoolGauges(): void {
  gauge('opsdesk_db_pool_connections', 'Pooled database connections by state (in_use, idle) and callers waiting for one (waiting)', ['pool', 'state'], function collect() {
    this.reset();
    for (const { name, pool } of pools) {
      this.set({ pool: name, state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.set({ pool: name, state: 'idle' }, pool.idleCount);
      this.set({ pool: name, state: 'waiting' }, pool.waitingCount);
    }
  });
  gauge('opsdesk_db_pool_max', 'Maximum connections of the pool (DB_POOL_SIZE + DB_MAX_OVERFLOW)', ['pool'], function collect() {
    this.reset();
    for (const { name, pool } of pools) this.set({ pool: name }, pool.options.max);
  });
}

/** node-postgres pool of an initialized TypeORM postgres DataSource. */
export function pgPoolOf(ds: DataSource): PgPoolLike | null {
  const master = (ds.driver as unknown as { master?: PgPoolLike }).master;
  return master && typeof master.connect === 'function' ? master : null;
}

/** Counts one failure if it is the connection's; returns its kind. */
export function countDbError(poolName: string, err: unknown, pool?: PgPoolLike): DbErrorKind | null {
  const kind = classifyDbError(err, pool ? { totalCount: pool.totalCount, max: pool.options.max } : undefined);
  if (kind) DbMetrics.connectionErrors().inc({ pool: poolName, kind });
  return kind;
}

/**
 * pg-pool removes its own 'error' listener from a client while it is checked out, so a connection the server ends
 * while its holder is between statements (the outbox relay awaiting JetStream acks inside its transaction, a
 * session-level advisory lock) emitted an unhandled 'error' and killed the process (57P01 during a Postgres fast
 * stop, found by the fault suite). Every client gets a listener of its own once: the holder's next query fails
 * (the client is no longer queryable), it is counted there, and release destroys the client.
 */
const guarded = new WeakSet<object>();
function guardCheckedOutClients(pool: NonNullable<ReturnType<typeof pgPoolOf>>): void {
  (pool as unknown as NodeJS.EventEmitter).on('acquire', (client: NodeJS.EventEmitter) => {
    if (guarded.has(client)) return;
    guarded.add(client);
    client.on('error', () => undefined);
  });
}

/**
 * Makes an initialized DataSource's failures visible: every failed connect of its pool (TypeORM checks out a
 * connection per query, so a database that is down fails here, not in the query), every query that failed
 * because its connection broke (a TypeORM subscriber sees each failed query), and the pool's size gauges.
 * Idle-connection errors arrive through `poolErrorHandler` (createServiceDataSource's onConnectionError).
 * Returns a function that stops tracking (DataSource destroyed).
 */
export function instrumentDataSource(ds: DataSource, poolName: string): () => void {
  registerPoolGauges();
  DbMetrics.connectionErrors();
  const pool = pgPoolOf(ds);
  const tracked: TrackedPool | null = pool ? { name: poolName, pool } : null;
  if (pool && tracked) {
    pools.add(tracked);
    guardCheckedOutClients(pool);
    const original = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
    pool.connect = (...args: unknown[]) => {
      const cb = args[0];
      if (typeof cb === 'function') {
        return original((err: unknown, ...rest: unknown[]) => {
          if (err) countDbError(poolName, err, pool);
          return (cb as (...a: unknown[]) => unknown)(err, ...rest);
        });
      }
      return (original() as Promise<unknown>).catch((err: unknown) => {
        countDbError(poolName, err, pool);
        throw err;
      });
    };
  }
  const subscriber = {
    afterQuery(event: { success: boolean; error?: unknown }) {
      if (!event.success) countDbError(poolName, event.error, pool ?? undefined);
    },
  };
  ds.subscribers.push(subscriber as never);
  return () => {
    if (tracked) pools.delete(tracked);
    const i = ds.subscribers.indexOf(subscriber as never);
    if (i >= 0) ds.subscribers.splice(i, 1);
  };
}
