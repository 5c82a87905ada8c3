import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DB_LOGINS, dbRoleNames, loginRole, loginUrl, provisionDatabase, type DbLogin } from '@opsdesk/database';

/** Admin connection used to create throw-away databases (trust auth on 127.0.0.1 in dev and CI). */
export const TEST_PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh database per suite, so suites run in parallel without seeing each other's rows. */
export async function createTestDatabase(label = 'suite', adminUrl = TEST_PG_ADMIN_URL): Promise<TestDatabase> {
  const name = `opsdesk_t_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(adminUrl, name),
    async drop() {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await dropTestLogins(c, name);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * The per-service logins of one test database (SPEC §7): role names are cluster-wide, so the prefix is the
 * database's own unique name (`opsdesk_t_<label>_<hex>_auth`, …) and parallel suites never share a login.
 */
export interface TestLogins {
  prefix: string;
  /** postgres:// URL per login: migrator (migrations, seeds), auth, inventory, audit, artifacts, monitor */
  urls: Record<DbLogin, string>;
}

export async function provisionTestLogins(db: TestDatabase): Promise<TestLogins> {
  const prefix = db.name;
  const names = dbRoleNames(prefix);
  const passwords = Object.fromEntries(DB_LOGINS.map((l) => [l, randomBytes(12).toString('hex')])) as Record<DbLogin, string>;
  await provisionDatabase(db.url, { prefix, passwords });
  const urls = Object.fromEntries(DB_LOGINS.map((l) => [l, loginUrl(db.url, loginRole(names, l), passwords[l])])) as Record<DbLogin, string>;
  return { prefix, urls };
}

/** Roles of a dropped test database (its objects, grants and default privileges went with it). */
async function dropTestLogins(admin: Client, database: string): Promise<void> {
  const { rows } = await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)`, [`${database}_`]);
  // best effort: a role still referenced elsewhere (e.g. a restored copy of the database) stays behind
  for (const r of rows) await admin.query(`DROP ROLE IF EXISTS "${r.rolname}"`).catch(() => undefined);
}
