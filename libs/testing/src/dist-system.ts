import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { DEFAULT_NATS_NAMES } from '@opsdesk/contracts';
import { findRepoRoot, serviceNodeFlags } from '@opsdesk/config';
import { createTestDatabase, TEST_PG_ADMIN_URL, type TestDatabase } from './database';
import { freePort, natsIsolation, startOwnNatsServer, TEST_NATS_URL, type OwnNatsServer } from './nats';
import { NATS_PROVISION_USER, natsServiceEnv, testNatsAdmin } from './nats-auth';
import { startOwnNatsCluster, type OwnNatsCluster } from './nats-cluster';
import { startOwnPostgres, type OwnPostgres } from './own-postgres';
import { generateAccessTokenKey } from './keys';
import { testAuditSigningKey } from './audit-key';
import { contextKeyEnv } from './context-keys';
import { waitFor } from './wait';

/**
 * The one launcher of the real system from dist/, as `npm start` runs it (scripts/start.mjs): every service a
 * separate Node process, migrations, NATS provisioning and the admin seed by the same scripts as in
 * production. Used by the fault suite (reliability/), the benchmarks (bench/lib/system.ts, bench:memory) and the
 * e2e suites that need real processes (e2e/tracing-otlp.e2e-spec.ts).
 */

/** The services in the order they are started: the gateway last (it needs the others to answer). */
export const DIST_SERVICES = ['auth', 'inventory', 'audit', 'artifacts', 'gateway'] as const;
export type DistServiceName = (typeof DIST_SERVICES)[number];

export const REPO_ROOT = findRepoRoot(__dirname) ?? join(__dirname, '..', '..', '..');
export const DIST_DIR = join(REPO_ROOT, 'dist');

export interface DistSystemOptions {
  /** which services run (default all five); started in DIST_SERVICES order, the gateway after the others */
  services?: readonly DistServiceName[];
  /**
   * Where Postgres and NATS come from:
   * - `shared` (default): a fresh database on the shared Postgres (TEST_PG_ADMIN_URL or `pgAdminUrl`) and a stream,
   *   subject prefixes and KV bucket of its own on the shared NATS (TEST_NATS_URL or `natsUrl`); removed by stop();
   * - `own`: a Postgres cluster and a nats-server of its own with the production names, which a suite may stop;
   * - `own-cluster`: as `own` with a 3-node NATS cluster (deploy/nats) and an R3 events stream.
   */
  infra?: 'shared' | 'own' | 'own-cluster';
  pgAdminUrl?: string;
  natsUrl?: string;
  /** names the database and NATS prefixes of a `shared` system */
  label?: string;
  /** the seeded administrator (default: admin@dist-system.test with a random password) */
  admin?: { email: string; password: string };
  /** environment of every process (services and tools) over the launcher's own */
  env?: NodeJS.ProcessEnv;
  /** restart a service 500 ms after any exit, like scripts/start.mjs supervises (default true) */
  supervise?: boolean;
  /** start one service at a time, each waited for before the next (its start-to-ready measured alone) */
  oneByOne?: boolean;
  /** how a service's process is started: Node flags before the entry, another entry file and its arguments */
  node?: (service: DistServiceName) => { execArgv?: string[]; entry?: string; args?: string[] };
  /** an IPC channel to every service (a preloaded probe answers over it: bench/memory/probe.ts) */
  ipc?: boolean;
  /** how often readiness is probed while waiting (default 100 ms) */
  readyPollMs?: number;
  readyTimeoutMs?: number;
}

export interface ExitRecord {
  instance: string;
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the caller sent the signal (a fault); anything else is a crash */
  induced: boolean;
}

/** One running process of a service (`inventory`, or a second replica `inventory-2`). */
export interface Instance {
  instance: string;
  service: DistServiceName;
  port: number;
  proc: ChildProcess | null;
  starts: number;
  /** when the current process was spawned, and when waitReady first saw it ready (process.hrtime.bigint()) */
  spawnedAt: bigint;
  readyAt: bigint | null;
  /** no automatic restart after the next exit (a replica killed for good) */
  noRestart: boolean;
  inducedSignal: NodeJS.Signals | null;
}

interface Infra {
  databaseUrl: string;
  natsUrl: string;
  /** NATS names over the production defaults (a `shared` system's own stream, prefixes and bucket) */
  natsNames: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

/**
 * The real system as `npm start` runs it, on 127.0.0.1 only. Each instance logs to `<dir>/<instance>.log`
 * (kept by stop(true), e.g. when a run failed).
 */
export class DistSystem {
  readonly exits: ExitRecord[] = [];
  readonly instances: Instance[] = [];
  private stopping = false;
  private readonly logs = new Map<string, WriteStream>();

