/**
 * Login latency through the real gateway → NATS → auth → Postgres (Argon2id at the production parameters).
 * `npm run bench:login` (BENCH_LOGINS, default 200). Prints p50/p95/p99 and writes bench/results/login.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestEnv } from '@opsdesk/testing';
import { runMigrations } from '@opsdesk/database';
import { createOpsDeskClient } from '@opsdesk/client';
// Benchmarks drive the services like the e2e stack does, through each service's bootstrap convention.
import { bootstrapFromEnv as bootAuth } from '../../services/auth/src/bootstrap';
import { bootstrapFromEnv as bootGateway } from '../../services/gateway/src/bootstrap';
import { createDataSource } from '../../services/auth/src/database/data-source';
import { seedAdmin } from '../../services/auth/src/seed-admin';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_LOGINS ?? 200);
  const { db, env } = await createTestEnv('benchlogin', {
    ADMIN_EMAIL: 'bench@opsdesk.local',
    ADMIN_PASSWORD: 'Bench-Passw0rd!x',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_BURST: '100000',
    LOG_LEVEL: 'error',
  });
  // as the migration login, like npm run migrate (the superuser would own tables the migrator cannot see)
  await runMigrations(createDataSource(env.DATABASE_URL as string));
  await seedAdmin(env);
  const auth = await bootAuth(env, { quiet: true });
  const gateway = await bootGateway(env, { quiet: true });
  const addr = gateway.getHttpServer().address();
  const api = createOpsDeskClient({ baseUrl: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` });
  const body = { email: 'bench@opsdesk.local', password: 'Bench-Passw0rd!x' };
  const times: number[] = [];
  try {
    for (let i = 0; i < n + 10; i++) {
      const t0 = process.hrtime.bigint();
      const { response } = await api.POST('/api/auth/login', { body, parseAs: 'arrayBuffer' });
      if (response.status !== 200) throw new Error(`login answered ${response.status}`);
      if (i >= 10) times.push(Number(process.hrtime.bigint() - t0) / 1e6); // first 10 warm up
    }
  } finally {
    await gateway.close();
    await auth.close();
    await db.drop();
  }
  times.sort((a, b) => a - b);
  const result = { logins: n, p50_ms: pct(times, 50), p95_ms: pct(times, 95), p99_ms: pct(times, 99), at: new Date().toISOString() };
  console.table(result);
  const dir = join(__dirname, '..', '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'login.json'), JSON.stringify(result, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
