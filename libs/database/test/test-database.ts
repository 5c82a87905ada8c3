import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * A throw-away database for this library's own tests. Not @opsdesk/testing's createTestDatabase: that library
 * provisions the service logins with this one (provision.ts), and Nx forbids the dependency cycle.
 */
const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface LocalTestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createLocalTestDatabase(label: string): Promise<LocalTestDatabase> {
  const name = `opsdesk_t_${label}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      await admin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)`, [`${name}_`]);
        for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`).catch(() => undefined);
      });
    },
  };
}
