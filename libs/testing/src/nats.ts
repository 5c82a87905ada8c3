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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
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
