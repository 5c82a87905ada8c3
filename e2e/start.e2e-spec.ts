import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@opsdesk/testing';
import { serviceNodeFlags } from '@opsdesk/config';

/**
 * The README's first command, as a newcomer runs it: `npm start` (scripts/start.mjs; `npm test` has built
 * dist/ already) with no DATABASE_URL, NATS_URL, JWT_SECRET or ADMIN_PASSWORD. It must bring up an embedded
 * Postgres, its own nats-server, migrations, the admin with a generated password, every service supervised,
 * and stop all of it on Ctrl-C. State and ports are this suite's own, so a developer's `npm start` is safe.
 */
const ROOT = join(__dirname, '..');
const SERVICES = ['auth', 'inventory', 'audit', 'artifacts', 'gateway'];

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The direct children of a process, with their command lines (Linux /proc). */
function childrenOf(pid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // the command name may contain spaces and parentheses: the ppid is the second field after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** The promise's value, or 'timeout' after ms (the timer is cleared either way, so nothing keeps jest alive). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

describe('npm start on a fresh state directory (embedded Postgres, own nats-server, supervised services)', () => {
  let closed: string;
  let state: string;
  let proc: ChildProcess;
  let out = '';
  const ports: Record<string, number> = {};
  let exited: Promise<number | null>;

  beforeAll(async () => {
    // inside a directory no other user may enter (like a checkout in root's home, mode 700): as root the embedded
    // Postgres must still start (scripts/lib/embedded-postgres.mjs runs it in a user namespace, not as another user)
    closed = mkdtempSync(join(tmpdir(), 'opsdesk-start-'));
    chmodSync(closed, 0o700);
    state = join(closed, 'state');
    for (const name of [...SERVICES, 'pg', 'nats']) ports[name] = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, OPSDESK_STATE_DIR: state, LOG_LEVEL: 'warn', EMBEDDED_PG_PORT: String(ports.pg), EMBEDDED_NATS_PORT: String(ports.nats) };
    for (const v of ['DATABASE_URL', 'NATS_URL', 'JWT_SECRET', 'JWT_ALGORITHM', 'JWT_PRIVATE_KEY', 'ADMIN_PASSWORD', 'ADMIN_EMAIL', 'ARTIFACT_STORAGE_PATH', 'PROMETHEUS_URL', 'AUDIT_SIGNING_KEY']) delete env[v];
    for (const v of Object.keys(env)) if (/_CONTEXT_(PRIVATE|PUBLIC)_KEY$/.test(v)) delete env[v];
    for (const s of SERVICES) env[`${s.toUpperCase()}_PORT`] = String(ports[s]);
    // the gateway's probes and metrics port (its default 8010 may be taken by another run on this machine)
    env.GATEWAY_INTERNAL_PORT = String(await freePort());
    // its own process group, so a failed test can still take everything down (afterAll)
    proc = spawn(process.execPath, [join(ROOT, 'scripts', 'start.mjs')], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  });

  afterAll(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGINT');
      if ((await within(exited, 60_000)) === 'timeout') process.kill(-proc.pid!, 'SIGKILL');
    }
    rmSync(closed, { recursive: true, force: true });
  }, 90_000);

  const gateway = () => `http://127.0.0.1:${ports.gateway}`;

  it('comes up with everything and prints the URL and the generated login', async () => {
    await waitFor(() => out.includes('OpsDesk is up') || proc.exitCode !== null, { timeoutMs: 180_000, intervalMs: 250, what: 'npm start to report the system up' });
    expect(proc.exitCode).toBeNull();
    expect(out).toContain(`OpsDesk is up: http://127.0.0.1:${ports.gateway}`);
    expect(out).toContain(`embedded Postgres on 127.0.0.1:${ports.pg}`);
    expect(out).toMatch(new RegExp(`nats: \\S*nats-server on nats://127\\.0\\.0\\.1:${ports.nats} with JetStream`));
    // a generated admin password, printed once and saved with owner-only permissions
    const passwordFile = join(state, 'admin-password');
    const password = readFileSync(passwordFile, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(out).toContain(`admin@opsdesk.local / ${password}`);
    for (const s of SERVICES) expect(await listening(ports[s])).toBe(true);

    const login = await fetch(`${gateway()}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@opsdesk.local', password }) });
    expect(login.status).toBe(200);
    const { access_token } = (await login.json()) as { access_token: string };
    const me = await fetch(`${gateway()}/api/auth/me`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(await me.json()).toMatchObject({ email: 'admin@opsdesk.local', role: 'admin' });
    expect((await fetch(`${gateway()}/`)).status).toBe(200); // the console
    // a generated Ed25519 checkpoint key, owner-only; only its public half is served, without a login
    const auditKeyFile = join(state, 'audit-signing-key');
    expect(statSync(auditKeyFile).mode & 0o777).toBe(0o600);
    const auditKey = createPrivateKey({ key: Buffer.from(readFileSync(auditKeyFile, 'utf8').trim(), 'base64'), format: 'der', type: 'pkcs8' });
    expect(auditKey.asymmetricKeyType).toBe('ed25519');
    const published = await fetch(`${gateway()}/api/audit/public-key`);
    expect(published.status).toBe(200);
    expect(((await published.json()) as { keys: Array<{ public_key: string }> }).keys.map((k) => k.public_key)).toEqual([
      createPublicKey(auditKey).export({ format: 'der', type: 'spki' }).toString('base64'),
    ]);
  }, 200_000);

  it('generates auth\'s access-token key (owner-only) and gives it to auth alone: the gateway process cannot mint', async () => {
    const keyFile = join(state, 'jwt-private-key.pem');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = createPrivateKey(readFileSync(keyFile, 'utf8'));
    expect(key.asymmetricKeyType).toBe('ed25519');
    const environ = (pid: number) => new Map(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const children = childrenOf(proc.pid!);
    for (const s of SERVICES) {
      const child = children.find((c) => c.cmd.includes(join('services', s, 'src', 'main.js')));
      expect(child).toBeDefined();
      const env = environ(child!.pid);
      const values = [...env.values()].join('\n');
      if (s === 'auth') {
        expect(env.get('JWT_PRIVATE_KEY')).toBe(readFileSync(keyFile, 'utf8'));
      } else {
        expect({ s, key: env.get('JWT_PRIVATE_KEY') ?? '' }).toEqual({ s, key: '' });
        expect(values).not.toContain('PRIVATE KEY');
      }
    }
    // tokens name the key's RFC 7638 thumbprint, and the gateway publishes only its public half
    const jwks = (await (await fetch(`${gateway()}/api/auth/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
    const x = createPublicKey(key).export({ format: 'jwk' }).x as string;
    const kid = createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
    expect(jwks.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' }]);
    const password = readFileSync(join(state, 'admin-password'), 'utf8').trim();
    const login = await fetch(`${gateway()}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@opsdesk.local', password }) });
    const { access_token } = (await login.json()) as { access_token: string };
    expect(JSON.parse(Buffer.from(access_token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'EdDSA', typ: 'JWT', kid });
  });

  it('generates the caller-context keys owner-only and gives each private key to its signer alone', async () => {
    for (const signer of ['gateway', 'artifacts']) expect(statSync(join(state, 'context-keys', `${signer}.json`)).mode & 0o777).toBe(0o600);
    const held: Record<string, string[]> = {};
    for (const child of childrenOf(proc.pid!)) {
      const service = /dist\/services\/([a-z]+)\/src\/main\.js/.exec(child.cmd)?.[1];
      if (!service) continue;
      const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
      held[service] = environ.map((kv) => kv.split('=')[0]).filter((k) => /_CONTEXT_(PRIVATE|PUBLIC)_KEY$/.test(k)).sort();
    }
    expect(held).toEqual({
      gateway: ['GATEWAY_CONTEXT_PRIVATE_KEY'],
      auth: ['GATEWAY_CONTEXT_PUBLIC_KEY'],
      audit: ['GATEWAY_CONTEXT_PUBLIC_KEY'],
      inventory: ['ARTIFACTS_CONTEXT_PUBLIC_KEY', 'GATEWAY_CONTEXT_PUBLIC_KEY'],
      artifacts: ['ARTIFACTS_CONTEXT_PRIVATE_KEY', 'GATEWAY_CONTEXT_PUBLIC_KEY'],
    });
  });

  it('starts each service with its V8 flags from deploy/node-flags.conf, as the image does', () => {
    const seen: Record<string, string[]> = {};
    for (const child of childrenOf(proc.pid!)) {
      const service = /dist\/services\/([a-z]+)\/src\/main\.js/.exec(child.cmd)?.[1];
      if (service) seen[service] = child.cmd.split(' ').filter((a) => a.startsWith('--'));
    }
    const expected = Object.fromEntries(Object.keys(seen).map((s) => [s, serviceNodeFlags(s)]));
    expect(Object.keys(seen).sort()).toEqual(['artifacts', 'audit', 'auth', 'gateway', 'inventory']);
    expect(seen).toEqual(expected);
    expect(seen.artifacts.length).toBeGreaterThan(0);
  });

  it('runs its nats-server with authorisation: no anonymous client, one owner-only generated login per service', async () => {
    const { connect } = await import('nats');
    const anon = await connect({ servers: `nats://127.0.0.1:${ports.nats}`, reconnect: false, timeout: 2000 }).then(
      async (nc) => {
        await nc.close();
        return 'connected';
      },
      (err: { code?: string }) => String(err.code),
    );
    expect(anon).toBe('AUTHORIZATION_VIOLATION');
    for (const file of ['nats-credentials.json', 'nats-server.conf']) expect(statSync(join(state, file)).mode & 0o777).toBe(0o600);
    const logins = JSON.parse(readFileSync(join(state, 'nats-credentials.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(logins).sort()).toEqual([...SERVICES, 'provision'].sort());
    // inventory's login works for its own subjects and is refused rpc.auth.> by the broker
    const inventory = await connect({ servers: `nats://127.0.0.1:${ports.nats}`, reconnect: false, user: 'inventory', pass: logins.inventory, inboxPrefix: '_INBOX_inventory' });
    try {
      const refused = await inventory.request('rpc.auth.login', Buffer.from('{}'), { timeout: 2000 }).then(
        () => 'answered',
        (err: { code?: string }) => String(err.code),
      );
      expect(refused).toBe('PERMISSIONS_VIOLATION');
    } finally {
      await inventory.close();
    }
  }, 30_000);

  it('lets the command-line tools find it: npm run seed:demo next to npm start needs no setup', async () => {
    // what npm start chose itself (embedded Postgres, own NATS, generated secret), owner-only
    const runningEnv = join(state, 'running.env');
    expect(statSync(runningEnv).mode & 0o777).toBe(0o600);
    // the tools (migrate, seeds) get the migration login, never the embedded superuser
    expect(readFileSync(runningEnv, 'utf8')).toContain(`DATABASE_URL=postgres://opsdesk_migrator:`);
    const env: NodeJS.ProcessEnv = { ...process.env, OPSDESK_STATE_DIR: state, LOG_LEVEL: 'warn' };
    for (const v of ['DATABASE_URL', 'NATS_URL', 'JWT_SECRET']) delete env[v];
    const seed = spawnSync(process.execPath, [join(ROOT, 'dist', 'services', 'inventory', 'src', 'seed-demo.js')], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
    expect(seed.stderr).toBe('');
    expect(seed.status).toBe(0);
    expect(seed.stdout).toMatch(/seed:demo: \d+ hosts created/);

    const password = readFileSync(join(state, 'admin-password'), 'utf8').trim();
    const login = await fetch(`${gateway()}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@opsdesk.local', password }) });
    const { access_token } = (await login.json()) as { access_token: string };
    const summary = await fetch(`${gateway()}/api/hosts/summary`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(((await summary.json()) as { total: number }).total).toBeGreaterThanOrEqual(200);
  }, 150_000);

  it('runs each service with its own database login (SPEC §7), the gateway with none', async () => {
    const children = childrenOf(proc.pid!);
    for (const name of SERVICES) {
      const child = children.find((c) => c.cmd.includes(join('services', name, 'src', 'main.js')));
      expect(child).toBeDefined();
      const environ = readFileSync(`/proc/${child!.pid}/environ`, 'utf8').split('\0');
      const url = environ.find((e) => e.startsWith('DATABASE_URL='))?.slice('DATABASE_URL='.length) ?? '';
      if (name === 'gateway') expect({ name, url }).toEqual({ name, url: '' });
      else expect({ name, user: url ? decodeURIComponent(new URL(url).username) : null }).toEqual({ name, user: `opsdesk_${name}` });
    }
  });

  it('restarts a service that dies, and the API works again through it', async () => {
    const inventory = childrenOf(proc.pid!).find((c) => c.cmd.includes(join('services', 'inventory', 'src', 'main.js')));
    expect(inventory).toBeDefined();
    process.kill(inventory!.pid, 'SIGKILL');
    await waitFor(() => out.includes('inventory exited (SIGKILL); restarting'), { timeoutMs: 10_000, what: 'the supervisor to notice' });
    const password = readFileSync(join(state, 'admin-password'), 'utf8').trim();
    const login = await fetch(`${gateway()}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@opsdesk.local', password }) });
    const { access_token } = (await login.json()) as { access_token: string };
    await waitFor(async () => (await fetch(`${gateway()}/api/hosts`, { headers: { authorization: `Bearer ${access_token}` } })).status === 200, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'host list through the restarted inventory service',
    });
    const again = childrenOf(proc.pid!).find((c) => c.cmd.includes(join('services', 'inventory', 'src', 'main.js')));
    expect(again && again.pid !== inventory!.pid).toBe(true);
  }, 90_000);

  it('Ctrl-C stops the services, NATS and Postgres, and leaves no process behind', async () => {
    const children = childrenOf(proc.pid!).map((c) => c.pid);
    expect(children.length).toBeGreaterThanOrEqual(SERVICES.length + 1); // the services and nats-server at least
    proc.kill('SIGINT');
    const code = await within(exited, 60_000);
    expect(code).toBe(0);
    expect(out).toContain('stopping Postgres');
    expect(out).toContain('stopping NATS');
    for (const pid of children) expect(alive(pid)).toBe(false);
    for (const name of [...SERVICES, 'pg', 'nats']) expect(await listening(ports[name])).toBe(false);
    expect(existsSync(join(state, 'running.env'))).toBe(false); // nothing points at a system that is gone
  }, 90_000);
});