  private constructor(
    readonly dir: string,
    readonly services: readonly DistServiceName[],
    /** the environment every process starts from (a service's own port and NATS login are added at launch) */
    readonly env: NodeJS.ProcessEnv,
    readonly ports: Record<string, number>,
    readonly admin: { email: string; password: string },
    private readonly opts: DistSystemOptions,
    private readonly infra: Infra,
    /** the system's own Postgres (infra `own`/`own-cluster`): faults stop and start it */
    readonly pg: OwnPostgres | null,
    /** the system's own nats-server (infra `own`) */
    readonly nats: OwnNatsServer | null,
    /** the system's own NATS cluster (infra `own-cluster`) */
    readonly cluster: OwnNatsCluster | null,
    /** the system's database on the shared Postgres (infra `shared`) */
    readonly db: TestDatabase | null,
  ) {}

  static async start(opts: DistSystemOptions = {}): Promise<DistSystem> {
    if (!existsSync(join(DIST_DIR, 'services', 'gateway', 'src', 'main.js')))
      throw new Error('dist/ is missing: run `npm run build:server` first');
    const services = DIST_SERVICES.filter((s) => (opts.services ?? DIST_SERVICES).includes(s));
    const mode = opts.infra ?? 'shared';
    let pg: OwnPostgres | null = null;
    let nats: OwnNatsServer | null = null;
    let cluster: OwnNatsCluster | null = null;
    let db: TestDatabase | null = null;
    let infra: Infra;
    if (mode === 'shared') {
      db = await createTestDatabase(opts.label ?? 'dist', opts.pgAdminUrl ?? TEST_PG_ADMIN_URL);
      const natsUrl = opts.natsUrl ?? TEST_NATS_URL;
      const names = natsIsolation(opts.label ?? 'dist');
      const theDb = db;
      infra = {
        databaseUrl: db.url,
        natsUrl,
        natsNames: { ...names },
        async cleanup() {
          const nc = await connect({ servers: natsUrl, ...testNatsAdmin() }).catch(() => null);
          if (nc) {
            const jsm = await nc.jetstreamManager();
            await jsm.streams.delete(names.EVENTS_STREAM).catch(() => undefined);
            await jsm.streams.delete(`KV_${names.REVOCATION_BUCKET}`).catch(() => undefined);
            await nc.close();
          }
          await theDb.drop().catch(() => undefined);
        },
      };
    } else {
      pg = await startOwnPostgres();
      try {
        if (mode === 'own-cluster') cluster = await startOwnNatsCluster();
        else nats = await startOwnNatsServer({ names: DEFAULT_NATS_NAMES }); // the production subjects, stream and bucket
      } catch (err) {
        pg.cleanup();
        throw err;
      }
      const [p, n, c] = [pg, nats, cluster];
      infra = {
        databaseUrl: pg.url,
        natsUrl: cluster ? cluster.url : nats!.url,
        natsNames: {},
        async cleanup() {
          if (n) {
            await n.signal('SIGCONT').catch(() => undefined); // a frozen server cannot stop
            await n.cleanup();
          }
          if (c) await c.cleanup();
          p.cleanup();
        },
      };
    }
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-system-'));
    const ports: Record<string, number> = {};
    for (const s of DIST_SERVICES) ports[s] = await freePort();
    // the gateway's probes and metrics live on its internal port
    ports.gateway_internal = await freePort();
    const admin = opts.admin ?? { email: 'admin@dist-system.test', password: `Sys-${randomBytes(9).toString('base64url')}-9x` };
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ENVIRONMENT: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      DATABASE_URL: infra.databaseUrl,
      NATS_URL: infra.natsUrl,
      ...infra.natsNames,
      NATS_STREAM_REPLICAS: cluster ? '3' : '1',
      ARTIFACT_STORAGE_PATH: join(dir, 'artifacts'),
      // where a service keeps local state; also keeps the tools from reading a running `npm start`'s settings
      OPSDESK_STATE_DIR: dir,
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      JWT_SECRET: randomBytes(48).toString('base64url'),
      // auth's access-token key, audit's checkpoint key and the caller-context keys: fresh for each system; every
      // service sees every key, as in the e2e stack (each service's config reads only its own)
      JWT_PRIVATE_KEY: generateAccessTokenKey().privatePem,
      AUDIT_SIGNING_KEY: testAuditSigningKey(),
      ...contextKeyEnv(),
    };
    for (const [n, port] of Object.entries(ports)) {
      env[`${n.toUpperCase()}_PORT`] = String(port);
      env[`${n.toUpperCase()}_URL`] = `http://127.0.0.1:${port}`;
    }
    Object.assign(env, opts.env);
    mkdirSync(env.ARTIFACT_STORAGE_PATH as string, { recursive: true });
    const system = new DistSystem(dir, services, env, ports, admin, opts, infra, pg, nats, cluster, db);
    try {
      // the tools `npm start` runs before the services, as a deployment's migration job does
      system.tool('migrate', [join(REPO_ROOT, 'scripts', 'migrate.mjs')]);
      system.tool('provision-nats', [join(REPO_ROOT, 'scripts', 'provision-nats.mjs')]);
      system.tool('seed-admin', [join(DIST_DIR, 'services', 'auth', 'src', 'seed-admin.js')]);
      const timeout = opts.readyTimeoutMs ?? 90_000;
      const first = services.filter((s) => s !== 'gateway');
      if (opts.oneByOne) {
        for (const s of services) {
          system.launch(s);
          await system.waitReady([s], timeout);
        }
      } else {
        for (const s of first) system.launch(s);
        await system.waitReady(first, timeout);
        if (services.includes('gateway')) {
          system.launch('gateway');
          await system.waitReady(['gateway'], timeout);
        }
      }
    } catch (err) {
      await system.stop(true); // keep the services' logs: they say why the system did not come up
      throw new Error(`${(err as Error).message} (logs in ${dir})`);
    }
    return system;
  }

