import { Client } from 'pg';
import request from 'supertest';
import { SERVICE_SCHEMAS, dbRoleNames, provisionDatabase } from '@opsdesk/database';
import { createTestDatabase, createTestEnv, type TestEnv } from '@opsdesk/testing';
import { migrate, startStack, waitFor, type Stack } from './support/stack';

/**
 * SPEC §7 "Trust inside the system", Postgres: one login per service, none superuser, migrations by a
 * migration login, audit's runtime login INSERT/SELECT only. Each attack is tried for real against a database
 * provisioned and migrated exactly like `npm start` / `npm run migrate` do, and must fail with Postgres' own
 * refusal; the positive controls show the logins can still do their job.
 */
let t: TestEnv;
const clients: Client[] = [];

async function connectAs(login: keyof TestEnv['logins']['urls']): Promise<Client> {
  const c = new Client({ connectionString: t.logins.urls[login] });
  await c.connect();
  clients.push(c);
  return c;
}

/** Runs `sql` in a transaction that is always rolled back; the error message, or null when it succeeded. */
async function attempt(c: Client, sql: string): Promise<string | null> {
  await c.query('BEGIN');
  try {
    await c.query(sql);
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.query('ROLLBACK');
  }
}

/** One table of each schema to attack from the others. */
const TABLE_OF: Record<(typeof SERVICE_SCHEMAS)[number], string> = {
  auth: 'auth.users',
  inventory: 'inventory.hosts',
  audit: 'audit.records',
  artifacts: 'artifacts.artifacts',
};

beforeAll(async () => {
  t = await createTestEnv('dblogins');
  await migrate(t.logins.urls.migrator);
});

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await t?.db.drop().catch(() => undefined);
});

describe('logins', () => {
  it('every login is a non-superuser without CREATEROLE/CREATEDB/BYPASSRLS; the owner cannot log in', async () => {
    const n = dbRoleNames(t.logins.prefix);
    const admin = await connectAs('migrator');
    const { rows } = await admin.query(
      `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolcanlogin FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY rolname`,
      [`${t.logins.prefix}_`],
    );
    expect(rows.map((r) => r.rolname).sort()).toEqual([n.migrator, n.monitor, n.owner, ...Object.values(n.services)].sort());
    for (const r of rows) {
      expect({ ...r, rolcanlogin: undefined }).toEqual({ rolname: r.rolname, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, rolreplication: false, rolcanlogin: undefined });
      expect(r.rolcanlogin).toBe(r.rolname !== n.owner);
    }
  });

  it('migrations ran as the migrator: the schemas and their objects belong to the NOLOGIN owner role', async () => {
    const n = dbRoleNames(t.logins.prefix);
    const c = await connectAs('migrator');
    const { rows } = await c.query(
      `SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = ANY($1)
       UNION SELECT DISTINCT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY($1)`,
      [[...SERVICE_SCHEMAS]],
    );
    expect(rows).toEqual([{ owner: n.owner }]);
    expect((await c.query('SELECT session_user, current_user')).rows[0]).toEqual({ session_user: n.migrator, current_user: n.owner });
  });
});

