import type { DataSource } from 'typeorm';

/**
 * The connection budget (issue 13): every process of every service holds a pool of up to
 * DB_POOL_SIZE + DB_MAX_OVERFLOW connections on the same Postgres. With the defaults (30) and a few replicas
 * per service that is hundreds of connections against Postgres' default max_connections of 100; past it,
 * new connections fail at the worst moment (a scale-out under load). So each process checks at boot,
 * against what the server really allows, that `processes × pool` fits, and refuses to start otherwise.
 */
export interface PoolBudgetOptions {
  /** this process' hard pool maximum (DB_POOL_SIZE + DB_MAX_OVERFLOW) */
  poolMax: number;
  /** processes holding a pool on this server, all services and replicas (HPA maximum): DB_CLIENT_PROCESSES */
  processes: number;
  /** connections kept free for migrations, the exporter, backups and an operator's psql: DB_RESERVED_CONNECTIONS */
  reserved: number;
  /**
   * DB_MAX_CONNECTIONS: the limit to check against; 0 = the server's `max_connections` minus
   * `superuser_reserved_connections`. Behind PgBouncer, its `max_client_conn`.
   */
  limit?: number;
}

export interface PoolBudgetVerdict {
  ok: boolean;
  /** connections all processes may open */
  demand: number;
  /** connections available to them */
  available: number;
  message: string;
}

/** Pure: whether `processes × poolMax` fits in `limit − reserved`, and the one line that says so. */
export function evaluatePoolBudget(opts: Required<PoolBudgetOptions>, source: string): PoolBudgetVerdict {
  const demand = opts.processes * opts.poolMax;
  const available = opts.limit - opts.reserved;
  const ok = demand <= available;
  const message = ok
    ? `database pool budget ok: ${opts.processes} processes × ${opts.poolMax} connections = ${demand} ≤ ${available} (${source} ${opts.limit} − ${opts.reserved} reserved)`
    : `database pool budget exceeded: DB_CLIENT_PROCESSES ${opts.processes} × (DB_POOL_SIZE + DB_MAX_OVERFLOW) ${opts.poolMax} = ${demand} connections > ${available} available (${source} ${opts.limit} − DB_RESERVED_CONNECTIONS ${opts.reserved}); lower the pool, put PgBouncer in front (then DB_MAX_CONNECTIONS = its max_client_conn) or raise max_connections`;
  return { ok, demand, available, message };
}

export class PoolBudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolBudgetError';
  }
}

/** Reads the server's limit (unless configured) and throws PoolBudgetError with one line when the budget is exceeded. */
export async function assertPoolBudget(ds: DataSource, opts: PoolBudgetOptions): Promise<PoolBudgetVerdict> {
  let limit = opts.limit ?? 0;
  let source = 'DB_MAX_CONNECTIONS';
  if (limit <= 0) {
    const rows: { max: string; su: string }[] = await ds.query(
      `SELECT current_setting('max_connections') AS max, current_setting('superuser_reserved_connections') AS su`,
    );
    // service logins are never superusers (provision.ts), so the superuser slots are not theirs
    limit = Number(rows[0].max) - Number(rows[0].su);
    source = 'server max_connections − superuser_reserved_connections =';
  }
  const verdict = evaluatePoolBudget({ poolMax: opts.poolMax, processes: opts.processes, reserved: opts.reserved, limit }, source);
  if (!verdict.ok) throw new PoolBudgetError(verdict.message);
  return verdict;
}
