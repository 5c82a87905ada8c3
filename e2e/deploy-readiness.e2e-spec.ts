import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { NATS_PROVISION_USER, createTestEnv, freePort, natsServiceEnv, serviceEnv, testNatsLogin, waitFor, type TestEnv } from '@opsdesk/testing';
import { provisionNatsFromEnv } from '@opsdesk/messaging';
import { migrate, serviceModule, urlOf } from './support/stack';

/**
 * Install order (issue 13): a service started before its migrations must not report ready (a first Helm
 * install used to show ready pods against an empty database), and one whose pool budget exceeds what the
 * Postgres server allows must refuse to start with one line saying so. Real Postgres, real NATS, the real
 * inventory service (in-process, then the built process).
 */
jest.setTimeout(120_000);

let t: TestEnv;
let app: NestFastifyApplication | null = null;

beforeAll(async () => {
  t = await createTestEnv('readiness');
  // the stream and bucket exist (provisioning runs before migrations in every install path)
  await provisionNatsFromEnv(t.env, testNatsLogin(NATS_PROVISION_USER));
});

afterAll(async () => {
  await app?.close().catch(() => undefined);
  await t?.db.drop().catch(() => undefined);
});

async function readyz(url: string): Promise<{ status: number; body: { status: string; checks: Record<string, string>; reasons?: Record<string, string> } }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

describe('/readyz and migrations', () => {
  it('is 503 (migrations: fail, with the reason) before the migrations, and 200 once they and the grants are applied', async () => {
    // the service boots against a database with its schema but no tables (a first install, hook not run yet)
    app = await serviceModule('inventory').bootstrapFromEnv({ ...serviceEnv(t, 'inventory'), ...natsServiceEnv('inventory') }, { quiet: true });
    const url = urlOf(app);
    const before = await readyz(url);
    expect(before.status).toBe(503);
    expect(before.body.status).toBe('not_ready');
    expect(before.body.checks).toMatchObject({ database: 'ok', nats: 'ok', migrations: 'fail' });
    expect(before.body.reasons?.migrations).toMatch(/no migrations applied in schema inventory|runtime grants were not applied/);

    // what the pre-install hook does: the migrations, then the runtime grants
    await migrate(t.logins.urls.migrator, ['inventory']);
    await waitFor(async () => (await readyz(url)).status === 200, { timeoutMs: 30_000, what: 'inventory ready after its migrations' });
    const after = await readyz(url);
    expect(after.body).toMatchObject({ status: 'ready', checks: { database: 'ok', nats: 'ok', migrations: 'ok' } });
  });

  it('names the pending migrations when only some are applied (an upgrade whose hook has not run)', async () => {
    const admin = new Client({ connectionString: t.db.url });
    await admin.connect();
    let removed: { name: string; timestamp: string } | undefined;
    try {
      // a second process of a newer version: one of its migrations is not recorded yet
      const rows = await admin.query<{ name: string; timestamp: string }>('SELECT name, timestamp::text FROM inventory.typeorm_migrations ORDER BY id DESC LIMIT 1');
      removed = rows.rows[0];
      expect(removed).toBeDefined();
      await admin.query('DELETE FROM inventory.typeorm_migrations WHERE name = $1', [removed!.name]);
      const second = await serviceModule('inventory').bootstrapFromEnv({ ...serviceEnv(t, 'inventory'), ...natsServiceEnv('inventory') }, { quiet: true });
      try {
        const r = await readyz(urlOf(second));
        expect(r.status).toBe(503);
        expect(r.body.reasons?.migrations).toBe(`1 of ${await count(admin) + 1} migrations pending in schema inventory: ${removed!.name}`);
      } finally {
        await second.close();
      }
    } finally {
      if (removed) await admin.query('INSERT INTO inventory.typeorm_migrations (timestamp, name) VALUES ($1, $2)', [removed.timestamp, removed.name]);
      await admin.end();
    }
  });
});

async function count(c: Client): Promise<number> {
  return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM inventory.typeorm_migrations')).rows[0].n);
}

describe('pool budget at start-up', () => {
  const main = join(__dirname, '..', 'dist', 'services', 'inventory', 'src', 'main.js');

  function runInventory(extra: NodeJS.ProcessEnv): Promise<{ code: number | null; lines: string[] }> {
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build:server\` first (npm test does)`);
    const child = spawn(process.execPath, [main], {
      env: { ...serviceEnv(t, 'inventory'), ...natsServiceEnv('inventory'), INVENTORY_PORT: '0', LOG_LEVEL: 'info', ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve({ code, lines: out.split('\n').filter(Boolean) }));
    });
  }

  it('refuses to start with one clear line when processes × pool exceeds the server\'s max_connections', async () => {
    const admin = new Client({ connectionString: t.db.url });
    await admin.connect();
    const max = Number((await admin.query<{ max_connections: string }>('SHOW max_connections')).rows[0].max_connections);
    await admin.end();
    // 30 connections per process (20 + 10), as many processes as the server has connections: far above it
    const r = await runInventory({ DB_POOL_SIZE: '20', DB_MAX_OVERFLOW: '10', DB_CLIENT_PROCESSES: String(max) });
    expect(r.code).not.toBe(0);
    const budget = r.lines.filter((l) => l.includes('database pool budget exceeded'));
    expect(budget).toHaveLength(1);
    expect(budget[0]).toContain(`DB_CLIENT_PROCESSES ${max} × (DB_POOL_SIZE + DB_MAX_OVERFLOW) 30 = ${max * 30} connections`);
    expect(budget[0]).toMatch(/server max_connections − superuser_reserved_connections = \d+ − DB_RESERVED_CONNECTIONS 10/);
    // a configuration error, not a connection problem: no retries before giving up
    expect(r.lines.filter((l) => /Retrying/.test(l))).toEqual([]);
  });

  it('checks against DB_MAX_CONNECTIONS when set (PgBouncer in front): the same pool over it is refused', async () => {
    const r = await runInventory({ DB_POOL_SIZE: '5', DB_MAX_OVERFLOW: '0', DB_CLIENT_PROCESSES: '20', DB_MAX_CONNECTIONS: '100', DB_RESERVED_CONNECTIONS: '10' });
    expect(r.code).not.toBe(0);
    const budget = r.lines.filter((l) => l.includes('database pool budget exceeded'));
    expect(budget).toHaveLength(1);
    expect(budget[0]).toContain('= 100 connections > 90 available (DB_MAX_CONNECTIONS 100 − DB_RESERVED_CONNECTIONS 10)');
  });
});

describe('pool budget within the limit', () => {
  it('a process whose budget fits starts and becomes ready', async () => {
    const port = String(await freePort());
    const child = spawn(process.execPath, [join(__dirname, '..', 'dist', 'services', 'inventory', 'src', 'main.js')], {
      env: { ...serviceEnv(t, 'inventory'), ...natsServiceEnv('inventory'), INVENTORY_PORT: port, LOG_LEVEL: 'error', DB_POOL_SIZE: '5', DB_MAX_OVERFLOW: '0', DB_CLIENT_PROCESSES: '18', DB_MAX_CONNECTIONS: '100' },
      stdio: 'ignore',
    });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok === true, { timeoutMs: 60_000, what: 'inventory (18 × 5 = 90 ≤ 100 − 10) ready' });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  });
});
