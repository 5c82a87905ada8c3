import { Client } from 'pg';
import { createTestEnv, type TestEnv } from '@opsdesk/testing';
import { seedDemo } from '../src/seed-demo';

describe('npm run seed:demo', () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await createTestEnv('seeddemo');
  });
  afterAll(async () => t.db.drop());

  it('creates ~200 varied hosts with revisions and events once; a second run adds nothing', async () => {
    expect(await seedDemo(t.env)).toEqual({ created: 200, existing: 0 });
    expect(await seedDemo(t.env)).toEqual({ created: 0, existing: 200 });
    const c = new Client({ connectionString: t.db.url });
    await c.connect();
    try {
      const q = async (sql: string) => (await c.query(sql)).rows;
      expect(await q(`SELECT count(*)::int AS n FROM inventory.hosts`)).toEqual([{ n: 200 }]);
      expect(await q(`SELECT count(*)::int AS n FROM inventory.host_revisions WHERE action = 'created'`)).toEqual([{ n: 200 }]);
      expect(await q(`SELECT count(*)::int AS n FROM inventory.outbox WHERE payload->>'type' = 'inventory.host.created'`)).toEqual([{ n: 200 }]);
      // realistic spread: every environment and criticality, several teams, tags
      const envs = (await q(`SELECT DISTINCT environment FROM inventory.hosts ORDER BY 1`)).map((r) => r.environment);
      expect(envs).toEqual(['dev', 'prod', 'stage']);
      expect((await q(`SELECT DISTINCT criticality FROM inventory.hosts`)).length).toBe(4);
      expect((await q(`SELECT count(DISTINCT team)::int AS n FROM inventory.hosts`))[0].n).toBeGreaterThanOrEqual(4);
      expect((await q(`SELECT count(*)::int AS n FROM inventory.hosts WHERE cardinality(tags) > 0`))[0].n).toBeGreaterThan(100);
    } finally {
      await c.end();
    }
  });
});