  /** the gateway's public base URL */
  get url(): string {
    return `http://127.0.0.1:${this.ports.gateway}`;
  }
  /** the gateway's internal base URL (/healthz, /readyz, /metrics) */
  get internalUrl(): string {
    return `http://127.0.0.1:${this.ports.gateway_internal}`;
  }
  /** a superuser connection to the system's database (for checks; the services get the same one) */
  get databaseUrl(): string {
    return this.infra.databaseUrl;
  }
  get natsUrl(): string {
    return this.infra.natsUrl;
  }
  get streamName(): string {
    return this.env.EVENTS_STREAM || 'OPSDESK_EVENTS';
  }
  get subjectPrefix(): string {
    return this.env.EVENTS_SUBJECT_PREFIX || 'opsdesk';
  }

  /** The environment of one process: a service (its own NATS login), or a tool (`null`: the provision login). */
  processEnv(service: DistServiceName | null): NodeJS.ProcessEnv {
    return { ...this.env, ...natsServiceEnv(service ?? NATS_PROVISION_USER) };
  }

  private tool(label: string, args: string[]): void {
    const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, env: this.processEnv(null), encoding: 'utf8', timeout: 180_000 });
    if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr || r.stdout}`);
  }

  private log(instance: string): WriteStream {
    let w = this.logs.get(instance);
    if (!w) {
      w = createWriteStream(this.logFile(instance), { flags: 'a' });
      this.logs.set(instance, w);
    }
    return w;
  }

  logFile(instance: string): string {
    return join(this.dir, `${instance}.log`);
  }

  /** the last `bytes` of an instance's log (for an error message) */
  logTail(instance: string, bytes = 4000): string {
    try {
      return readFileSync(this.logFile(instance), 'utf8').slice(-bytes);
    } catch {
      return '';
    }
  }

  /**
   * Starts a service, or another instance of it (`inventory-2` on its own port), and restarts it after any exit
   * when the system is supervised.
   */
  launch(service: DistServiceName, instance: string = service, port: number = this.ports[service]): Instance {
    let inst = this.instances.find((i) => i.instance === instance);
    if (!inst) {
      inst = { instance, service, port, proc: null, starts: 0, spawnedAt: 0n, readyAt: null, noRestart: false, inducedSignal: null };
      this.instances.push(inst);
    }
    const how = this.opts.node?.(service) ?? {};
    const entry = how.entry ?? join(DIST_DIR, 'services', service, 'src', 'main.js');
    const env = { ...this.processEnv(service), [`${service.toUpperCase()}_PORT`]: String(port) };
    // the service's production V8 flags first (deploy/node-flags.conf), then what the harness adds
    const flags = serviceNodeFlags(service);
    const proc = spawn(process.execPath, [...flags, ...(how.execArgv ?? []), entry, ...(how.args ?? [])], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe', ...(this.opts.ipc ? (['ipc'] as const) : [])],
    });
    const log = this.log(instance);
    proc.stdout!.pipe(log, { end: false });
    proc.stderr!.pipe(log, { end: false });
    inst.proc = proc;
    inst.starts++;
    inst.spawnedAt = process.hrtime.bigint();
    inst.readyAt = null;
    const self = inst;
    proc.once('exit', (code, signal) => {
      const induced = self.inducedSignal !== null;
      if (!this.stopping) this.exits.push({ instance: self.instance, at: Date.now(), code, signal, induced });
      self.inducedSignal = null;
      if (self.proc === proc) self.proc = null;
      if (this.stopping || self.noRestart || this.opts.supervise === false) return;
      // npm start's supervisor waits 500 ms before the first restart
      setTimeout(() => {
        if (!this.stopping && !self.proc) this.launch(self.service, self.instance, self.port);
      }, 500);
    });
    return inst;
  }

  instance(name: string): Instance {
    const i = this.instances.find((x) => x.instance === name);
    if (!i) throw new Error(`no instance ${name}`);
    return i;
  }

  /** Sends a signal to an instance and waits for it to exit (restarted when supervised, unless noRestart). */
  async signal(name: string, sig: NodeJS.Signals): Promise<void> {
    const inst = this.instance(name);
    const p = inst.proc;
    if (!p) throw new Error(`${name} is not running`);
    // a graceful stop ends with exit code 0 and no signal: the flag, not the signal, says the caller did it
    inst.inducedSignal = sig;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(sig);
    await exited;
  }

  /** Stops an instance (SIGTERM, SIGKILL after `graceMs`) and keeps it stopped until startInstance. */
  async stopInstance(name: string, graceMs = 10_000): Promise<void> {
    const inst = this.instance(name);
    inst.noRestart = true;
    if (inst.proc) inst.inducedSignal = 'SIGTERM';
    await stopProcess(inst.proc, graceMs);
  }

  /** Starts a stopped instance again with the same environment and port; resolves when it is ready. */
  async startInstance(name: string, timeoutMs = 60_000): Promise<void> {
    const inst = this.instance(name);
    if (inst.proc) throw new Error(`${name} is running`);
    inst.noRestart = false;
    this.launch(inst.service, inst.instance, inst.port);
    await this.waitReady([name], timeoutMs);
  }

  /** Stops an instance (SIGTERM) and starts it again; resolves when it is ready. */
  async restart(name: string, timeoutMs = 60_000): Promise<void> {
    await this.stopInstance(name);
    await this.startInstance(name, timeoutMs);
  }

  async isReady(port: number): Promise<boolean> {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
      return r.ok;
    } catch {
      return false;
    }
  }

  async waitReady(names: readonly string[] = this.instances.map((i) => i.instance), timeoutMs = 60_000): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        const inst = this.instance(name);
        if (inst.noRestart && !inst.proc) return;
        const state = await waitFor(
          async () => {
            // a process that died and will not be restarted is never ready: say so at once
            if (!inst.proc && (this.opts.supervise === false || inst.noRestart)) return 'exited';
            return (await this.isReady(this.probePort(inst))) && 'ready';
          },
          { timeoutMs, intervalMs: this.opts.readyPollMs ?? 100, what: `${name} to be ready (log: ${this.logFile(name)})` },
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${this.logTail(name, 2000)}`);
        });
        if (state === 'exited') throw new Error(`${name} exited before it was ready:\n${this.logTail(name)}`);
        inst.readyAt ??= process.hrtime.bigint();
      }),
    );
  }

  async allReady(): Promise<boolean> {
    for (const i of this.instances) if (i.proc && !(await this.isReady(this.probePort(i)))) return false;
    return true;
  }

  /** where an instance answers /readyz and /metrics: its own port, the gateway's internal one */
  probePort(inst: Instance): number {
    return inst.service === 'gateway' ? this.ports.gateway_internal : inst.port;
  }

  /** Resident set size of every running instance, in MiB (Linux /proc). */
  rss(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const i of this.instances) {
      if (!i.proc?.pid) continue;
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${i.proc.pid}/status`, 'utf8'));
        if (m) out[i.instance] = Math.round(Number(m[1]) / 1024);
      } catch {
        // exited meanwhile
      }
    }
    return out;
  }

  /**
   * Stops every instance (SIGTERM, SIGKILL after `graceMs`; the gateway first, so nothing new comes in), then
   * removes the infrastructure and, unless `keepFiles`, the logs and state.
   */
  async stop(keepFiles = false, graceMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const order = [...this.instances].sort((a, b) => Number(b.service === 'gateway') - Number(a.service === 'gateway'));
    const gateways = order.filter((i) => i.service === 'gateway');
    await Promise.all(gateways.map((i) => stopProcess(i.proc, graceMs)));
    await Promise.all(order.filter((i) => i.service !== 'gateway').map((i) => stopProcess(i.proc, graceMs)));
    for (const w of this.logs.values()) w.end();
    await this.infra.cleanup();
    if (!keepFiles) rmSync(this.dir, { recursive: true, force: true });
  }
}

function stopProcess(p: ChildProcess | null, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}
