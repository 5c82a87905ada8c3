import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './nats';

/**
 * A Postgres cluster a suite owns and may stop (the shared one on :5432 is never stopped; the fault suite uses this
 * one too): PG 15 from Debian's
 * packages, data under the OS temp dir, 127.0.0.1 only, trust auth. Postgres refuses to run as root, so as
 * root every pg_ctl runs as the `postgres` OS user, which owns the directory.
 */
export interface OwnPostgres {
  url: string;
  port: number;
  start(): void;
  /** pg_ctl stop -m fast (clients disconnected, clean shutdown) or -m immediate (a crash: WAL replay on start) */
  stop(mode: 'fast' | 'immediate'): void;
  cleanup(): void;
}

const BIN = process.env.TEST_PG_BIN ?? process.env.RELIABILITY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

function osUser(name: string): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'opsdesk-own-pg-'));
  const data = join(dir, 'data');
  const isRoot = process.getuid?.() === 0;
  const pgUser = isRoot ? osUser('postgres') : null;
  if (isRoot && !pgUser) throw new Error('running as root needs a `postgres` OS user to run Postgres');
  chmodSync(dir, 0o755);
  if (pgUser) chownSync(dir, pgUser.uid, pgUser.gid);
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = isRoot
      ? ['runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]]
      : [join(BIN, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-instructions', '-E', 'UTF8']);
  // max_connections covers every service's pool plus a second inventory replica and the checks.
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=200`;
  const start = () =>
    run('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-o', opts, '-w', '-t', '60', 'start']);
  start();
  const url = `postgres://postgres@127.0.0.1:${port}/opsdesk`;
  const admin = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE opsdesk');
  await admin.end();
  return {
    url,
    port,
    start,
    stop: (mode) => run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']),
    cleanup() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
