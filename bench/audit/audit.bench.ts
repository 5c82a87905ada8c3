/**
 * Audit benchmark: `BENCH_RECORDS=1000000 npm run bench:audit`.
 * - ingest: BENCH_INGEST events (default min(20000, BENCH_RECORDS)) published to JetStream first, then drained
 *   by the real audit consumer from its start (inbox claim, chain head lock and a multi-row insert per batch)
 *   -> events/s from JetStream into the chained table;
 * - the rest of BENCH_RECORDS is appended with COPY (same chain, same hashes) to reach the scale;
 * - p50/p95 of a filtered first page and of a filtered page 10,000 records deep (keyset), unfiltered too;
 * - export throughput of the streamed JSONL generator (records/s, MB/s).
 * Uses its own database and stream on the local Postgres/NATS (127.0.0.1) and drops them at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { connect } from 'nats';
import { ensureEventsStream } from '@opsdesk/messaging';
import { runMigrations } from '@opsdesk/database';
import { bootstrapFromEnv } from '../../services/audit/src/bootstrap';
import { createDataSource } from '../../services/audit/src/database/data-source';
import { bulkAppend } from '../../services/audit/src/chain/bulk-load';
import { generateCheckpointKeyPair } from '../../services/audit/src/chain/checkpoint-keys';
import { AuditQueryService } from '../../services/audit/src/query/audit-query.service';
import { ExportService } from '../../services/audit/src/export/export.service';

const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const INGEST = Math.min(Number(process.env.BENCH_INGEST ?? 20_000), RECORDS);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 50);
const JWT_SECRET = 'bench-secret-that-is-long-enough-0123456789abcdef';
/** a fresh checkpoint key per run: the service and the bulk loader sign with the same one */
const AUDIT_SIGNING_KEY = generateCheckpointKeyPair().privateKey;

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function timed(fn: () => Promise<unknown>, n = SAMPLES): Promise<{ p50_ms: number; p95_ms: number }> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return { p50_ms: +pct(t, 50).toFixed(2), p95_ms: +pct(t, 95).toFixed(2) };
}

