// `npm test` (after typecheck, lint and build): every jest project — unit, integration, e2e — against the
// real Postgres and a real nats-server (started by the run itself, with authorisation). Checks they are
// available first, so a missing service is one clear line, not a hundred timeouts.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function reachable(host, port) {
  return new Promise((resolve) => {
    const s = createConnection({ host, port, timeout: 2000 });
    s.once('connect', () => {
      s.end();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

const pg = new URL(process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
if (!(await reachable(pg.hostname, Number(pg.port || 5432)))) {
  console.error(`tests need PostgreSQL at ${pg.host} (TEST_PG_ADMIN_URL); start it (see docs/DEVELOPING.md) or run .ci/run`);
  process.exit(1);
}
// NATS: the suites start their own nats-server with authorisation (libs/testing/src/nats-global-setup.ts)
const natsBin = process.env.NATS_SERVER_BIN ?? 'nats-server';
const natsProbe = spawnSync(natsBin, ['--version'], { encoding: 'utf8' });
if (natsProbe.status !== 0) {
  console.error(`tests need the nats-server binary (NATS_SERVER_BIN or PATH); install it (see docs/DEVELOPING.md) or run .ci/run`);
  process.exit(1);
}

const out = join(tmpdir(), `opsdesk-jest-${process.pid}.json`);
const args = ['jest', '--ci', `--maxWorkers=${process.env.JEST_WORKERS ?? 2}`, '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
const r = spawnSync('npx', args, { stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false' } });
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
process.exit(r.status ?? 1);
