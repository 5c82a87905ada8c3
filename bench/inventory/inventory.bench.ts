/**
 * Inventory benchmark (`npm run bench:inventory`), against the local Postgres and NATS, 127.0.0.1 only.
 *
 * 1. CSV import of BENCH_IMPORT_ROWS hosts (default 100 000) through the real gateway (streamed to the
 *    inventory's internal port, validated, COPY into a temp table, classified, INSERT … SELECT with revisions
 *    and events) against `psql \copy` of the same file into the same table, measured in the same run.
 *    Goal: import ≤ 2× COPY.
 * 2. List and search latency (p50/p95 through the gateway) at BENCH_LIST_HOSTS hosts (default 1 000 000; rows
 *    beyond the import are generated in SQL).
 * Counts are configurable so the run fits a shared machine; the scale used is printed with the figures.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { connect } from 'nats';
import { runMigrations } from '@opsdesk/database';
import { createOpsDeskClient, type operations } from '@opsdesk/client';
import { createDataSource as authDataSource } from '../../services/auth/src/database/data-source';
import { seedAdmin } from '../../services/auth/src/seed-admin';
import { bootstrapFromEnv as bootAuth } from '../../services/auth/src/bootstrap';
import { createDataSource as inventoryDataSource } from '../../services/inventory/src/database/data-source';
import { bootstrapFromEnv as bootInventory } from '../../services/inventory/src/bootstrap';
import { bootstrapFromEnv as bootGateway } from '../../services/gateway/src/bootstrap';

const PG_ADMIN = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const IMPORT_ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const LIST_HOSTS = Number(process.env.BENCH_LIST_HOSTS ?? 1_000_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100);
const ADMIN_EMAIL = 'bench-admin@opsdesk.local';
const ADMIN_PASSWORD = 'Bench-Admin-Passw0rd!';

const ENVS = ['prod', 'stage', 'dev'];
const OSES = ['linux', 'linux', 'linux', 'windows', 'macos'];
const CRITS = ['critical', 'high', 'medium', 'low'];
const TEAMS = ['payments', 'platform', 'web', 'data', 'corp-it', 'search', 'ml', 'edge'];
const ROLES = ['api', 'db', 'web', 'cache', 'worker', 'kafka', 'k8s', 'build'];

function csvFile(dir: string, rows: number): string {
  const file = join(dir, 'hosts.csv');
  // tags in Postgres array syntax so the same file loads with \copy; the importer accepts { } as separators
  const lines = ['hostname,fqdn,ip,os,environment,owner,team,criticality,tags,notes'];
  for (let i = 0; i < rows; i++) {
    const role = ROLES[i % ROLES.length];
    const team = TEAMS[(i >> 3) % TEAMS.length];
    const h = `${role}-${i.toString(36)}-${(i * 2654435761 >>> 0).toString(36).slice(0, 4)}`;
    lines.push(
      [h, `${h}.example.internal`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, OSES[i % OSES.length], ENVS[i % ENVS.length], `${team}@example.com`, team, CRITS[i % CRITS.length], `"{${role},${team},site-${i % 5}}"`, i % 10 === 0 ? `"note ${i}, rack ${i % 97}"` : ''].join(','),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main(): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const dbName = `opsdesk_bench_inv_${id}`;
  const admin = new Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const dbUrl = new URL(PG_ADMIN);
  dbUrl.pathname = `/${dbName}`;
  const env: NodeJS.ProcessEnv = {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: dbUrl.toString(),
    DB_POOL_SIZE: '10',
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    JWT_SECRET: randomBytes(32).toString('hex'),
    REQUEST_TIMEOUT: '600',
    GATEWAY_PORT: '0',
    GATEWAY_INTERNAL_PORT: '0',
    AUTH_PORT: '0',
    INVENTORY_PORT: '0',
    EVENTS_STREAM: `BENCH_INV_${id.toUpperCase()}`,
    EVENTS_SUBJECT_PREFIX: `bench_${id}.opsdesk`,
    RPC_SUBJECT_PREFIX: `bench_${id}.rpc`,
    REVOCATION_BUCKET: `BENCH_INV_${id.toUpperCase()}_REV`,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RATE_LIMIT_API_PER_MINUTE: '1000000',
    IMPORT_MAX_ROWS: String(Math.max(IMPORT_ROWS, 1)),
    IMPORT_MAX_BYTES: String(2 * 1024 * 1024 * 1024 - 1),
  };
  const apps: NestFastifyApplication[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-inv-'));
  const results: Record<string, unknown> = { scale: { import_rows: IMPORT_ROWS, list_hosts: LIST_HOSTS, samples: SAMPLES } };
  const pg = new Client({ connectionString: env.DATABASE_URL });
  try {
    await runMigrations(authDataSource(env.DATABASE_URL as string));
    await runMigrations(inventoryDataSource(env.DATABASE_URL as string));
    await seedAdmin(env);
    const auth = await bootAuth(env, { quiet: true });
    apps.push(auth);
    const inv = await bootInventory(env, { quiet: true });
    apps.push(inv);
    env.INVENTORY_URL = await inv.getUrl();
    const gw = await bootGateway(env, { quiet: true });
    apps.push(gw);
    const url = (await gw.getUrl()).replace('[::1]', '127.0.0.1');
    const loggedIn = await createOpsDeskClient({ baseUrl: url }).POST('/api/auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    if (!loggedIn.data) throw new Error(`login: ${loggedIn.response.status}`);
    const token = loggedIn.data.access_token;
    const auth_ = { authorization: `Bearer ${token}` };
    const api = createOpsDeskClient({ baseUrl: url, token });
    await pg.connect();

    const file = csvFile(dir, IMPORT_ROWS);
    const bytes = statSync(file).size;
    process.stdout.write(`CSV: ${IMPORT_ROWS} rows, ${(bytes / 1e6).toFixed(1)} MB\n`);

    // 1a. baseline: psql \copy of the same file into the same table (same indexes and triggers)
    let t = process.hrtime.bigint();
    execFileSync('psql', [env.DATABASE_URL as string, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy inventory.hosts (hostname, fqdn, ip, os, environment, owner, team, criticality, tags, notes) FROM '${file}' CSV HEADER`]);
    const copyMs = Number(process.hrtime.bigint() - t) / 1e6;
    await pg.query('TRUNCATE inventory.hosts CASCADE');
    await pg.query('VACUUM ANALYZE inventory.hosts');

    // 1b. import through the gateway (streamed body)
    t = process.hrtime.bigint();
    // the file streams from disk: a raw fetch with a stream body (the client's importHostsCsv takes a Blob in memory)
    const res = await fetch(`${url}/api/hosts/import?report=errors&atomic=true`, {
      method: 'POST',
      headers: { ...auth_, 'content-type': 'text/csv', 'content-length': String(bytes) },
      body: Readable.toWeb(createReadStream(file)) as unknown as NonNullable<RequestInit['body']>,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    const report = (await res.json()) as { summary?: Record<string, number>; code?: string; detail?: string };
    const importMs = Number(process.hrtime.bigint() - t) / 1e6;
    if (res.status !== 200 || report.summary?.created !== IMPORT_ROWS) throw new Error(`import failed: ${res.status} ${JSON.stringify(report).slice(0, 500)}`);
    results.import = {
      rows: IMPORT_ROWS,
      copy_ms: Math.round(copyMs),
      import_ms: Math.round(importMs),
      ratio: Number((importMs / copyMs).toFixed(2)),
      import_rows_per_s: Math.round(IMPORT_ROWS / (importMs / 1000)),
      copy_rows_per_s: Math.round(IMPORT_ROWS / (copyMs / 1000)),
    };
    process.stdout.write(`import: ${JSON.stringify(results.import)}\n`);

    // 2. fill up to LIST_HOSTS in SQL, then measure list/search through the gateway
    const extra = LIST_HOSTS - IMPORT_ROWS;
    if (extra > 0) {
      t = process.hrtime.bigint();
      const chunk = 100_000;
      for (let from = 0; from < extra; from += chunk) {
        await pg.query(
          `INSERT INTO inventory.hosts (hostname, fqdn, ip, os, environment, owner, team, criticality, tags, notes)
           SELECT 'gen-' || g || '-' || substr(md5(g::text), 1, 6), 'gen-' || g || '.example.internal',
                  ('11.0.0.0'::inet + g), (ARRAY['linux','linux','windows','macos'])[1 + g % 4], (ARRAY['prod','stage','dev'])[1 + g % 3],
                  (ARRAY['payments','platform','web','data','ml'])[1 + g % 5] || '@example.com', (ARRAY['payments','platform','web','data','ml'])[1 + g % 5],
                  (ARRAY['critical','high','medium','low'])[1 + g % 4], ARRAY[(ARRAY['api','db','web','cache'])[1 + g % 4], 'site-' || (g % 7)],
                  CASE WHEN g % 10 = 0 THEN 'generated note ' || g END
             FROM generate_series($1::int, $2::int) g`,
          [from, Math.min(from + chunk, extra) - 1],
        );
      }
      await pg.query('VACUUM ANALYZE inventory.hosts');
      process.stdout.write(`filled to ${LIST_HOSTS} hosts in ${Math.round(Number(process.hrtime.bigint() - t) / 1e6)} ms\n`);
    }
    type Query = NonNullable<operations['hosts.list']['parameters']['query']>;
    const list = (query: Query) => () => api.GET('/api/hosts', { params: { query }, parseAs: 'arrayBuffer' });
    const cases: Record<string, () => Promise<{ response: Response }>> = {
      'list first page (sort hostname)': list({ limit: 50 }),
      'list sort -created_at': list({ limit: 50, sort: '-created_at' }),
      'filter environment=prod&criticality=high': list({ limit: 50, environment: 'prod', criticality: 'high' }),
      'filter tag=db&tag=site-3': list({ limit: 50, tag: ['db', 'site-3'] }),
      'filter team=ml': list({ limit: 50, team: 'ml' }),
      'search q=<selective hostname fragment>': () => list({ limit: 50, q: `gen-${Math.floor(Math.random() * Math.max(extra, 1))}-` })(),
      'search q=<ip prefix>': () => list({ limit: 50, q: `10.0.${Math.floor(Math.random() * 200)}.` })(),
      'search q=payments (common)': list({ limit: 50, q: 'payments' }),
      'search q=rack 42 (notes, two terms)': list({ limit: 50, q: 'rack 42' }),
      'search q=zzzz-none (no match)': list({ limit: 50, q: 'zzzz-none' }),
      summary: () => api.GET('/api/hosts/summary', { parseAs: 'arrayBuffer' }),
      tags: () => api.GET('/api/tags', { parseAs: 'arrayBuffer' }),
    };
    const latency: Record<string, { p50_ms: number; p95_ms: number }> = {};
    for (const [name, call] of Object.entries(cases)) {
      const times: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const s = process.hrtime.bigint();
        const { response } = await call();
        if (response.status !== 200) throw new Error(`${name}: ${response.status}`);
        times.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
      latency[name] = { p50_ms: Number(pct(times, 50).toFixed(1)), p95_ms: Number(pct(times, 95).toFixed(1)) };
      process.stdout.write(`${name.padEnd(45)} p50 ${latency[name].p50_ms} ms  p95 ${latency[name].p95_ms} ms\n`);
    }
    // deep keyset paging: 20 consecutive pages from the middle of the alphabet
    const pageTimes: number[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < Math.min(SAMPLES, 50); i++) {
      const s = process.hrtime.bigint();
      const query: Query = { limit: 100, sort: 'hostname', ...(cursor ? { cursor } : {}) };
      const { data } = await api.GET('/api/hosts', { params: { query } });
      pageTimes.push(Number(process.hrtime.bigint() - s) / 1e6);
      cursor = data?.next_cursor ?? null;
    }
    latency['keyset pages (limit 100)'] = { p50_ms: Number(pct(pageTimes, 50).toFixed(1)), p95_ms: Number(pct(pageTimes, 95).toFixed(1)) };
    process.stdout.write(`${'keyset pages (limit 100)'.padEnd(45)} p50 ${latency['keyset pages (limit 100)'].p50_ms} ms  p95 ${latency['keyset pages (limit 100)'].p95_ms} ms\n`);
    results.list = { hosts: Math.max(LIST_HOSTS, IMPORT_ROWS), latency };

    const out = join(__dirname, '..', '..', '..', 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const path = join(out, `inventory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(path, JSON.stringify(results, null, 2));
    process.stdout.write(`results written to ${path}\n`);
  } finally {
    for (const a of apps.reverse()) await a.close().catch(() => undefined);
    await pg.end().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    const nc = await connect({ servers: env.NATS_URL as string }).catch(() => null);
    if (nc) {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(env.EVENTS_STREAM as string).catch(() => undefined);
      await jsm.streams.delete(`KV_${env.REVOCATION_BUCKET}`).catch(() => undefined);
      await nc.close();
    }
    const c = new Client({ connectionString: PG_ADMIN });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await c.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:inventory failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