describe('the audit runtime login', () => {
  let audit: Client;
  beforeAll(async () => {
    audit = await connectAs('audit');
    // a real chained record and checkpoint written by the owner, so every attack below has a target row
    const owner = await connectAs('migrator');
    await owner.query(`INSERT INTO audit.records (seq, event_id, type, source, occurred_at, recorded_at, entity_type, data, prev_hash, hash)
      VALUES (1, gen_random_uuid(), 'test.row', 'test', now(), now(), 'test', '{}', repeat('0', 64), repeat('1', 64))`);
    await owner.query(`INSERT INTO audit.checkpoints (seq, hash, created_at, key_id, signature, alg) VALUES (1, repeat('1', 64), now(), 'k', 's', 'ed25519')`);
  });

  it('can SELECT and INSERT its tables (what the service needs)', async () => {
    expect(await attempt(audit, `SELECT count(*) FROM audit.records`)).toBeNull();
    expect(await attempt(audit, `SELECT seq, hash FROM audit.chain_head WHERE id = 1 FOR UPDATE`)).toBeNull();
    expect(
      await attempt(audit, `INSERT INTO audit.records (seq, event_id, type, source, occurred_at, recorded_at, entity_type, data, prev_hash, hash)
        VALUES (2, gen_random_uuid(), 'test.row', 'test', now(), now(), 'test', '{}', repeat('1', 64), repeat('2', 64))`),
    ).toBeNull();
    expect(await attempt(audit, `INSERT INTO audit.inbox (consumer, event_id) VALUES ('c', gen_random_uuid())`)).toBeNull();
    expect(await attempt(audit, `UPDATE audit.chain_head SET seq = seq + 1 WHERE id = 1`)).toBeNull();
  });

  it.each([
    ['UPDATE', `UPDATE audit.records SET type = 'forged' WHERE seq = 1`],
    ['DELETE', `DELETE FROM audit.records WHERE seq = 1`],
    ['TRUNCATE', `TRUNCATE audit.records`],
    ['UPDATE a checkpoint', `UPDATE audit.checkpoints SET signature = 'x'`],
    ['DELETE a checkpoint', `DELETE FROM audit.checkpoints`],
    ['TRUNCATE checkpoints', `TRUNCATE audit.checkpoints`],
    ['DELETE the chain head', `DELETE FROM audit.chain_head`],
    ['UPDATE the inbox', `UPDATE audit.inbox SET consumer = 'x'`],
  ])('cannot %s (permission denied before any trigger)', async (_what, sql) => {
    expect(await attempt(audit, sql)).toMatch(/^permission denied for table/);
  });

  it.each([
    ['disable one trigger', `ALTER TABLE audit.records DISABLE TRIGGER records_append_only`],
    ['disable every trigger', `ALTER TABLE audit.records DISABLE TRIGGER ALL`],
    ['drop a trigger', `DROP TRIGGER records_no_truncate ON audit.records`],
    ['replace the trigger function', `CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$`],
    ['drop the table', `DROP TABLE audit.checkpoints`],
    ['change the replication role (skips triggers)', `SET session_replication_role = replica`],
  ])('cannot %s', async (_what, sql) => {
    expect(await attempt(audit, sql)).toMatch(/must be owner|permission denied/);
  });

  it('cannot grant itself more, nor create objects anywhere', async () => {
    // Postgres answers a GRANT by a non-holder with a warning ("no privileges were granted"): check the effect
    await audit.query(`GRANT UPDATE, DELETE, TRUNCATE ON audit.records TO CURRENT_USER`);
    expect(await attempt(audit, `DELETE FROM audit.records WHERE seq = 1`)).toMatch(/^permission denied for table records/);
    expect(await attempt(audit, `CREATE TABLE audit.shadow (id int)`)).toMatch(/permission denied for schema audit/);
    expect(await attempt(audit, `CREATE TABLE public.shadow (id int)`)).toMatch(/permission denied for schema public/);
    expect(await attempt(audit, `CREATE SCHEMA shadow`)).toMatch(/permission denied for database/);
  });

  it('RESET ROLE leaves it itself: no superuser, no owner role to switch to', async () => {
    const n = dbRoleNames(t.logins.prefix);
    await audit.query('RESET ROLE');
    const me = (await audit.query(`SELECT current_user, session_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super`)).rows[0];
    expect(me).toEqual({ current_user: n.services.audit, session_user: n.services.audit, super: false });
    expect(await attempt(audit, `UPDATE audit.records SET type = 'forged' WHERE seq = 1`)).toMatch(/^permission denied for table records/);
    expect(await attempt(audit, `SET ROLE postgres`)).toMatch(/permission denied to set role/);
    expect(await attempt(audit, `SET ROLE ${n.owner}`)).toMatch(/permission denied to set role/);
    expect(await attempt(audit, `SET ROLE ${n.migrator}`)).toMatch(/permission denied to set role/);
    expect(await attempt(audit, `SET SESSION AUTHORIZATION postgres`)).toMatch(/permission denied to set session authorization/);
    // the trail is untouched
    expect((await audit.query(`SELECT type FROM audit.records WHERE seq = 1`)).rows).toEqual([{ type: 'test.row' }]);
  });
});

