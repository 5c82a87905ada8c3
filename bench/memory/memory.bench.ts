/**
 * Memory benchmark (`npm run bench:memory`): does any service grow without bound under a steady write load?
 *
 * Boots gateway, auth, inventory and audit as separate processes from dist/ (as `npm start` does, tracing
 * included) against the local Postgres (own database) and NATS (own stream, subject prefixes and KV bucket),
 * 127.0.0.1 only. BENCH_CLIENTS clients (default 8) then create BENCH_WRITES hosts (default 20 000) through
 * the gateway at BENCH_RATE creates/s in total (default 80; 0 = as fast as they go), with one list read
 * every BENCH_READ_EVERY writes (default 10). Bounded by count and by BENCH_MAX_SECONDS (default 900).
 *
 * Every BENCH_SAMPLE_SECONDS (default 15) each service reports, over an IPC channel (bench/memory/probe.ts,
 * preloaded with --expose-gc): RSS and V8 heapUsed, then heapUsed after a forced full GC. Live objects that
 * grow with the number of writes show up as a rising post-GC heap; garbage that V8 simply has not collected
 * yet does not. BENCH_GC=end forces a GC only at the first and last sample, so RSS and heap in between are
 * what they are in production (no collection forced by the measurement). With BENCH_SNAPSHOTS=1 a heap
 * snapshot of inventory is written (OS temp dir) after the warm-up and at the end, and the object counts
 * by constructor that grew most between the two are printed (a snapshot itself raises the process's RSS
 * by ~200 MB that stays: read RSS from runs without snapshots).
 * Figures go to stdout and bench/results/memory-<time>.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextKeyEnv, createTestDatabase, freePort } from '@opsdesk/testing';
import { createOpsDeskClient } from '@opsdesk/client';
import { provisionNatsFromEnv } from '@opsdesk/messaging';
import { connect } from 'nats';
import { runMigrations } from '@opsdesk/database';
import { createDataSource as authDataSource } from '../../services/auth/src/database/data-source';
import { createDataSource as inventoryDataSource } from '../../services/inventory/src/database/data-source';
import { createDataSource as auditDataSource } from '../../services/audit/src/database/data-source';
import { seedAdmin } from '../../services/auth/src/seed-admin';
import { compareSnapshots, countByConstructor } from './heap-snapshot';

const ROOT = join(__dirname, '..', '..', '..');
const DIST = join(ROOT, 'dist');
const PG_ADMIN = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const WRITES = Number(process.env.BENCH_WRITES ?? 20_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const RATE = Number(process.env.BENCH_RATE ?? 80);
const READ_EVERY = Number(process.env.BENCH_READ_EVERY ?? 10);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 900);
const SAMPLE_SECONDS = Number(process.env.BENCH_SAMPLE_SECONDS ?? 15);
const SNAPSHOTS = process.env.BENCH_SNAPSHOTS === '1';
// 'interval': a full GC before every sample's post-GC reading (tells live growth from garbage);
// 'end': only at the first and last sample, so RSS and heap in between behave as in production
const GC_MODE = process.env.BENCH_GC === 'end' ? 'end' : 'interval';
const WARMUP = Math.min(2000, Math.floor(WRITES / 10));
const ADMIN_EMAIL = 'bench-admin@opsdesk.local';
const ADMIN_PASSWORD = 'Bench-Admin-Passw0rd!';
const SERVICES = ['auth', 'inventory', 'audit', 'gateway'] as const;
type Service = (typeof SERVICES)[number];

interface MemorySample {
  rss: number;
  heapUsed: number;
  heapUsedAfterGc: number;
  rssAfterGc: number;
  external: number;
  arrayBuffers: number;
}
interface Row {
  t_s: number;
  writes: number;
  reads: number;
  errors: number;
  mem: Record<Service, MemorySample>;
}

const mb = (b: number) => Math.round(b / 1048576);

class ServiceProcess {
  private seq = 0;
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();
  readonly proc: ChildProcess;
  private out = '';

  constructor(
    readonly name: Service,
    env: NodeJS.ProcessEnv,
  ) {
    const main = join(DIST, 'services', name, 'src', 'main.js');
    this.proc = spawn(process.execPath, ['--expose-gc', '-r', join(__dirname, 'probe.js'), main], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.proc.on('message', (m: { id?: number }) => {
      const w = typeof m?.id === 'number' ? this.waiting.get(m.id) : undefined;
      if (w) {
        this.waiting.delete(m.id as number);
        w(m as Record<string, unknown>);
      }
    });
    // keep the last few KB of output for the error message if it dies
    const keep = (d: Buffer) => {
      this.out = (this.out + d.toString()).slice(-4000);
    };
    this.proc.stdout?.on('data', keep);
    this.proc.stderr?.on('data', keep);
    this.proc.on('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`${name} exited (${signal ?? code}):\n${this.out}\n`);
    });
  }

  private ask(msg: Record<string, unknown>, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name} did not answer the probe`));
      }, timeoutMs);
      this.waiting.set(id, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      this.proc.send({ ...msg, id });
    });
  }

  async memory(gc: boolean): Promise<MemorySample> {
    return (await this.ask({ probe: 'memory', gc })) as unknown as MemorySample;
  }

  async snapshot(file: string): Promise<string> {
    return String((await this.ask({ probe: 'snapshot', file }, 300_000)).file);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return resolve();
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
      this.proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.proc.kill('SIGTERM');
    });
  }
}

let stopping = false;

async function waitReady(port: number, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} not ready on ${port}`);
}

function table(rows: Row[]): string {
  const head = ['t(s)', 'writes', ...SERVICES.map((s) => `${s} rss/heap/heap-after-gc MB`)];
  const lines = [head.join(' | ')];
  for (const r of rows) {
    lines.push([r.t_s, r.writes, ...SERVICES.map((s) => `${mb(r.mem[s].rss)}/${mb(r.mem[s].heapUsed)}/${mb(r.mem[s].heapUsedAfterGc)}`)].join(' | '));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const db = await createTestDatabase('benchmem', PG_ADMIN);
  const dbUrl = new URL(db.url);
  const ports: Record<Service, number> = { auth: await freePort(), inventory: await freePort(), audit: await freePort(), gateway: await freePort() };
  // the gateway answers /readyz on its internal port only
  const gatewayInternalPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: dbUrl.toString(),
    NATS_URL,
    JWT_SECRET: randomBytes(32).toString('hex'),
    JWT_PRIVATE_KEY: '',
    AUDIT_SIGNING_KEY: '',
    EVENTS_STREAM: `BENCH_MEM_${id.toUpperCase()}`,
    EVENTS_SUBJECT_PREFIX: `bench_mem_${id}.opsdesk`,
    RPC_SUBJECT_PREFIX: `bench_mem_${id}.rpc`,
    REVOCATION_BUCKET: `BENCH_MEM_${id.toUpperCase()}_REV`,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RATE_LIMIT_API_PER_MINUTE: '1000000',
    ...Object.fromEntries(SERVICES.map((s) => [`${s.toUpperCase()}_PORT`, String(ports[s])])),
    ...Object.fromEntries(SERVICES.map((s) => [`${s.toUpperCase()}_URL`, `http://127.0.0.1:${ports[s]}`])),
    OPSDESK_STATE_DIR: mkdtempSync(join(tmpdir(), 'opsdesk-bench-mem-')),
    GATEWAY_INTERNAL_PORT: String(gatewayInternalPort),
  };
  const procs: Partial<Record<Service, ServiceProcess>> = {};
  const snapDir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-mem-snap-'));
  const results: Record<string, unknown> = { scale: { writes: WRITES, clients: CLIENTS, rate_per_s: RATE, read_every: READ_EVERY, gc: GC_MODE } };
  try {
    for (const ds of [authDataSource, inventoryDataSource, auditDataSource]) await runMigrations(ds(env.DATABASE_URL as string));
    await seedAdmin(env);
    // the services only look at the stream and bucket (npm run provision:nats in production)
    await provisionNatsFromEnv(env);
    // caller-context keys: the gateway signs every RPC, the services verify (each process sees them all here)
    const contextKeys = contextKeyEnv();
    for (const s of SERVICES) {
      const own: NodeJS.ProcessEnv = { ...env, ...contextKeys };
      if (s === 'auth') own.JWT_PRIVATE_KEY = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      if (s === 'audit') own.AUDIT_SIGNING_KEY = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
      procs[s] = new ServiceProcess(s, own);
      await waitReady(s === 'gateway' ? gatewayInternalPort : ports[s], s);
    }
    const gw = `http://127.0.0.1:${ports.gateway}`;
    const login = async () => {
      const r = await createOpsDeskClient({ baseUrl: gw }).POST('/api/auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
      if (!r.data) throw new Error(`login: ${r.response.status} ${JSON.stringify(r.error)}`);
      return r.data.access_token;
    };
    let token = await login();
    // the token is read before every request, so a re-login after a 401 takes effect at once
    const api = createOpsDeskClient({ baseUrl: gw, token: () => token });

    const rows: Row[] = [];
    const started = Date.now();
    let writes = 0;
    let reads = 0;
    let errors = 0;
    let issued = 0;
    const sample = async (gc = GC_MODE === 'interval') => {
      const mem = {} as Record<Service, MemorySample>;
      for (const s of SERVICES) mem[s] = await (procs[s] as ServiceProcess).memory(gc);
      const row: Row = { t_s: Math.round((Date.now() - started) / 1000), writes, reads, errors, mem };
      rows.push(row);
      process.stdout.write(`t=${row.t_s}s writes=${writes} reads=${reads} errors=${errors}  ${SERVICES.map((s) => `${s} ${mb(mem[s].rss)}/${mb(mem[s].heapUsed)}/${mb(mem[s].heapUsedAfterGc)}/${mb(mem[s].external)}`).join('  ')}  (MB rss/heap/heap-after-gc/external)\n`);
    };
    await sample(true);

    const deadline = started + MAX_SECONDS * 1000;
    const client = async (n: number) => {
      while (issued < WRITES && Date.now() < deadline) {
        const i = issued++;
        // paced: write i is due at i / RATE seconds after the start
        if (RATE > 0) {
          const due = started + (i * 1000) / RATE;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
        const body = {
          hostname: `mem-${id}-${i}`,
          ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          environment: (['prod', 'stage', 'dev'] as const)[i % 3],
          os: 'linux' as const,
          criticality: (['critical', 'high', 'medium', 'low'] as const)[i % 4],
          team: `team-${n}`,
          tags: [`role-${i % 8}`],
        };
        const r = await api.POST('/api/hosts', { body }).catch(() => null);
        if (r?.response.status === 401) token = await login();
        if (r?.response.status === 201) writes++;
        else {
          errors++;
          if (errors <= 5) process.stderr.write(`create: ${r?.response.status} ${JSON.stringify(r?.error)}\n`);
        }
        if (READ_EVERY > 0 && i % READ_EVERY === 0) {
          const l = await api.GET('/api/hosts', { params: { query: { limit: 20, team: `team-${n}` } }, parseAs: 'arrayBuffer' }).catch(() => null);
          if (l?.response.status === 200) reads++;
        }
      }
    };
    let snapA: string | null = null;
    const sampler = (async () => {
      let next = Date.now() + SAMPLE_SECONDS * 1000;
      while (issued < WRITES && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        if (SNAPSHOTS && !snapA && writes >= WARMUP) snapA = await (procs.inventory as ServiceProcess).snapshot(join(snapDir, 'inventory-a.heapsnapshot'));
        if (Date.now() >= next) {
          await sample();
          next = Date.now() + SAMPLE_SECONDS * 1000;
        }
      }
    })();
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    await sampler;
    const elapsed = (Date.now() - started) / 1000;
    await sample();
    // the events of the last writes reach audit within seconds; one more sample once that settled
    await new Promise((r) => setTimeout(r, 10_000));
    await sample(true);
    results.throughput = { writes, reads, errors, seconds: Math.round(elapsed), writes_per_s: Math.round(writes / elapsed) };
    results.samples = rows;
    const first = rows[0];
    const last = rows[rows.length - 1];
    const summary: Record<string, unknown> = {};
    for (const s of SERVICES) {
      summary[s] = {
        rss_mb: [mb(first.mem[s].rss), mb(last.mem[s].rss)],
        heap_used_mb: [mb(first.mem[s].heapUsed), mb(last.mem[s].heapUsed)],
        heap_after_gc_mb: [mb(first.mem[s].heapUsedAfterGc), mb(last.mem[s].heapUsedAfterGc)],
        // live bytes per write: post-GC heap growth between the first sample after warm-up and the last
        post_gc_bytes_per_write: (() => {
          const base = GC_MODE === 'interval' ? (rows.find((r) => r.writes >= WARMUP) ?? first) : first;
          return last.writes > base.writes ? Math.round((last.mem[s].heapUsedAfterGc - base.mem[s].heapUsedAfterGc) / (last.writes - base.writes)) : null;
        })(),
      };
    }
    results.summary = summary;
    process.stdout.write(`\n${table(rows)}\n\n`);
    process.stdout.write(`throughput: ${JSON.stringify(results.throughput)}\n`);
    for (const s of SERVICES) process.stdout.write(`${s.padEnd(10)} ${JSON.stringify(summary[s])}\n`);

    if (SNAPSHOTS && snapA) {
      const snapB = await (procs.inventory as ServiceProcess).snapshot(join(snapDir, 'inventory-b.heapsnapshot'));
      const [a, b] = [countByConstructor(snapA), countByConstructor(snapB)];
      const grown = compareSnapshots(a, b).slice(0, 20);
      results.inventory_snapshot_growth = grown;
      process.stdout.write('\ninventory heap snapshot, warm-up → end: constructors that grew most (count, retained self size)\n');
      for (const g of grown) process.stdout.write(`  ${g.name.padEnd(40)} ${String(g.countDelta).padStart(8)} objects  ${String(Math.round(g.sizeDelta / 1024)).padStart(8)} KB\n`);
    }
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    const out = join(ROOT, 'bench', 'results', `memory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(out, JSON.stringify(results, null, 2));
    process.stdout.write(`\nresults: ${out}\n`);
  } finally {
    stopping = true;
    for (const s of [...SERVICES].reverse()) await procs[s]?.stop();
    rmSync(snapDir, { recursive: true, force: true });
    rmSync(env.OPSDESK_STATE_DIR as string, { recursive: true, force: true });
    const nc = await connect({ servers: NATS_URL }).catch(() => null);
    if (nc) {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(env.EVENTS_STREAM as string).catch(() => undefined);
      await jsm.streams.delete(`KV_${env.REVOCATION_BUCKET}`).catch(() => undefined);
      await nc.close();
    }
    await db.drop().catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
