import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createTestEnv, type TestEnv } from '@opsdesk/testing';
import { seedAdmin } from '../src/seed-admin';

describe('npm run seed:admin', () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await createTestEnv('seed');
  });
  afterAll(async () => t.db.drop());

  it('creates the admin once (with an outbox event), and a second run changes nothing', async () => {
    const env = { ...t.env, ADMIN_EMAIL: 'Root@Example.test', ADMIN_PASSWORD: 'Seed-Passw0rd!x' };
    expect(await seedAdmin(env)).toEqual({ created: true, email: 'root@example.test', generatedPassword: undefined });
    expect(await seedAdmin({ ...env, ADMIN_PASSWORD: 'Other-Passw0rd!x' })).toEqual({ created: false, email: 'root@example.test' });
    const c = new Client({ connectionString: t.db.url });
    await c.connect();
    try {
      const users = await c.query(`SELECT email, role, password_hash FROM auth.users`);
      expect(users.rows).toHaveLength(1);
      expect(users.rows[0]).toMatchObject({ email: 'root@example.test', role: 'admin' });
      // Argon2id with the OWASP parameters (parameter order in the PHC string is the library's)
      const params = String(users.rows[0].password_hash).split('$')[3].split(',').sort();
      expect(String(users.rows[0].password_hash).startsWith('$argon2id$v=19$')).toBe(true);
      expect(params).toEqual(['m=19456', 'p=1', 't=2']);
      const events = await c.query(`SELECT payload->>'type' AS type FROM auth.outbox`);
      expect(events.rows).toEqual([{ type: 'auth.user.created' }]);
    } finally {
      await c.end();
    }
  });

  it('generates a strong password, returns it once and saves it with mode 600', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'opsdesk-state-'));
    const env = { ...t.env, ADMIN_EMAIL: 'generated@example.test', ADMIN_PASSWORD: '', OPSDESK_STATE_DIR: stateDir };
    const r = await seedAdmin(env);
    expect(r.created).toBe(true);
    expect(r.generatedPassword).toMatch(/^.{24,}$/);
    const file = join(stateDir, 'admin-password');
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8').trim()).toBe(r.generatedPassword);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    rmSync(stateDir, { recursive: true, force: true });
  });
});