async function main(): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const dbName = `opsdesk_bench_audit_${id}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const url = u.toString();
  const env: NodeJS.ProcessEnv = {
    ENVIRONMENT: 'development', LOG_LEVEL: 'warn', HOST: '127.0.0.1', DATABASE_URL: url, NATS_URL, JWT_SECRET, AUDIT_SIGNING_KEY, AUDIT_PORT: '0',
    EVENTS_STREAM: `BENCH_AUDIT_${id.toUpperCase()}`, EVENTS_SUBJECT_PREFIX: `bench_${id}.opsdesk`, RPC_SUBJECT_PREFIX: `bench_${id}.rpc`,
    DB_POOL_SIZE: '5', DB_MAX_OVERFLOW: '2',
  };
  const results: Record<string, unknown> = { records: RECORDS, ingest_events: INGEST };
  const db = new Client({ connectionString: url });
  const nc = await connect({ servers: NATS_URL });
  try {
    await runMigrations(createDataSource(url));
    await db.connect();
    // Ingest is measured from JetStream into the chained table: the events are published first (the stream
    // holds them), then the service starts and drains them; the clock runs from its start to the last record.
    await ensureEventsStream(await nc.jetstreamManager(), { name: env.EVENTS_STREAM as string, subjectPrefix: env.EVENTS_SUBJECT_PREFIX as string });
    const js = nc.jetstream();
    const pubs: Array<Promise<unknown>> = [];
    for (let n = 0; n < INGEST; n++) {
      const ev = {
        id: randomUUID(), type: 'inventory.host.updated', version: 1, occurred_at: new Date().toISOString(), source: 'bench',
        actor: { user_id: randomUUID(), email: `u${n % 50}@example.com`, ip: '10.0.0.1', user_agent: 'bench' }, request_id: `r${n}`,
        subject: { entity_type: 'host', entity_id: `host-${n % 5000}` }, data: { before: { owner: 'a' }, after: { owner: 'b' } },
      };
      pubs.push(js.publish(`${env.EVENTS_SUBJECT_PREFIX}.${ev.type}`, Buffer.from(JSON.stringify(ev)), { msgID: ev.id }));
      if (pubs.length >= 1000) await Promise.all(pubs.splice(0));
    }
    await Promise.all(pubs);
    const t0 = Date.now();
    const app = await bootstrapFromEnv(env, { quiet: true });
    try {
      for (;;) {
        const { rows } = await db.query(`SELECT seq FROM audit.chain_head`);
        if (Number(rows[0].seq) >= INGEST) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const ingestSec = (Date.now() - t0) / 1000;
      results.ingest_events_per_s = Math.round(INGEST / ingestSec);
      process.stdout.write(`ingest: ${INGEST} events in ${ingestSec.toFixed(1)} s = ${results.ingest_events_per_s}/s\n`);

      // scale up with COPY
      const rest = RECORDS - INGEST;
      const t1 = Date.now();
      for (let done = 0; done < rest; done += 100_000) {
        await bulkAppend(db, { count: Math.min(100_000, rest - done), signingKey: AUDIT_SIGNING_KEY, checkpointEvery: 1000 });
      }
      results.bulk_load_records_per_s = rest > 0 ? Math.round(rest / ((Date.now() - t1) / 1000)) : null;
      await db.query('ANALYZE audit.records');
      process.stdout.write(`loaded ${RECORDS} records\n`);

      const query = app.get(AuditQueryService);
      const base = { limit: 50 } as const;
      const deepCursor = async (filters: Record<string, string>) => {
        const params: unknown[] = [];
        const { filterConditions } = await import('../../services/audit/src/query/audit-filters');
        const where = filterConditions(filters, params);
        const { rows } = await db.query(
          `SELECT seq FROM audit.records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC OFFSET 10000 LIMIT 1`,
          params,
        );
        return rows[0] ? Buffer.from(JSON.stringify({ s: Number(rows[0].seq) })).toString('base64url') : undefined;
      };
      const cases: Record<string, Record<string, string>> = {
        unfiltered: {},
        action: { action: 'inventory.host.access_issued' },
        actor_email: { actor: 'carol@example.com' },
        entity: { entity_type: 'host', entity_id: 'host-42' },
        q: { q: 'team-3' },
      };
      const pages: Record<string, unknown> = {};
      for (const [name, f] of Object.entries(cases)) {
        const first = await timed(() => query.list({ ...base, ...f }));
        const cursor = await deepCursor(f);
        const deep = cursor ? await timed(() => query.list({ ...base, ...f, cursor })) : null;
        pages[name] = { first_page: first, page_10000_deep: deep };
        process.stdout.write(`${name}: first ${JSON.stringify(first)} deep ${JSON.stringify(deep)}\n`);
      }
      results.pages = pages;

      const exporter = app.get(ExportService);
      const t2 = Date.now();
      let bytes = 0;
      const { rows } = await db.query(`SELECT seq, hash FROM audit.chain_head`);
      const snapshot = { head_seq: Number(rows[0].seq), head_hash: rows[0].hash, checkpoint_limit: Number(rows[0].seq) };
      for await (const chunk of exporter.jsonl({}, snapshot)) bytes += Buffer.byteLength(chunk);
      const exportSec = (Date.now() - t2) / 1000;
      results.export = { records_per_s: Math.round(snapshot.head_seq / exportSec), mb_per_s: +(bytes / 1e6 / exportSec).toFixed(1), seconds: +exportSec.toFixed(1) };
      process.stdout.write(`export: ${JSON.stringify(results.export)}\n`);
    } finally {
      await app.close();
    }
  } finally {
    await db.end().catch(() => undefined);
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(env.EVENTS_STREAM as string).catch(() => undefined);
    await nc.close();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'audit.json'), JSON.stringify(results, null, 2));
  console.table(results);
}

main().catch((err: unknown) => {
  process.stderr.write(`audit bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
