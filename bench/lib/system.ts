/**
 * The system under measurement, as `npm start` runs it: each service a separate Node process from dist/
 * (so the load generator, the gateway and the services never share an event loop), on the local Postgres
 * (a private database) and NATS (private stream, subject prefixes and KV bucket), 127.0.0.1 only. Started by
 * the one launcher of the system (libs/testing/src/dist-system.ts); what is the suite's own is the
 * environment (every limit at its maximum), one service at a time (start-to-ready measured alone), no
 * restarts, and the memory probe (bench/memory/probe.ts) preloaded into every service so RSS and heap can be
 * read over IPC.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DistSystem, REPO_ROOT, type DistServiceName, type Instance, type TestDatabase } from '@opsdesk/testing';
import { HttpClient } from './load';

export const ROOT = REPO_ROOT;
export const DIST = join(ROOT, 'dist');
export const PG_ADMIN = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const ADMIN_EMAIL = 'bench-admin@opsdesk.local';
export const ADMIN_PASSWORD = 'Bench-Admin-Passw0rd!';

export type ServiceName = DistServiceName;

export interface MemoryReading {
  rss: number;
  heapUsed: number;
  heapUsedAfterGc: number;
  rssAfterGc: number;
  external: number;
  arrayBuffers: number;
}

export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name (which may hold spaces) start at ") "; utime and stime are fields 14 and 15
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** One service of a benchmark system: asks its preloaded probe (bench/memory/probe.ts) over IPC, reads its CPU time. */
export class ServiceProcess {
  private seq = 0;
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();

  constructor(
    readonly name: ServiceName,
    private readonly inst: Instance,
  ) {
    this.proc.on('message', (m: { id?: number }) => {
      const w = typeof m?.id === 'number' ? this.waiting.get(m.id) : undefined;
      if (w) {
        this.waiting.delete(m.id as number);
        w(m as Record<string, unknown>);
      }
    });
  }

  get proc() {
    if (!this.inst.proc) throw new Error(`${this.name} is not running`);
    return this.inst.proc;
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

  /** process.memoryUsage(), and heapUsed after a forced full GC unless gc is false */
  async memory(gc = false): Promise<MemoryReading> {
    return (await this.ask({ probe: 'memory', gc })) as unknown as MemoryReading;
  }

  /** writes a heap snapshot (after a full GC) to `file`; returns its path */
  async snapshot(file: string): Promise<string> {
    return String((await this.ask({ probe: 'snapshot', file }, 300_000)).file);
  }

  /** CPU time (user + system) the process has used so far, ms (from /proc; 10 ms ticks) */
  cpuMs(): number {
    return processCpuMs(this.proc.pid as number);
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
  /** the launcher's handle (logs, instances) */
  system: DistSystem;
  stop(): Promise<void>;
}

/** running systems, stopped by the runner when it is interrupted (no orphaned services, databases, streams) */
export const RUNNING = new Set<() => Promise<void>>();

export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const services = opts.services ?? ['auth', 'inventory', 'audit', 'gateway'];
  const id = randomBytes(4).toString('hex');
  if (opts.cpuProfDir) mkdirSync(opts.cpuProfDir, { recursive: true });
  const untraced = join(__dirname, 'untraced-main.js');
  let stopping = false;
  const system = await DistSystem.start({
    infra: 'shared',
    pgAdminUrl: PG_ADMIN,
    natsUrl: opts.natsUrl ?? NATS_URL,
    label: opts.label ?? 'bench',
    services,
    admin: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    // a crash is a failed measurement, not something to heal
    supervise: false,
    oneByOne: true,
    readyPollMs: 20,
    ipc: true,
    node: (s) => ({
      execArgv: [
        '--expose-gc',
        '-r',
        join(__dirname, '..', 'memory', 'probe.js'),
        ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`, `--cpu-prof-name=${s}-${Date.now()}.cpuprofile`] : []),
      ],
      ...(opts.tracing === false ? { entry: untraced, args: [s] } : {}),
    }),
    env: {
      // the suite measures throughput, not the limiter: every limit at its configurable maximum
      RATE_LIMIT_API_PER_MINUTE: '1000000',
      RATE_LIMIT_AUTH_PER_MINUTE: '100000',
      RATE_LIMIT_AUTH_BURST: '100000',
      RATE_LIMIT_AUTH_IP_PER_MINUTE: '100000',
      REQUEST_TIMEOUT: '120',
      ...opts.env,
    },
  });
  const procs: Partial<Record<ServiceName, ServiceProcess>> = {};
  const readyMs: Partial<Record<ServiceName, number>> = {};
  for (const s of services) {
    const inst = system.instance(s);
    procs[s] = new ServiceProcess(s, inst);
    readyMs[s] = Math.round(Number((inst.readyAt ?? inst.spawnedAt) - inst.spawnedAt) / 1e6);
    inst.proc?.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`${s} exited (${signal ?? code}):\n${system.logTail(s)}\n`);
    });
  }
  const stop = async () => {
    RUNNING.delete(stop);
    stopping = true;
    // a CPU profile is written on a clean exit: give SIGTERM's graceful stop time
    await system.stop(false, 20_000);
  };
  RUNNING.add(stop);
  try {
    const url = system.url;
    let token = '';
    if (services.includes('gateway') && services.includes('auth')) {
      const r = await new HttpClient(url).req('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      if (r.status !== 200) throw new Error(`login: ${r.status} ${r.body.toString()}`);
      token = (JSON.parse(r.body.toString()) as { access_token: string }).access_token;
    }
    const api = new HttpClient(url, { authorization: `Bearer ${token}` });
    return {
      id,
      env: system.env,
      db: system.db!,
      url,
      ports: system.ports as Record<ServiceName, number>,
      procs,
      readyMs,
      token,
      api,
      system,
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
