import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  type WriteStream,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NATS_PROVISION_USER,
  contextKeyEnv,
  freePort,
  generateAccessTokenKey,
  natsServiceEnv,
  startOwnNatsServer,
  testAuditSigningKey,
  waitFor,
  type OwnNatsServer,
} from '@opsdesk/testing';
import { DEFAULT_NATS_NAMES } from '@opsdesk/contracts';
import { startOwnPostgres, type OwnPostgres } from './postgres';
import { startOwnNatsCluster, type OwnNatsCluster } from './nats-cluster';

const ROOT = join(__dirname, '..', '..');
export const SERVICES = ['auth', 'inventory', 'audit', 'artifacts', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const ADMIN_EMAIL = 'admin@reliability.test';
export const ADMIN_PASSWORD = `Rel-${randomBytes(9).toString('base64url')}-9x`;
/** seconds the gateway waits for a service; a client request still open after it (plus slack) counts as hung */
export const REQUEST_TIMEOUT_S = 5;

interface SystemDescription {
  base: NodeJS.ProcessEnv;
  databaseUrl: string;
  natsUrl: string;
  artifactsDir: string;
  stateDir: string;
  ports: Record<string, number>;
}

/**
 * The environment of one process of the system (a service, or a tool when `service` is null): the one place the
 * suite builds it, so a new setting (a credential, a per-service login) is added here once. It mirrors what
 * scripts/start.mjs gives each service, except that every service sees every test key, as in the e2e stack.
 */
function serviceEnv(service: string | null, sys: SystemDescription): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...sys.base,
    DATABASE_URL: sys.databaseUrl,
    NATS_URL: sys.natsUrl,
    ARTIFACT_STORAGE_PATH: sys.artifactsDir,
    OPSDESK_STATE_DIR: sys.stateDir,
  };
  for (const [n, port] of Object.entries(sys.ports)) {
    env[`${n.toUpperCase()}_PORT`] = String(port);
    env[`${n.toUpperCase()}_URL`] = `http://127.0.0.1:${port}`;
  }
  // NATS requires logins: each service its own, the tools (migrate, provision:nats, seed) the provision login
  Object.assign(env, natsServiceEnv(service ?? NATS_PROVISION_USER));
  void service; // per-service settings (an own DB login, a NATS user) branch on it
  return env;
}

export interface ExitRecord {
  instance: string;
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the suite sent the signal (a fault); anything else is a crash the run reports */
  induced: boolean;
}

/** One running process of a service (`inventory`, or a second replica `inventory-2`), restarted like npm start does. */
export interface Instance {
  instance: string;
  service: ServiceName;
  port: number;
  proc: ChildProcess | null;
  starts: number;
  /** no automatic restart after the next exit (a replica killed for good) */
  noRestart: boolean;
  inducedSignal: NodeJS.Signals | null;
}

export interface SystemOptions {
  /** a 3-node NATS cluster (deploy/nats) and an R3 events stream instead of one nats-server */
  cluster?: boolean;
}

/**
 * The real system as `npm start` runs it: every service a child process from dist/, a Postgres and a nats-server
 * (or cluster) of its own on 127.0.0.1, migrations and the admin seed run by the same scripts as in production.
 */
export class System {
  readonly exits: ExitRecord[] = [];
  readonly instances: Instance[] = [];
  private stopping = false;
  private logs = new Map<string, WriteStream>();

  private constructor(
    readonly dir: string,
    readonly pg: OwnPostgres,
    readonly nats: OwnNatsServer | null,
    readonly cluster: OwnNatsCluster | null,
    private readonly sys: SystemDescription,
  ) {}

