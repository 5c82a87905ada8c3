/**
 * The system under measurement, as `npm start` runs it: each service a separate Node process from dist/
 * (so the load generator, the gateway and the services never share an event loop), on the local Postgres
 * (a private database) and NATS (private stream, subject prefixes and KV bucket), 127.0.0.1 only.
 * Every service gets the memory probe (bench/memory/probe.ts) so RSS can be read over IPC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { contextKeyEnv, createTestDatabase, freePort, type TestDatabase } from '@opsdesk/testing';
import { provisionNatsFromEnv } from '@opsdesk/messaging';
import { runMigrations } from '@opsdesk/database';
import { createDataSource as authDataSource } from '../../services/auth/src/database/data-source';
import { createDataSource as inventoryDataSource } from '../../services/inventory/src/database/data-source';
import { createDataSource as auditDataSource } from '../../services/audit/src/database/data-source';
import { seedAdmin } from '../../services/auth/src/seed-admin';
import { HttpClient } from './load';

export const ROOT = join(__dirname, '..', '..', '..');
export const DIST = join(ROOT, 'dist');
export const PG_ADMIN = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const ADMIN_EMAIL = 'bench-admin@opsdesk.local';
export const ADMIN_PASSWORD = 'Bench-Admin-Passw0rd!';

export type ServiceName = 'auth' | 'inventory' | 'audit' | 'gateway';
const DATA_SOURCES = { auth: authDataSource, inventory: inventoryDataSource, audit: auditDataSource } as const;

export interface MemoryReading {
  rss: number;
  heapUsed: number;
  heapUsedAfterGc: number;
}

export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name (which may hold spaces) start at ") "; utime and stime are fields 14 and 15
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

export class ServiceProcess {
  private seq = 0;
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();
  readonly proc: ChildProcess;
  private out = '';
  stopping = false;
  readonly spawnedAt = process.hrtime.bigint();

  constructor(
    readonly name: ServiceName,
    env: NodeJS.ProcessEnv,
    opts: { tracing: boolean; cpuProfDir?: string },
  ) {
    const entry = opts.tracing ? join(DIST, 'services', name, 'src', 'main.js') : join(__dirname, 'untraced-main.js');
    const args = ['--expose-gc', '-r', join(__dirname, '..', 'memory', 'probe.js')];
    if (opts.cpuProfDir) args.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`);
    this.proc = spawn(process.execPath, [...args, entry, ...(opts.tracing ? [] : [name])], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.proc.on('message', (m: { id?: number }) => {
      const w = typeof m?.id === 'number' ? this.waiting.get(m.id) : undefined;
      if (w) {
        this.waiting.delete(m.id as number);
        w(m as Record<string, unknown>);
      }
    });
    const keep = (d: Buffer) => {
      this.out = (this.out + d.toString()).slice(-4000);
    };
    this.proc.stdout?.on('data', keep);
    this.proc.stderr?.on('data', keep);
    this.proc.on('exit', (code, signal) => {
      if (!this.stopping) process.stderr.write(`${name} exited (${signal ?? code}):\n${this.out}\n`);
    });
  }

  memory(gc = false): Promise<MemoryReading> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name} did not answer the probe`)), 30_000);
      this.waiting.set(id, (m) => {
        clearTimeout(t);
        resolve(m as unknown as MemoryReading);
      });
      this.proc.send({ probe: 'memory', gc, id });
    });
  }

  /** CPU time (user + system) the process has used so far, ms (from /proc; 10 ms ticks) */
  cpuMs(): number {
    return processCpuMs(this.proc.pid as number);
  }

  stop(): Promise<void> {
    this.stopping = true;
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return resolve();
      // a CPU profile is written on a clean exit: give SIGTERM's graceful stop time
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
      this.proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.proc.kill('SIGTERM');
    });
  }
}

export interface SystemOptions {
  services?: ServiceName[];
  /** as `npm start` runs them (tracing on, no exporter) unless false */
  tracing?: boolean;
  env?: NodeJS.ProcessEnv;
  natsUrl?: string;
  cpuProfDir?: string;
  label?: string;
}

export interface System {
  id: string;
  env: NodeJS.ProcessEnv;
  db: TestDatabase;
  url: string;
  ports: Record<ServiceName, number>;
  procs: Partial<Record<ServiceName, ServiceProcess>>;
  /** ms from spawn to ready, per service */
  readyMs: Partial<Record<ServiceName, number>>;
  /** an access token of the seeded admin */
  token: string;
  api: HttpClient;
  stop(): Promise<void>;
}

