import { DataSource, type DataSourceOptions, type MixedList, type EntitySchema } from 'typeorm';

export interface ServiceDataSourceOptions {
  /** postgres:// URL (DATABASE_URL) */
  url: string;
  /** the one schema this service owns (SPEC §2) */
  schema: string;
  // TypeORM's own option type: classes, schemas or glob strings.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations?: MixedList<Function | string>;
  poolSize?: number;
  maxOverflow?: number;
  applicationName?: string;
  /**
   * run every pooled connection as this role (`SET ROLE` at connection start), e.g. a NOLOGIN role with
   * fewer rights than the login user that owns the schema and runs migrations
   */
  sessionRole?: string;
  /** called for every pool-level connection error (drives opsdesk_db_connection_errors_total) */
  onConnectionError?: (err: Error) => void;
}

export const SCHEMA_NAME_RE = /^[a-z_][a-z0-9_]*$/;

/**
 * A TypeORM DataSource bound to one service schema. Never `synchronize`: the schema only changes through
 * migrations. node-postgres has no "overflow" pool; DB_POOL_SIZE + DB_MAX_OVERFLOW is the hard maximum,
 * and idle connections above DB_POOL_SIZE close after 10 s, which is what SQLAlchemy's overflow means.
 */
export function createServiceDataSource(opts: ServiceDataSourceOptions): DataSource {
  if (!SCHEMA_NAME_RE.test(opts.schema)) throw new Error(`invalid schema name: ${opts.schema}`);
  if (opts.sessionRole !== undefined && !SCHEMA_NAME_RE.test(opts.sessionRole)) throw new Error(`invalid role name: ${opts.sessionRole}`);
  const poolSize = opts.poolSize ?? 20;
  const max = poolSize + (opts.maxOverflow ?? 10);
  const options: DataSourceOptions = {
    type: 'postgres',
    url: opts.url,
    schema: opts.schema,
    entities: opts.entities ?? [],
    migrations: opts.migrations ?? [],
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    poolErrorHandler: (err: unknown) => opts.onConnectionError?.(err instanceof Error ? err : new Error(String(err))),
    extra: {
      max,
      min: 0,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: 10_000,
      application_name: opts.applicationName ?? `opsdesk-${opts.schema}`,
      // Every connection resolves unqualified names in the service's own schema first.
      options: `-c search_path=${opts.schema},public${opts.sessionRole ? ` -c role=${opts.sessionRole}` : ''}`,
    },
  };
  return new DataSource(options);
}

/**
 * Applies pending migrations of one service. Several replicas may start at once: a session advisory lock
 * keyed by the schema name makes them take turns, and the schema is created before TypeORM looks for its
 * migrations table inside it.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const schema = (dataSource.options as { schema?: string }).schema;
  if (!schema || !SCHEMA_NAME_RE.test(schema)) throw new Error('DataSource has no valid schema');
  const wasInitialized = dataSource.isInitialized;
  if (!wasInitialized) await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`opsdesk.migrations.${schema}`]);
    try {
      // Only when missing: CREATE SCHEMA needs CREATE on the database even with IF NOT EXISTS, which the
      // migrator login does not have (provisioning creates the service schemas, see provision.ts).
      const exists = await runner.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.length === 0) await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`opsdesk.migrations.${schema}`]);
    }
  } finally {
    await runner.release();
    if (!wasInitialized) await dataSource.destroy();
  }
}

export async function isDatabaseUsable(dataSource: DataSource, timeoutMs = 2000): Promise<boolean> {
  if (!dataSource.isInitialized) return false;
  try {
    await Promise.race([
      dataSource.query('SELECT 1'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('db ping timeout')), timeoutMs).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}