  static async start(opts: SystemOptions = {}): Promise<System> {
    if (!existsSync(join(ROOT, 'dist', 'services', 'gateway', 'src', 'main.js')))
      throw new Error('dist/ is missing: run `npm run build` first');
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-rel-'));
    const pg = await startOwnPostgres();
    let nats: OwnNatsServer | null = null;
    let cluster: OwnNatsCluster | null = null;
    try {
      if (opts.cluster) cluster = await startOwnNatsCluster();
      else nats = await startOwnNatsServer({ names: DEFAULT_NATS_NAMES }); // the production subjects, stream and bucket
    } catch (err) {
      pg.cleanup();
      throw err;
    }
    const ports: Record<string, number> = {};
    for (const s of SERVICES) ports[s] = await freePort();
    // the gateway's probes and metrics live on its internal port (GATEWAY_INTERNAL_PORT, from this key)
    ports.gateway_internal = await freePort();
    const sys: SystemDescription = {
      base: {
        PATH: process.env.PATH,
        ENVIRONMENT: 'test',
        LOG_LEVEL: process.env.RELIABILITY_LOG_LEVEL ?? 'warn',
        HOST: '127.0.0.1',
        DB_POOL_SIZE: '5',
        DB_MAX_OVERFLOW: '2',
        REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S),
        // the load logs in from many X-Forwarded-For addresses and acts far above a person's rate
        TRUST_PROXY: '127.0.0.1',
        RATE_LIMIT_AUTH_PER_MINUTE: '100000',
        RATE_LIMIT_AUTH_BURST: '100000',
        RATE_LIMIT_API_PER_MINUTE: '1000000',
        // one load user uploads from many workers at once: the per-user in-flight cap (3) would answer 429
        ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER: '1000',
        NATS_STREAM_REPLICAS: opts.cluster ? '3' : '1',
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        PROMETHEUS_URL: 'http://127.0.0.1:9',
        JWT_SECRET: randomBytes(48).toString('base64url'),
        // auth's access-token key, audit's checkpoint key and the caller-context keys: fresh for each system
        JWT_PRIVATE_KEY: generateAccessTokenKey().privatePem,
        AUDIT_SIGNING_KEY: testAuditSigningKey(),
        ...contextKeyEnv(),
      },
      databaseUrl: pg.url,
      natsUrl: cluster ? cluster.url : nats!.url,
      artifactsDir: join(dir, 'artifacts'),
      stateDir: dir,
      ports,
    };
    mkdirSync(sys.artifactsDir);
    const system = new System(dir, pg, nats, cluster, sys);
    try {
      system.tool('migrate', [join(ROOT, 'scripts', 'migrate.mjs')]);
      system.tool('provision-nats', [join(ROOT, 'scripts', 'provision-nats.mjs')]);
      system.tool('seed-admin', [join(ROOT, 'dist', 'services', 'auth', 'src', 'seed-admin.js')]);
      for (const s of SERVICES.filter((x) => x !== 'gateway')) system.launch(s, s, ports[s]);
      await system.waitReady(
        SERVICES.filter((x) => x !== 'gateway'),
        90_000,
      );
      system.launch('gateway', 'gateway', ports.gateway);
      await system.waitReady(['gateway'], 60_000);
    } catch (err) {
      await system.stop(true); // keep the services' logs: they say why the system did not come up
      throw err;
    }
    return system;
  }

  get url(): string {
    return `http://127.0.0.1:${this.sys.ports.gateway}`;
  }
  get databaseUrl(): string {
    return this.sys.databaseUrl;
  }
  get natsUrl(): string {
    return this.sys.natsUrl;
  }
  get streamName(): string {
    return 'OPSDESK_EVENTS';
  }
  get subjectPrefix(): string {
    return 'opsdesk';
  }

  private tool(label: string, args: string[]): void {
    const r = spawnSync(process.execPath, args, {
      cwd: ROOT,
      env: serviceEnv(null, this.sys),
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr || r.stdout}`);
  }

  private log(instance: string): WriteStream {
    let w = this.logs.get(instance);
    if (!w) {
      w = createWriteStream(join(this.dir, `${instance}.log`), { flags: 'a' });
      this.logs.set(instance, w);
    }
    return w;
  }

  /** Starts (or adds) an instance and restarts it after any exit, like scripts/start.mjs supervises. */
  launch(service: ServiceName, instance: string, port: number): Instance {
    let inst = this.instances.find((i) => i.instance === instance);
    if (!inst) {
      inst = { instance, service, port, proc: null, starts: 0, noRestart: false, inducedSignal: null };
      this.instances.push(inst);
    }
    const env = { ...serviceEnv(service, this.sys), [`${service.toUpperCase()}_PORT`]: String(port) };
    const proc = spawn(process.execPath, [join(ROOT, 'dist', 'services', service, 'src', 'main.js')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = this.log(instance);
    proc.stdout!.pipe(log, { end: false });
    proc.stderr!.pipe(log, { end: false });
    inst.proc = proc;
    inst.starts++;
    const self = inst;
    proc.once('exit', (code, signal) => {
      const induced = self.inducedSignal !== null;
      if (!this.stopping) this.exits.push({ instance: self.instance, at: Date.now(), code, signal, induced });
      self.inducedSignal = null;
      if (self.proc === proc) self.proc = null;
      if (this.stopping || self.noRestart) return;
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

  /** Sends a fault signal to an instance and waits for it to exit (the supervisor restarts it unless noRestart). */
  async signal(name: string, sig: NodeJS.Signals): Promise<void> {
    const inst = this.instance(name);
    const p = inst.proc;
    if (!p) throw new Error(`${name} is not running`);
    // a graceful stop ends with exit code 0 and no signal: the flag, not the signal, says the suite did it
    inst.inducedSignal = sig;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(sig);
    await exited;
  }

  async isReady(port: number): Promise<boolean> {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
      return r.ok;
    } catch {
      return false;
    }
  }

  async waitReady(
    services: readonly string[] = this.instances.map((i) => i.instance),
    timeoutMs = 60_000,
  ): Promise<void> {
    for (const name of services) {
      const inst = this.instance(name);
      if (inst.noRestart && !inst.proc) continue;
      await waitFor(() => this.isReady(this.probePort(inst)), {
        timeoutMs,
        intervalMs: 200,
        what: `${name} to be ready (log: ${join(this.dir, `${name}.log`)})`,
      });
    }
  }

  async allReady(): Promise<boolean> {
    for (const i of this.instances) if (i.proc && !(await this.isReady(this.probePort(i)))) return false;
    return true;
  }

  /** where an instance answers /readyz: its own port, the gateway's internal one */
  probePort(inst: Instance): number {
    return inst.service === 'gateway' ? this.sys.ports.gateway_internal : inst.port;
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

  async stop(keepFiles = false): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.instances.map(
        (i) =>
          new Promise<void>((resolve) => {
            const p = i.proc;
            if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
            const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
            p.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            p.kill('SIGTERM');
          }),
      ),
    );
    for (const w of this.logs.values()) w.end();
    if (this.nats) {
      await this.nats.signal('SIGCONT').catch(() => undefined);
      await this.nats.cleanup();
    }
    if (this.cluster) await this.cluster.cleanup();
    this.pg.cleanup();
    if (!keepFiles) rmSync(this.dir, { recursive: true, force: true });
  }
}
