import { createServer } from 'node:net';
import { Client } from 'pg';
import { metricsRegistry } from '@opsdesk/observability';
import { createLocalTestDatabase, type LocalTestDatabase } from './test-database';
import { createServiceDataSource } from '../src/data-source';
import { classifyDbError, instrumentDataSource, pgPoolOf } from '../src/pool-metrics';

async function counterValue(labels: Record<string, string>): Promise<number> {
  const m = await metricsRegistry.getSingleMetric('opsdesk_db_connection_errors_total')?.get();
  return m?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0) ?? 0;
}

async function gaugeValues(name: string): Promise<Array<{ labels: Record<string, unknown>; value: number }>> {
  const m = await metricsRegistry.getSingleMetric(name)?.get();
  return (m?.values ?? []).map((v) => ({ labels: v.labels, value: v.value }));
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('database pool metrics (real Postgres)', () => {
  let db: LocalTestDatabase;
  beforeAll(async () => {
    db = await createLocalTestDatabase('poolm');
  });
  afterAll(async () => db.drop());

  it('classifies what node-postgres really throws when nothing listens, and ignores statement errors', async () => {
    const c = new Client({ host: '127.0.0.1', port: await closedPort(), user: 'postgres', database: 'postgres' });
    const err = await c.connect().then(() => null, (e: unknown) => e);
    expect(classifyDbError(err)).toBe('refused');
    const ok = new Client({ connectionString: db.url });
    await ok.connect();
    const syntax = await ok.query('SELEKT 1').then(() => null, (e: unknown) => e);
    const unique = await ok.query("SELECT 1/0").then(() => null, (e: unknown) => e);
    await ok.end();
    expect([classifyDbError(syntax), classifyDbError(unique)]).toEqual([null, null]);
  });

  it('counts pool exhaustion and a connection killed under a query, and exports in-use/waiting/max', async () => {
    const ds = createServiceDataSource({ url: db.url, schema: 'public', poolSize: 1, maxOverflow: 0 });
    await ds.initialize();
    const stop = instrumentDataSource(ds, 'pooltest');
    try {
      const pool = pgPoolOf(ds) as unknown as { options: { connectionTimeoutMillis: number } };
      // the one connection sleeps; a second caller times out waiting for the pool
      pool.options.connectionTimeoutMillis = 300;
      const before = await counterValue({ pool: 'pooltest', kind: 'pool_exhausted' });
      const sleeper = ds.query('SELECT pg_sleep(30)').then(() => null, (e: unknown) => e);
      // wait until the sleeper holds the connection
      for (let i = 0; i < 100 && !(await gaugeValues('opsdesk_db_pool_connections')).some((v) => v.labels.pool === 'pooltest' && v.labels.state === 'in_use' && v.value === 1); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const waiting = ds.query('SELECT 1').then(() => null, (e: unknown) => e);
      const snapshot = await gaugeValues('opsdesk_db_pool_connections');
      expect(snapshot).toEqual(
        expect.arrayContaining([
          { labels: { pool: 'pooltest', state: 'in_use' }, value: 1 },
          { labels: { pool: 'pooltest', state: 'waiting' }, value: 1 },
        ]),
      );
      expect(await gaugeValues('opsdesk_db_pool_max')).toEqual(expect.arrayContaining([{ labels: { pool: 'pooltest' }, value: 1 }]));
      expect(String(await waiting)).toMatch(/timeout exceeded when trying to connect/);
      expect(await counterValue({ pool: 'pooltest', kind: 'pool_exhausted' })).toBe(before + 1);

      // the server kills the sleeping session: the failed query is counted as terminated
      const beforeTerm = await counterValue({ pool: 'pooltest', kind: 'terminated' });
      const admin = new Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(30)%'`);
      await admin.end();
      expect(String(await sleeper)).toMatch(/terminat/i);
      expect(await counterValue({ pool: 'pooltest', kind: 'terminated' })).toBeGreaterThan(beforeTerm);
    } finally {
      stop();
      await ds.destroy();
    }
  });

  it('a checked-out client whose connection the server ends between statements does not take the process down', async () => {
    const ds = createServiceDataSource({ url: db.url, schema: 'public', poolSize: 2, maxOverflow: 0 });
    await ds.initialize();
    const stop = instrumentDataSource(ds, 'guardtest');
    // an 'error' event without a listener would be thrown from the socket callback: catch it at process level
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const pool = pgPoolOf(ds) as unknown as { connect(): Promise<{ query(sql: string): Promise<{ rows: Array<{ pid: number }> }>; release(err?: unknown): void }> };
      // held like the outbox relay holds it: a transaction open, the holder awaiting something else
      const client = await pool.connect();
      const [{ pid }] = (await client.query('BEGIN; SELECT pg_backend_pid() AS pid') as unknown as Array<{ rows: Array<{ pid: number }> }>)[1].rows;
      const admin = new Client({ connectionString: db.url });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.end();
      // the holder learns it at its next statement, and hands the broken client back
      const next = await client.query('COMMIT').then(() => null, (e: unknown) => e);
      expect(String(next)).toMatch(/terminat|not queryable|Connection terminated/i);
      client.release(next);
      expect(uncaught).toEqual([]);
      // the pool goes on with a fresh connection
      expect(await ds.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    } finally {
      process.off('uncaughtException', onUncaught);
      stop();
      await ds.destroy();
    }
  });
});
