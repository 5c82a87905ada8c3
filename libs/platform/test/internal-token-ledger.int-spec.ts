import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@opsdesk/testing';
import { PgInternalTokenLedger, internalTokensUsedMigration } from '../src/internal-token-ledger';

/** The single-use ledger of internal tokens on a real Postgres (its own database). */
describe('PgInternalTokenLedger', () => {
  let db: TestDatabase;
  let pg: Client;

  beforeAll(async () => {
    db = await createTestDatabase('ledger');
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    await pg.query('CREATE SCHEMA svc');
    const Migration = internalTokensUsedMigration('svc', 1764900000000);
    // the migration only runs SQL: node-postgres stands in for TypeORM's query runner
    await new Migration().up(pg as never);
  });

  afterAll(async () => {
    await pg?.end();
    await db?.drop();
  });

  it('accepts a token id once, however many claims race for it (two ledgers: two replicas of a service)', async () => {
    const a = new PgInternalTokenLedger(pg, 'svc');
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      const b = new PgInternalTokenLedger(other, 'svc');
      const id = randomUUID();
      const exp = Date.now() + 60_000;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim(id, exp)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await a.claim(id, exp)).toBe(false);
      expect(await b.claim(randomUUID(), exp)).toBe(true);
    } finally {
      await other.end();
    }
  });

  it('prunes ids long expired as it goes, and keeps the live ones', async () => {
    const ledger = new PgInternalTokenLedger(pg, 'svc');
    const old = Date.now() - 3_600_000;
    for (let i = 0; i < 250; i++) expect(await ledger.claim(`old-${i}-${randomUUID()}`, old)).toBe(true);
    const live = randomUUID();
    expect(await ledger.claim(live, Date.now() + 60_000)).toBe(true);
    for (let i = 0; i < 249; i++) await ledger.claim(`new-${i}-${randomUUID()}`, Date.now() + 60_000);
    // the 500th claim started the prune, which runs beside the claim: poll for it
    const deadline = Date.now() + 10_000;
    let oldLeft = -1;
    while (Date.now() < deadline) {
      oldLeft = Number((await pg.query(`SELECT count(*) FROM svc.internal_tokens_used WHERE token_id LIKE 'old-%'`)).rows[0].count);
      if (oldLeft === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(oldLeft).toBe(0);
    expect(await ledger.claim(live, Date.now() + 60_000)).toBe(false);
  });

  it('refuses a schema name it would have to quote', () => {
    expect(() => new PgInternalTokenLedger(pg, 'svc"; DROP TABLE x; --')).toThrow('not a schema name');
  });
});
