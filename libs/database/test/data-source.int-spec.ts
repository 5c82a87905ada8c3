import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createLocalTestDatabase, type LocalTestDatabase } from './test-database';
import { createServiceDataSource, isDatabaseUsable, runMigrations } from '../src/data-source';

class CreateThings1700000000000 implements MigrationInterface {
  name = 'CreateThings1700000000000';
  async up(q: QueryRunner): Promise<void> {
    // slow on purpose: a second runner must wait for the advisory lock, not apply it twice
    await q.query('SELECT pg_sleep(0.3)');
    await q.query('CREATE TABLE things (id int PRIMARY KEY)');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE things');
  }
}

describe('service data source and migrations (real Postgres)', () => {
  let db: LocalTestDatabase;
  beforeAll(async () => {
    db = await createLocalTestDatabase('dbsrc');
  });
  afterAll(async () => db.drop());

  const make = () => createServiceDataSource({ url: db.url, schema: 'svc', migrations: [CreateThings1700000000000], poolSize: 2, maxOverflow: 0 });

  it('creates the schema, and replicas migrating at once apply each migration exactly once', async () => {
    const [a, b] = await Promise.all([runMigrations(make()), runMigrations(make())]);
    expect([...a, ...b]).toEqual(['CreateThings1700000000000']);
    const ds = make();
    await ds.initialize();
    try {
      const applied = await ds.query(`SELECT name FROM svc.typeorm_migrations`);
      expect(applied).toEqual([{ name: 'CreateThings1700000000000' }]);
      // unqualified names resolve in the service's own schema (search_path)
      await ds.query('INSERT INTO things VALUES (1)');
      expect(await ds.query('SELECT count(*)::int AS n FROM svc.things')).toEqual([{ n: 1 }]);
      expect(await isDatabaseUsable(ds)).toBe(true);
    } finally {
      await ds.destroy();
    }
    expect(await runMigrations(make())).toEqual([]);
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => createServiceDataSource({ url: db.url, schema: 'bad"; DROP' })).toThrow(/invalid schema/);
  });

  it('reports an unusable database instead of throwing', async () => {
    const ds = createServiceDataSource({ url: 'postgres://postgres@127.0.0.1:1/none', schema: 'svc' });
    expect(await isDatabaseUsable(ds)).toBe(false);
  });
});