async function waitReady(port: number, name: string, proc: ServiceProcess): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (proc.proc.exitCode !== null) throw new Error(`${name} exited before it was ready`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${name} not ready on ${port}`);
}

/** running systems, stopped by the runner when it is interrupted (no orphaned services, databases, streams) */
export const RUNNING = new Set<() => Promise<void>>();

export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const services = opts.services ?? ['auth', 'inventory', 'audit', 'gateway'];
  const id = randomBytes(4).toString('hex');
  const natsUrl = opts.natsUrl ?? NATS_URL;
  const db = await createTestDatabase(opts.label ?? 'bench', PG_ADMIN);
  const all: ServiceName[] = ['auth', 'inventory', 'audit', 'gateway'];
  const ports = {} as Record<ServiceName, number>;
  for (const s of all) ports[s] = await freePort();
  const gatewayInternalPort = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    NATS_URL: natsUrl,
    JWT_SECRET: randomBytes(32).toString('hex'),
    JWT_PRIVATE_KEY: '',
    AUDIT_SIGNING_KEY: '',
    EVENTS_STREAM: `BENCH_${id.toUpperCase()}`,
    EVENTS_SUBJECT_PREFIX: `bench_${id}.opsdesk`,
    RPC_SUBJECT_PREFIX: `bench_${id}.rpc`,
    REVOCATION_BUCKET: `BENCH_${id.toUpperCase()}_REV`,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    // the suite measures throughput, not the limiter: every limit at its configurable maximum
    RATE_LIMIT_API_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_BURST: '100000',
    RATE_LIMIT_AUTH_IP_PER_MINUTE: '100000',
    REQUEST_TIMEOUT: '120',
    ...Object.fromEntries(all.map((s) => [`${s.toUpperCase()}_PORT`, String(ports[s])])),
    ...Object.fromEntries(all.map((s) => [`${s.toUpperCase()}_URL`, `http://127.0.0.1:${ports[s]}`])),
    OPSDESK_STATE_DIR: stateDir,
    GATEWAY_INTERNAL_PORT: String(gatewayInternalPort),
    ...contextKeyEnv(),
    ...opts.env,
  };
  const procs: Partial<Record<ServiceName, ServiceProcess>> = {};
  const readyMs: Partial<Record<ServiceName, number>> = {};
  const stop = async () => {
    RUNNING.delete(stop);
    for (const s of [...services].reverse()) await procs[s]?.stop();
    rmSync(stateDir, { recursive: true, force: true });
    const nc = await connect({ servers: natsUrl }).catch(() => null);
    if (nc) {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(env.EVENTS_STREAM as string).catch(() => undefined);
      await jsm.streams.delete(`KV_${env.REVOCATION_BUCKET}`).catch(() => undefined);
      await nc.close();
    }
    await db.drop().catch(() => undefined);
  };
  RUNNING.add(stop);
  try {
    for (const s of services) if (s in DATA_SOURCES) await runMigrations(DATA_SOURCES[s as keyof typeof DATA_SOURCES](db.url));
    await seedAdmin(env);
    await provisionNatsFromEnv(env);
    if (opts.cpuProfDir) mkdirSync(opts.cpuProfDir, { recursive: true });
    for (const s of services) {
      const own: NodeJS.ProcessEnv = { ...env };
      if (s === 'auth') own.JWT_PRIVATE_KEY = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      if (s === 'audit') own.AUDIT_SIGNING_KEY = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
      const p = new ServiceProcess(s, own, { tracing: opts.tracing !== false, cpuProfDir: opts.cpuProfDir });
      procs[s] = p;
      await waitReady(s === 'gateway' ? gatewayInternalPort : ports[s], s, p);
      readyMs[s] = Math.round(Number(process.hrtime.bigint() - p.spawnedAt) / 1e6);
    }
    const url = `http://127.0.0.1:${ports.gateway}`;
    let token = '';
    if (services.includes('gateway') && services.includes('auth')) {
      const r = await new HttpClient(url).req('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      if (r.status !== 200) throw new Error(`login: ${r.status} ${r.body.toString()}`);
      token = (JSON.parse(r.body.toString()) as { access_token: string }).access_token;
    }
    const api = new HttpClient(url, { authorization: `Bearer ${token}` });
    return {
      id,
      env,
      db,
      url,
      ports,
      procs,
      readyMs,
      token,
      api,
      async stop() {
        api.close();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A host body like the UI sends; i makes hostname and ip unique within one run. */
export function hostBody(run: string, i: number): Record<string, unknown> {
  return {
    hostname: `b-${run}-${i}`,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    environment: (['prod', 'stage', 'dev'] as const)[i % 3],
    os: 'linux',
    criticality: (['critical', 'high', 'medium', 'low'] as const)[i % 4],
    team: `team-${i % 8}`,
    tags: [`role-${i % 8}`, `site-${i % 5}`],
  };
}
