import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait';
import { testNatsAdmin, testNatsServerConfig } from './nats-auth';
import type { NatsNames } from '@opsdesk/contracts';

export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** Names that isolate a suite on a shared NATS server: its own stream, subjects and KV bucket. */
export interface NatsIsolation {
  EVENTS_STREAM: string;
  EVENTS_SUBJECT_PREFIX: string;
  RPC_SUBJECT_PREFIX: string;
  REVOCATION_BUCKET: string;
}

export function natsIsolation(label = 't'): NatsIsolation {
  const id = `${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 12)}${randomBytes(4).toString('hex')}`;
  return {
    EVENTS_STREAM: `T_${id.toUpperCase()}`,
    EVENTS_SUBJECT_PREFIX: `t_${id}.opsdesk`,
    RPC_SUBJECT_PREFIX: `t_${id}.rpc`,
    REVOCATION_BUCKET: `T_${id.toUpperCase()}_REV`,
  };
}

/**
 * Ports for servers a test starts itself (nats-server, Postgres, nginx, Prometheus, a service on a fixed port).
 *
 * Under jest each worker takes them from a block of its own below the kernel's ephemeral range (32768+): a port
 * found free by listen(0) and closed again could be handed by the kernel to another worker's listen(0) or connect()
 * before our server binds it: the server then fails to start, or (a route URL) reaches someone else's server.
 * Outside jest (the bench, scripts) the kernel picks, as nothing runs beside them.
 */
const PORT_BLOCK_BASE = 20_000;
const PORT_BLOCK_SIZE = 1_000;
let nextInBlock = -1;

export async function freePort(): Promise<number> {
  const worker = Number(process.env.JEST_WORKER_ID);
  if (!Number.isInteger(worker) || worker < 1 || worker > 12) return listenOn(0);
  const base = PORT_BLOCK_BASE + (worker - 1) * PORT_BLOCK_SIZE;
  // a random start: each test file has its own copy of this module, and the previous file's ports may linger
  if (nextInBlock < 0) nextInBlock = Math.floor(Math.random() * PORT_BLOCK_SIZE);
  for (let tries = 0; tries < PORT_BLOCK_SIZE; tries++) {
    const port = base + (nextInBlock++ % PORT_BLOCK_SIZE);
    const ok = await listenOn(port).then(
      () => true,
      () => false,
    );
    if (ok) return port;
  }
  throw new Error(`no free port in ${base}-${base + PORT_BLOCK_SIZE - 1} (jest worker ${worker})`);
}

/** binds 127.0.0.1:port (0: the kernel picks), closes it again and answers the port */
function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const addr = s.address();
      const bound = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(bound));
    });
  });
}

export interface OwnNatsServer {
  url: string;
  port: number;
  /** stops the server (SIGTERM) and waits for exit */
  stop(): Promise<void>;
  /** starts it again on the same port with the same store */
  start(): Promise<void>;
  /** removes the store */
  cleanup(): Promise<void>;
  /** sends a signal to the running server (fault suites: SIGSTOP/SIGCONT freeze it; after SIGKILL, waits for the exit) */
  signal(sig: NodeJS.Signals): Promise<void>;
}

/**
 * A private nats-server (JetStream, own store dir, 127.0.0.1) for tests that stop the broker, with the
 * same authorisation as the shared test server (the same logins work on both).
 */
export async function startOwnNatsServer(opts: { names?: NatsNames } = {}): Promise<OwnNatsServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'opsdesk-nats-'));
  let proc: ChildProcess | null = null;
  const bin = process.env.NATS_SERVER_BIN ?? 'nats-server';
  const start = async () => {
    const conf = join(dir, 'nats-server.conf');
    writeFileSync(conf, testNatsServerConfig(port, join(dir, 'js'), opts.names), { mode: 0o600 });
    proc = spawn(bin, ['-c', conf], { stdio: 'ignore' });
    await waitFor(async () => {
      const { connect } = await import('nats');
      const nc = await connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false, timeout: 500, ...testNatsAdmin() }).catch(() => null);
      if (!nc) return false;
      await nc.close();
      return true;
    }, { timeoutMs: 10_000, what: 'nats-server to accept connections' });
  };
  const stop = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async signal(sig) {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      if (sig !== 'SIGKILL') {
        p.kill(sig);
        return;
      }
      proc = null;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill(sig);
      });
    },
    async cleanup() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