describe("a service's login and the other schemas", () => {
  const pairs = SERVICE_SCHEMAS.flatMap((login) => SERVICE_SCHEMAS.filter((s) => s !== login).map((schema) => [login, schema] as const));

  it.each(pairs)('%s cannot read or write %s', async (login, schema) => {
    const c = await connectAs(login);
    const table = TABLE_OF[schema];
    expect(await attempt(c, `SELECT * FROM ${table} LIMIT 1`)).toMatch(new RegExp(`^permission denied for schema ${schema}`));
    expect(await attempt(c, `DELETE FROM ${table}`)).toMatch(new RegExp(`^permission denied for schema ${schema}`));
    expect(await attempt(c, `INSERT INTO ${schema}.outbox (id, subject, payload) VALUES (gen_random_uuid(), 'x', '{}')`)).toMatch(
      new RegExp(`^permission denied for schema ${schema}`),
    );
  });

  it.each(SERVICE_SCHEMAS.filter((s) => s !== 'audit'))('%s reads and writes its own schema, but cannot alter it or touch the migrations', async (schema) => {
    const c = await connectAs(schema);
    expect(await attempt(c, `SELECT * FROM ${TABLE_OF[schema]} LIMIT 1`)).toBeNull();
    expect(await attempt(c, `INSERT INTO ${schema}.outbox (id, subject, payload) VALUES (gen_random_uuid(), 'x', '{}')`)).toBeNull();
    expect(await attempt(c, `DELETE FROM ${schema}.outbox`)).toBeNull();
    expect(await attempt(c, `ALTER TABLE ${TABLE_OF[schema]} DISABLE TRIGGER ALL`)).toMatch(/must be owner/);
    expect(await attempt(c, `TRUNCATE ${TABLE_OF[schema]}`)).toMatch(/^permission denied for table/);
    expect(await attempt(c, `DELETE FROM ${schema}.typeorm_migrations`)).toMatch(/^permission denied for table typeorm_migrations/);
  });

  it('the monitoring login reads statistics, not data', async () => {
    const c = await connectAs('monitor');
    expect(await attempt(c, `SELECT count(*) FROM pg_stat_activity`)).toBeNull();
    expect(await attempt(c, `SELECT count(*) FROM pg_stat_user_tables`)).toBeNull();
    for (const schema of SERVICE_SCHEMAS) expect(await attempt(c, `SELECT * FROM ${TABLE_OF[schema]} LIMIT 1`)).toMatch(/^permission denied for schema/);
  });
});

describe('provisioning', () => {
  it('hands a pre-logins database (objects owned by a superuser) over to the owner role, idempotently', async () => {
    const legacy = await createTestDatabase('dbloginslegacy');
    try {
      await migrate(legacy.url, ['auth']); // the old model: migrations as the superuser
      const prefix = legacy.name;
      for (let i = 0; i < 2; i++) await provisionDatabase(legacy.url, { prefix, passwords: { migrator: 'm', auth: 'a' } });
      const c = new Client({ connectionString: legacy.url });
      await c.connect();
      try {
        const owners = await c.query(
          `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'auth'::regnamespace AND relkind IN ('r', 'S', 'i')`,
        );
        expect(owners.rows).toEqual([{ owner: `${prefix}_owner` }]);
      } finally {
        await c.end();
      }
    } finally {
      await legacy.drop();
    }
  });
});

describe('a running stack', () => {
  let stack: Stack;
  afterAll(async () => stack?.stop());

  it('each service is connected with its own login and none with a superuser', async () => {
    stack = await startStack('dbloginsstack', { services: ['auth', 'inventory', 'audit', 'artifacts'] });
    await request(stack.internalUrl).get('/readyz').expect(200);
    const admin = new Client({ connectionString: stack.db.url });
    await admin.connect();
    try {
      let rows: Array<{ app: string; usename: string; super: boolean }> = [];
      const seen = async () =>
        (rows = (
          await admin.query<{ app: string; usename: string; super: boolean }>(
            `SELECT DISTINCT a.application_name AS app, a.usename, r.rolsuper AS super FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
             WHERE a.datname = current_database() AND a.application_name LIKE 'opsdesk-%'`,
          )
        ).rows);
      const pools = SERVICE_SCHEMAS.map((s) => `opsdesk-${s}`);
      await waitFor(async () => {
        await seen();
        return pools.every((p) => rows.some((r) => r.app === p));
      }, { what: 'every service connected' });
      // pools (opsdesk-<schema>) and outbox listeners (opsdesk-<schema>-relay) alike
      for (const r of rows) {
        const schema = r.app.replace(/^opsdesk-/, '').replace(/-relay$/, '');
        expect(r).toEqual({ app: r.app, usename: `${stack.logins.prefix}_${schema}`, super: false });
      }
    } finally {
      await admin.end();
    }
  });
});
