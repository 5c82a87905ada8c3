// Runs before `npm test` (npm's pretest, after ensure-deps): the programs the suites run for real, from Debian
// packages — PostgreSQL (a private cluster when none is running, and psql/pg_dump for the backup test), nats-server
// (every suite's private broker), Prometheus + node exporter (telemetry), nginx (the shipped proxy config) and
// Chromium (the console's browser test; never downloaded by npm). Missing ones are installed with apt when we are
// root on a Debian-like system; otherwise the run stops here with the one command to run, before anything starts.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const onPath = (name) => (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, name)));
const pgTool = (name) =>
  existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', name)));
const postgresBin = () =>
  existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'postgres')));

/** Debian package → is what the suites use present? */
const needed = [
  // pg_basebackup, pg_ctl, initdb: the point-in-time restore drill (e2e/deploy-pitr.e2e-spec.ts, deploy/backup)
  ['postgresql', () => postgresBin() && onPath('psql') && onPath('pg_dump') && pgTool('pg_basebackup') && pgTool('pg_archivecleanup')],
  ['nats-server', () => onPath('nats-server') || existsSync('/usr/sbin/nats-server')],
  ['prometheus', () => existsSync('/usr/bin/prometheus') && existsSync('/usr/bin/promtool')],
  ['prometheus-node-exporter', () => existsSync('/usr/bin/prometheus-node-exporter')],
  // amtool checks deploy/alertmanager (e2e/deploy-alertmanager.e2e-spec.ts)
  ['prometheus-alertmanager', () => existsSync('/usr/bin/amtool') && existsSync('/usr/bin/prometheus-alertmanager')],
  ['nginx-light', () => onPath('nginx') || existsSync('/usr/sbin/nginx')],
  ['chromium', () => existsSync('/usr/bin/chromium')],
];
const missing = needed.filter(([, present]) => !present()).map(([pkg]) => pkg);
if (missing.length === 0) process.exit(0);

const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = onPath('apt-get') || existsSync('/usr/bin/apt-get');
if (!isRoot || !hasApt || process.env.OPSDESK_NO_APT === '1') {
  console.error(`the tests run these programs for real and they are missing: ${missing.join(', ')}\n  install them first: ${isRoot ? '' : 'sudo '}${command}`);
  process.exit(1);
}
console.log(`installing what the tests run for real (once): ${missing.join(' ')}`);
// Never start the packaged services on install (a container without an init system; the tests start their own).
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...missing]]) {
  const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`apt-get ${args[0]} failed; install them by hand: ${command}`);
    process.exit(1);
  }
}
const still = needed.filter(([pkg, present]) => missing.includes(pkg) && !present()).map(([pkg]) => pkg);
if (still.length) {
  console.error(`installed, but still not found: ${still.join(', ')}`);
  process.exit(1);
}
