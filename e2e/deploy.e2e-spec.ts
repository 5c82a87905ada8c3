import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parseAllDocuments } from 'yaml';
import { NGINX_BIN, ROUTE_TLS_DIR_IN_CONF, freePort, makeRouteTlsFiles, makeSelfSignedCert, startNginx, type RunningNginx } from '@opsdesk/testing';
import { serviceNodeFlags } from '@opsdesk/config';
import { natsPasswordVariable, natsPermissionSet } from '@opsdesk/contracts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, randomIp, startStack, waitFor, type Stack } from './support/stack';
import {
  DEPLOY,
  ROOT,
  collectExprs,
  envExampleNames,
  exportedNames,
  hasPath,
  isRecord,
  metricNames,
  readYaml,
  rel,
  unknownKeys,
  valuesPaths,
  walk,
  writeNginxTree,
} from './support/deploy-files';

/**
 * deploy/ validated with the real tools (promtool, nginx, nats-server, tsc) and against the real services:
 * every metric a dashboard or alert uses must be exported by a running OpsDesk service.
 */

const PROMTOOL = '/usr/bin/promtool';
const NGINX = NGINX_BIN;
const NATS_SERVER = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
/** what deploy/backup/backup.sh writes to BACKUP_METRICS_FILE (node exporter textfile collector) */
const BACKUP_TEXTFILE_METRICS = ['opsdesk_backup_last_success_timestamp_seconds', 'opsdesk_backup_last_size_bytes'];
const ALL_SERVICES = ['gateway', 'auth', 'inventory', 'audit', 'artifacts'];
const INTERNAL = ['auth', 'inventory', 'audit', 'artifacts'];
const PORTS: Record<string, number> = { gateway: 8000, auth: 8001, inventory: 8002, audit: 8003, artifacts: 8004 };

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...opts.env }, cwd: opts.cwd ?? ROOT, timeout: 60_000 });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A missing tool fails the suite with the fix in the message (CI installs them), never a silent skip. */
function requireTool(path: string, versionArg: string, hint: string): void {
  const probe = spawnSync(path, [versionArg], { encoding: 'utf8' });
  if (probe.error) throw new Error(`${path} is not installed: ${hint}`);
}


const yamlFiles = walk(DEPLOY).filter((f) => /\.ya?ml$/.test(f) && !f.includes(join('helm', 'opsdesk', 'templates')));
// rule files only: the promtool unit tests of the alerts live in prometheus/tests/ (e2e/deploy-alerts.e2e-spec.ts)
const alertFiles = walk(join(DEPLOY, 'prometheus')).filter((f) => /alerts.*\.ya?ml$/.test(f) && !f.includes(join('prometheus', 'tests')));
const dashboardFiles = walk(join(DEPLOY, 'grafana', 'dashboards')).filter((f) => f.endsWith('.json'));

describe('deploy: Prometheus config and rules (promtool)', () => {
  beforeAll(() => requireTool(PROMTOOL, '--version', 'install prometheus (Debian: apt-get install prometheus); CI does'));

  it('promtool check config accepts the scrape config (and the rule files it loads)', () => {
    const r = run(PROMTOOL, ['check', 'config', join(DEPLOY, 'prometheus', 'opsdesk.yml')]);
    expect({ status: r.status, out: r.out }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  it('promtool check rules accepts every alert file', () => {
    expect(alertFiles.length).toBeGreaterThan(0);
    const r = run(PROMTOOL, ['check', 'rules', ...alertFiles]);
    expect({ status: r.status, out: r.out }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  it('keeps the guide: job opsdesk-api on gateway:8000, the guide three alerts with their expressions, and every rule documented', () => {
    const cfg = readYaml(join(DEPLOY, 'prometheus', 'opsdesk.yml'));
    const jobs = isRecord(cfg) && Array.isArray(cfg.scrape_configs) ? cfg.scrape_configs.filter(isRecord) : [];
    const api = jobs.find((j) => j.job_name === 'opsdesk-api');
    // the gateway's metrics are on its internal port, never the public 8000
    expect(JSON.stringify(api?.static_configs)).toContain('gateway:8010');
    expect(JSON.stringify(api?.static_configs)).not.toContain('gateway:8000');
    expect(jobs.map((j) => j.job_name)).toEqual(expect.arrayContaining(['opsdesk-api', 'opsdesk-services', 'opsdesk-db']));
    const services = jobs.find((j) => j.job_name === 'opsdesk-services');
    for (const n of INTERNAL) expect(JSON.stringify(services?.static_configs)).toContain(`${n}:${PORTS[n]}`);

    const rules = alertFiles.flatMap((f) => {
      const doc = readYaml(f);
      const groups = isRecord(doc) && Array.isArray(doc.groups) ? doc.groups.filter(isRecord) : [];
      return groups.flatMap((g) => (Array.isArray(g.rules) ? g.rules.filter(isRecord) : []));
    });
    const exprs = rules.map((r) => String(r.expr).replace(/\s+/g, ' ').trim());
    expect(exprs).toEqual(
      expect.arrayContaining([
        'up{job="opsdesk-api"} == 0',
        'rate(opsdesk_db_connection_errors_total[5m]) > 0.1',
        'rate(opsdesk_artifact_uploads_total[5m]) > 100',
      ]),
    );
    // recording rules (opsdesk-slo-alerts.yml) have no severity or runbook; every alert has
    const alerts = rules.filter((r) => typeof r.alert === 'string');
    expect(alerts.length).toBeGreaterThan(30);
    const undocumented = alerts.filter((r) => {
      const labels = isRecord(r.labels) ? r.labels : {};
      const ann = isRecord(r.annotations) ? r.annotations : {};
      return !r.for || !labels.severity || !ann.summary || !ann.description;
    });
    expect(undocumented.map((r) => r.alert)).toEqual([]);

    // Every alert has a row in the operations runbook.
    const ops = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
    expect(alerts.map((r) => String(r.alert)).filter((a) => !ops.includes(a))).toEqual([]);
  });
});

describe('deploy: dashboards and alerts reference only metrics the services export', () => {
  let stack: Stack;
  let storage: string;
  const present = INTERNAL.filter((n) => existsSync(join(ROOT, 'services', n, 'src', 'bootstrap.ts')));

  beforeAll(async () => {
    storage = mkdtempSync(join(tmpdir(), 'opsdesk-deploy-artifacts-'));
    stack = await startStack('deploy', {
      services: present,
      env: { ARTIFACT_STORAGE_PATH: storage, PROMETHEUS_URL: 'http://127.0.0.1:9' },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(storage, { recursive: true, force: true });
  });

  it('every opsdesk_*, process_*, nodejs_* name in alerts and dashboards is a # HELP/# TYPE line of some /metrics', async () => {
    // Traffic first, so labelled series (logins by outcome, HTTP by status) exist as well as the declarations.
    const admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    const failed = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: ADMIN_EMAIL, password: 'wrong-Passw0rd!' });
    expect(failed.status).toBe(401);
    const viewer = await createUser(stack.url, admin.access, `viewer-${Date.now()}@deploy.test`, 'viewer');
    const forbidden = await request(stack.url).get('/api/users').set(bearer(viewer.token));
    expect(forbidden.status).toBe(403);

    const urls = [stack.internalUrl, ...present.map((n) => stack.env[`${n.toUpperCase()}_URL`]).filter((u): u is string => !!u)];
    expect(urls).toHaveLength(present.length + 1);
    const exported = new Set<string>();
    let expositions = '';
    await waitFor(async () => {
      expositions = '';
      for (const u of urls) {
        const res = await request(u).get('/metrics');
        expect(res.status).toBe(200);
        expositions += res.text;
        for (const n of exportedNames(res.text)) exported.add(n);
      }
      // The failed login is counted by auth after it answers; wait for it rather than sleep.
      return /opsdesk_logins_total\{[^}]*outcome="wrong_password"/.test(expositions);
    });

    const referenced = new Map<string, Set<string>>();
    const sources: [string, unknown][] = [
      ...alertFiles.map((f): [string, unknown] => [rel(f), readYaml(f)]),
      ...dashboardFiles.map((f): [string, unknown] => [rel(f), JSON.parse(readFileSync(f, 'utf8')) as unknown]),
    ];
    for (const [file, doc] of sources) {
      const exprs = collectExprs(doc);
      expect(exprs.length).toBeGreaterThan(0);
      for (const e of exprs) for (const name of metricNames(e)) referenced.set(name, (referenced.get(name) ?? new Set()).add(file));
    }
    // `up` is Prometheus' own series; pg_* come from postgres-exporter (not matched by the pattern anyway);
    // opsdesk_backup_* are written by backup.sh for node exporter's textfile collector (its test below checks them).
    const missing = [...referenced.entries()]
      .filter(([name]) => name !== 'up' && !name.startsWith('pg_') && !BACKUP_TEXTFILE_METRICS.includes(name))
      .filter(([name]) => !exported.has(name))
      .map(([name, files]) => `${name} (${[...files].join(', ')})`);
    expect(missing).toEqual([]);
    // The guide's names must be among them.
    expect(referenced.has('opsdesk_db_connection_errors_total')).toBe(true);
    expect(referenced.has('opsdesk_artifact_uploads_total')).toBe(true);
  });

  it('backup.sh dumps the real schemas and restore.sh restores them into a new database and checks the audit chain', async () => {
    const u = new URL(stack.db.url);
    const pg: NodeJS.ProcessEnv = { PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password) };
    const psql = (db: string, sql: string) => run('psql', ['-d', db, '-XtAc', sql], { env: pg });
    // Records in the live chain at dump time (the audit consumer may still be catching up; any count works).
    const sourceRecords = present.includes('audit') ? Number(psql(stack.db.name, 'SELECT count(*) FROM audit.records').out.trim()) : 0;
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-backup-'));
    const target = `opsdesk_deploy_restore_${process.pid}`;
    try {
      const metricsFile = join(dir, 'opsdesk_backup.prom');
      const startedAt = Math.floor(Date.now() / 1000);
      const backup = run('bash', [join(DEPLOY, 'backup', 'backup.sh')], {
        env: { DATABASE_URL: stack.db.url, BACKUP_DIR: dir, RETENTION_DAYS: '1', S3_BUCKET: '', BACKUP_METRICS_FILE: metricsFile },
      });
      expect({ status: backup.status, out: backup.out }).toEqual({ status: 0, out: expect.stringContaining('Backup completed') });
      // the node exporter textfile OpsDeskBackupStale watches: every name it declares, and a finish time of this run
      const textfile = readFileSync(metricsFile, 'utf8');
      expect([...exportedNames(textfile)].sort()).toEqual([...BACKUP_TEXTFILE_METRICS].sort());
      const stampValue = Number(/^opsdesk_backup_last_success_timestamp_seconds (\d+)$/m.exec(textfile)?.[1]);
      expect(stampValue).toBeGreaterThanOrEqual(startedAt);
      expect(stampValue).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
      expect(Number(/^opsdesk_backup_last_size_bytes (\d+)$/m.exec(textfile)?.[1])).toBeGreaterThan(0);
      const [stamp] = walk(dir).filter((f) => f.endsWith('SHA256SUMS')).map((f) => join(f, '..'));
      for (const s of present) expect(existsSync(join(stamp, `opsdesk_${s}.sql.gz`))).toBe(true);
      const restore = run('bash', [join(DEPLOY, 'backup', 'restore.sh'), stamp, target], { env: pg });
      expect({ status: restore.status, out: restore.out }).toEqual({ status: 0, out: expect.stringContaining(`restored into ${target}`) });
      for (const s of present) {
        expect(psql(target, `SELECT count(*) FROM information_schema.tables WHERE table_schema = '${s}'`).out.trim()).not.toBe('0');
      }
      if (present.includes('audit')) {
        // The live chain may have grown since the dump, never shrunk: the restore holds at least what was counted before it.
        expect(Number(psql(target, 'SELECT count(*) FROM audit.records').out.trim())).toBeGreaterThanOrEqual(sourceRecords);
        expect(restore.out).toContain('seq contiguous');
      }
      // A restore never overwrites.
      expect(run('bash', [join(DEPLOY, 'backup', 'restore.sh'), stamp, target], { env: pg }).status).not.toBe(0);
    } finally {
      run('psql', ['-d', 'postgres', '-Xqc', `DROP DATABASE IF EXISTS ${target}`], { env: pg });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nginx in front of a real gateway proxies /api/auth/login with the security headers and hides /metrics', async () => {
    requireTool(NGINX, '-v', 'install nginx');
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-nginx-live-'));
    let nginx: RunningNginx | null = null;
    try {
      const gatewayHostPort = new URL(stack.url).host;
      const tree = writeNginxTree(dir, gatewayHostPort, await freePort(), await freePort());
      makeSelfSignedCert(dir);
      const get = (path: string, body?: string) => httpsCall(tree.httpsPort, path, body);
      nginx = await startNginx(tree, async () => (await get('/healthz')).status === 200);

      const res = await get('/api/auth/login', JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toHaveProperty('access_token');
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-xss-protection']).toBe('1; mode=block');
      expect(res.headers['referrer-policy']).toBe('no-referrer-when-downgrade');
      // The gateway echoes the request id nginx passed through.
      expect(res.headers['x-request-id']).toBe('deploy-e2e-req-1');
      expect((await get('/metrics')).status).toBe(404);

      // A client rotating X-Forwarded-For through nginx still has one login bucket per account (nginx sets the
      // header from $remote_addr; the gateway trusts it from 127.0.0.1 only). The admin's login above took one of
      // the gateway's 5 for (127.0.0.1, admin); nginx's own zone (5r/m, burst 5) lets all six through, so the 429
      // is the gateway's. (The admin is locked out afterwards: this is the last test of the stack that logs in.)
      const wrong = JSON.stringify({ email: ADMIN_EMAIL, password: 'Wrong-Passw0rd!' });
      const statuses: number[] = [];
      let last = { status: 0, headers: {} as Record<string, string | string[] | undefined>, body: '' };
      for (let i = 0; i < 5; i++) {
        last = await httpsCall(tree.httpsPort, '/api/auth/login', wrong, { 'x-forwarded-for': `198.51.100.${i + 10}` });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 429]);
      expect(last.headers['content-type']).toMatch(/application\/problem\+json/);
    } finally {
      await nginx?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function httpsCall(port: number, path: string, body?: string, extraHeaders: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body ? 'POST' : 'GET',
        // Self-signed test certificate: trust is not what this test is about.
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json', 'x-request-id': 'deploy-e2e-req-1', ...extraHeaders },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('deploy: nginx and NATS configs (real binaries)', () => {
  it('nginx -t accepts the conf.d layout (upstream on 127.0.0.1, temp self-signed cert)', async () => {
    requireTool(NGINX, '-v', 'install nginx');
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-nginx-'));
    try {
      const tree = writeNginxTree(dir, '127.0.0.1:8000', await freePort(), await freePort());
      makeSelfSignedCert(dir);
      const r = run(NGINX, ['-t', '-c', tree.conf, '-p', dir]);
      expect({ status: r.status, out: r.out }).toEqual({ status: 0, out: expect.stringContaining('test is successful') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nginx keeps the guide: rate limits, security headers, streaming, body size, request id', () => {
    const http = readFileSync(join(DEPLOY, 'nginx', 'conf.d', 'opsdesk-http.conf'), 'utf8');
    const upstreams = readFileSync(join(DEPLOY, 'nginx', 'conf.d', 'opsdesk-upstreams.conf'), 'utf8');
    // the TLS server includes the request handling it shares with the Kubernetes edge (deploy/nginx/kubernetes)
    const tlsServer = readFileSync(join(DEPLOY, 'nginx', 'opsdesk.conf'), 'utf8');
    expect(tlsServer).toMatch(/listen 443 ssl http2;[\s\S]*include opsdesk-locations\.conf;\n\}/);
    const server = readFileSync(join(DEPLOY, 'nginx', 'opsdesk-locations.conf'), 'utf8');
    expect(http).toMatch(/limit_req_zone \$binary_remote_addr zone=api_limit:10m rate=10r\/s;/);
    expect(http).toMatch(/limit_req_zone \$binary_remote_addr zone=auth_limit:10m rate=5r\/m;/);
    expect(upstreams).toMatch(/upstream opsdesk_gateway \{[^}]*:8000[^}]*keepalive \d+;/s);
    expect(server).toMatch(/location \/api\/auth\/ \{[^}]*limit_req zone=auth_limit burst=5 nodelay;/s);
    expect(server).toMatch(/location \/api\/ \{[^}]*limit_req zone=api_limit/s);
    for (const h of ['Strict-Transport-Security', 'X-Frame-Options', 'X-Content-Type-Options', 'X-XSS-Protection', 'Referrer-Policy']) {
      expect(server).toMatch(new RegExp(`add_header ${h} "[^"]+" always;`));
    }
    expect(server).toContain('client_max_body_size 510m;');
    expect(server).toContain('proxy_request_buffering off;');
    expect(server).toContain('proxy_buffering off;');
    expect(server).toMatch(/proxy_set_header X-Request-Id /);
    expect(server).toMatch(/location = \/healthz/);
  });

  it('nats-server -t accepts the single-node and the 3-node cluster configs', () => {
    requireTool(NATS_SERVER, '--version', 'install nats-server');
    // the configs read one password per NATS login from the environment (e2e/deploy-nats.e2e-spec.ts)
    const natsPasswords = Object.fromEntries(natsPermissionSet().map((u) => [natsPasswordVariable(u.user), 'x']));
    const single = run(NATS_SERVER, ['-t', '-c', join(DEPLOY, 'nats', 'nats-server.conf')], { env: natsPasswords });
    expect({ status: single.status, out: single.out }).toEqual({ status: 0, out: expect.stringContaining('valid') });
    const conf = readFileSync(join(DEPLOY, 'nats', 'nats-cluster.conf'), 'utf8');
    // the routes' TLS files where the config names them (here in a temp dir; deploy/nats/README.md "Route TLS")
    const tlsDir = mkdtempSync(join(tmpdir(), 'opsdesk-deploy-route-tls-'));
    try {
      makeRouteTlsFiles(tlsDir, { dns: ['nats-1', 'nats-2', 'nats-3'] });
      writeFileSync(join(tlsDir, 'nats-cluster.conf'), conf.split(ROUTE_TLS_DIR_IN_CONF).join(`${tlsDir}/`));
      const cluster = run(NATS_SERVER, ['-t', '-c', join(tlsDir, 'nats-cluster.conf')], { env: { ...natsPasswords, NATS_SERVER_NAME: 'nats-1' } });
      expect({ status: cluster.status, out: cluster.out }).toEqual({ status: 0, out: expect.stringContaining('valid') });
    } finally {
      rmSync(tlsDir, { recursive: true, force: true });
    }
    expect(conf).toMatch(/name: opsdesk/);
    expect(conf.match(/nats-route:\/\/nats-\d:6222/g)).toHaveLength(3);
  });
});

describe('deploy: YAML, compose, Helm and Dockerfile (static)', () => {
  const envNames = envExampleNames();

  it('every YAML file in deploy/ parses (Helm templates excluded: they are Go templates)', () => {
    expect(yamlFiles.length).toBeGreaterThan(8);
    const broken = yamlFiles.flatMap((f) =>
      parseAllDocuments(readFileSync(f, 'utf8')).flatMap((d) => d.errors.map((e) => `${rel(f)}: ${e.message}`)),
    );
    expect(broken).toEqual([]);
    for (const f of dashboardFiles) expect(() => JSON.parse(readFileSync(f, 'utf8'))).not.toThrow();
  });

  it('env.example documents every variable a service reads, and nothing else (plus the npm start ones)', () => {
    // by convention every service's src/config/<name>.config.ts exports its validated shape as <name>EnvShape
    const services = readdirSync(join(ROOT, 'services')).filter((n) => existsSync(join(ROOT, 'services', n, 'src', 'config', `${n}.config.ts`)));
    expect(services.length).toBeGreaterThanOrEqual(5);
    const read = new Set(
      services.flatMap((n) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- services are found by convention, like the e2e stack does
        const shape = (require(join(ROOT, 'services', n, 'src', 'config', `${n}.config`)) as Record<string, object>)[`${n}EnvShape`];
        expect(shape).toBeDefined();
        return Object.keys(shape);
      }),
    );
    const startOnly = ['OPSDESK_STATE_DIR', 'EMBEDDED_PG_PORT', 'EMBEDDED_NATS_PORT']; // scripts/start.mjs
    // scripts/provision.mjs (the database logins): each must really be read there
    const provisionOnly = ['DB_ADMIN_URL', 'DB_ROLE_PREFIX', ...['MIGRATOR', 'AUTH', 'INVENTORY', 'AUDIT', 'ARTIFACTS', 'MONITOR'].map((l) => `DB_${l}_PASSWORD`)];
    const provisionScript = readFileSync(join(ROOT, 'scripts', 'provision.mjs'), 'utf8');
    for (const n of provisionOnly) expect({ n, read: provisionScript.includes(n.startsWith('DB_') && n.endsWith('_PASSWORD') ? '_PASSWORD' : n) }).toEqual({ n, read: true });
    const documented = envExampleNames();
    expect([...read].filter((n) => !documented.has(n)).sort()).toEqual([]);
    expect([...documented].filter((n) => !read.has(n) && !startOnly.includes(n) && !provisionOnly.includes(n)).sort()).toEqual([]);
  });

  // Which secret each compose container gets (SPEC §7 "Trust inside the system"), and its database login.
  const SECRET_NAMES = ['DATABASE_URL', 'BASEBACKUP_URL', 'JWT_SECRET', 'JWT_PRIVATE_KEY', 'GATEWAY_CONTEXT_PRIVATE_KEY', 'ARTIFACTS_CONTEXT_PRIVATE_KEY', 'MFA_ENCRYPTION_KEY', 'AUDIT_SIGNING_KEY', 'ADMIN_PASSWORD', 'POSTGRES_PASSWORD', 'DB_ADMIN_URL', 'DATA_SOURCE_NAME', 'DB_MIGRATOR_PASSWORD', 'DB_AUTH_PASSWORD', 'DB_INVENTORY_PASSWORD', 'DB_AUDIT_PASSWORD', 'DB_ARTIFACTS_PASSWORD', 'DB_MONITOR_PASSWORD'];
  const SECRETS_OF: Record<string, string[]> = {
    postgres: ['POSTGRES_PASSWORD'],
    'db-provision': ['DB_ADMIN_URL', 'DB_MIGRATOR_PASSWORD', 'DB_AUTH_PASSWORD', 'DB_INVENTORY_PASSWORD', 'DB_AUDIT_PASSWORD', 'DB_ARTIFACTS_PASSWORD', 'DB_MONITOR_PASSWORD'],
    migrate: ['DATABASE_URL', 'ADMIN_PASSWORD'],
    gateway: ['JWT_SECRET', 'GATEWAY_CONTEXT_PRIVATE_KEY'],
    auth: ['DATABASE_URL', 'JWT_SECRET', 'JWT_PRIVATE_KEY', 'MFA_ENCRYPTION_KEY'],
    inventory: ['DATABASE_URL'],
    audit: ['DATABASE_URL', 'JWT_SECRET', 'AUDIT_SIGNING_KEY'],
    artifacts: ['DATABASE_URL', 'ARTIFACTS_CONTEXT_PRIVATE_KEY'],
    'postgres-exporter': ['DATA_SOURCE_NAME'],
    // the dump as the migrator (owns every OpsDesk object), the base backup as the superuser (REPLICATION)
    backup: ['DATABASE_URL', 'BASEBACKUP_URL'],
  };
  const DB_LOGIN_OF: Record<string, string> = {
    migrate: 'opsdesk_migrator',
    auth: 'opsdesk_auth',
    inventory: 'opsdesk_inventory',
    audit: 'opsdesk_audit',
    artifacts: 'opsdesk_artifacts',
    'postgres-exporter': 'opsdesk_monitor',
    backup: 'opsdesk_migrator',
  };

  it('docker-compose files use only env.example names (plus documented compose-internal ones) and publish only the proxy', () => {
    // Not OpsDesk configuration: read by third-party images or by the image/compose themselves.
    const composeInternal = new Set([
      'POSTGRES_USER', // postgres image
      'POSTGRES_DB', // postgres image
      'POSTGRES_PASSWORD', // postgres image (must match DATABASE_URL)
      'DATA_SOURCE_NAME', // postgres-exporter
      'SERVICE', // selects the service in the OpsDesk image
      'OPSDESK_IMAGE', // image tag interpolation
      // the backup container (deploy/backup/backup-loop.sh, backup.sh)
      'BASEBACKUP_URL',
      'BACKUP_DIR',
      'RETENTION_DAYS',
      'BACKUP_INTERVAL_SECONDS',
      ...natsPermissionSet().map((u) => natsPasswordVariable(u.user)), // nats-server's logins (deploy/nats), each service's NATS_PASSWORD
      // monitoring containers (docs/OPERATIONS.md, "Monitoring"): Alertmanager's render-config.sh, Grafana, Jaeger
      ...['SRC_DIR', 'ALERT_WEBHOOK_URL', 'ALERT_EMAIL_TO', 'ALERT_EMAIL_FROM', 'ALERT_SMTP_SMARTHOST', 'ALERT_SMTP_USERNAME', 'ALERT_SMTP_PASSWORD'],
      ...['ALERT_SMTP_REQUIRE_TLS', 'RUNBOOK_BASE_URL', 'ALERTMANAGER_EXTERNAL_URL', 'BACKUP_METRICS_DIR'],
      ...['GRAFANA_ADMIN_PASSWORD', 'GF_SECURITY_ADMIN_PASSWORD', 'GF_USERS_ALLOW_SIGN_UP', 'GF_AUTH_ANONYMOUS_ENABLED', 'COLLECTOR_OTLP_ENABLED'],
    ]);
    const unknown: string[] = [];
    const started = new Set<string>();
    for (const file of ['docker-compose.yml', 'docker-compose.prod.yml']) {
      const text = readFileSync(join(DEPLOY, file), 'utf8');
      for (const m of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)) if (!envNames.has(m[1]) && !composeInternal.has(m[1])) unknown.push(`${file}: \${${m[1]}}`);
      const doc = readYaml(join(DEPLOY, file));
      const services = isRecord(doc) && isRecord(doc.services) ? doc.services : {};
      for (const [name, svc] of Object.entries(services)) {
        if (!isRecord(svc)) continue;
        const env = isRecord(svc.environment) ? svc.environment : {};
        for (const key of Object.keys(env)) if (!envNames.has(key) && !composeInternal.has(key)) unknown.push(`${file}: ${name}.environment.${key}`);
        if (typeof env.SERVICE === 'string') started.add(env.SERVICE);
        if (file === 'docker-compose.yml') {
          // SPEC §7: no container reads .env whole; each gets its own secrets (SECRETS_OF) and nobody else's
          expect({ name, env_file: svc.env_file }).toEqual({ name, env_file: undefined });
          const secrets = Object.keys(env).filter((k) => SECRET_NAMES.includes(k)).sort();
          expect({ name, secrets }).toEqual({ name, secrets: [...(SECRETS_OF[name] ?? [])].sort() });
          const dbUrl = typeof env.DATABASE_URL === 'string' ? env.DATABASE_URL : null;
          const login = typeof env.DATA_SOURCE_NAME === 'string' ? env.DATA_SOURCE_NAME : dbUrl;
          if (name in DB_LOGIN_OF) expect({ name, login: login?.replace(/:\$\{.*$/, '') }).toEqual({ name, login: `postgres://${DB_LOGIN_OF[name]}` });
          else expect({ name, login }).toEqual({ name, login: null });
        }
        const ports = Array.isArray(svc.ports) ? svc.ports.map(String) : [];
        for (const p of ports) {
          // issue 13: everything on loopback except the edge (nginx), which is the public entry
          const publicPort = !p.startsWith('127.0.0.1:');
          if (publicPort) expect({ service: name, port: p }).toEqual({ service: 'proxy', port: expect.stringMatching(/^(80:80|443:443)$/) });
        }
        if (file === 'docker-compose.prod.yml' && ALL_SERVICES.includes(name)) {
          const hc = isRecord(svc.healthcheck) ? svc.healthcheck : {};
          // the gateway's readiness is on its internal port (the public one serves no /readyz)
          const probePort = name === 'gateway' ? 8010 : PORTS[name];
          expect({ name, test: hc.test }).toEqual({ name, test: ['CMD', 'curl', '-f', `http://localhost:${probePort}/readyz`] });
          expect(svc.restart).toBe('always');
          expect(env).toMatchObject({ ENVIRONMENT: 'production', LOG_LEVEL: 'info' });
        }
      }
    }
    expect(unknown).toEqual([]);
    expect([...started].sort()).toEqual([...ALL_SERVICES].sort());
  });

  it('Helm: templates only use values that exist, values-prod.yaml only overrides known keys, config/secret keys are env.example names', () => {
    const chart = join(DEPLOY, 'helm', 'opsdesk');
    const values = readYaml(join(chart, 'values.yaml'));
    const prod = readYaml(join(chart, 'values-prod.yaml'));
    const templates = walk(join(chart, 'templates')).filter((f) => /\.(ya?ml|tpl|txt)$/.test(f));
    expect(templates.length).toBeGreaterThan(5);
    const missing = templates.flatMap((f) => valuesPaths(readFileSync(f, 'utf8')).filter((p) => !hasPath(values, p)).map((p) => `${rel(f)}: .Values.${p}`));
    expect(missing).toEqual([]);
    expect(unknownKeys(prod, values)).toEqual([]);
    // The guide's values-prod shape.
    for (const key of ['replicas', 'image', 'ingress', 'postgresql', 'resources', 'autoscaling']) expect(hasPath(prod, key)).toBe(true);
    for (const key of ['autoscaling.enabled', 'autoscaling.minReplicas', 'autoscaling.maxReplicas', 'autoscaling.targetCPUUtilizationPercentage', 'postgresql.primary.persistence.size']) {
      expect(hasPath(prod, key)).toBe(true);
    }
    const section = (doc: unknown, key: string): Record<string, unknown> => (isRecord(doc) && isRecord(doc[key]) ? doc[key] : {});
    const envKeys = [...Object.keys(section(values, 'config')), ...Object.keys(section(values, 'secrets')).filter((k) => k !== 'existingSecret')];
    expect(envKeys.filter((k) => !envNames.has(k))).toEqual([]);
    // One Deployment + Service per service, at the SPEC ports.
    const svcs = section(values, 'services');
    expect(Object.keys(svcs).sort()).toEqual([...ALL_SERVICES].sort());
    for (const n of ALL_SERVICES) expect(section(svcs, n).port).toBe(PORTS[n]);
    const deployment = readFileSync(join(chart, 'templates', 'deployments.yaml'), 'utf8');
    expect(deployment).toMatch(/kind: Deployment/);
    expect(deployment).toMatch(/name: SERVICE/);
    expect(readFileSync(join(chart, 'templates', 'services.yaml'), 'utf8')).toMatch(/type: ClusterIP/);
    expect(readFileSync(join(chart, 'templates', 'migrate-job.yaml'), 'utf8')).toMatch(/"helm\.sh\/hook": pre-install,pre-upgrade/);
    // SPEC §7: one Secret per component with exactly its keys (the same split as compose), each pod only its own
    const secretDocs = readFileSync(join(chart, 'templates', 'secret.yaml'), 'utf8').split(/^---$/m).slice(1);
    const perComponent = Object.fromEntries(
      secretDocs.map((d) => [/"name" "([a-z-]+)"\) \}\}/.exec(d)?.[1], [...d.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]).sort()]),
    );
    // the signing keys live in Secrets of their own (auth-key-secret.yaml, context-keys.yaml), checked below
    const OWN_TEMPLATE = ['JWT_PRIVATE_KEY', 'GATEWAY_CONTEXT_PRIVATE_KEY', 'ARTIFACTS_CONTEXT_PRIVATE_KEY'];
    const expected = Object.fromEntries(
      ['db-provision', 'migrate', ...ALL_SERVICES].map((c) => [c, SECRETS_OF[c].filter((k) => !OWN_TEMPLATE.includes(k)).sort()]),
    );
    expect(perComponent).toEqual(expected);
    // each signing key's Secret is referenced by its signer's Deployment only
    expect(deployment).toMatch(/if and \(eq \$name "auth"\)[^\n]*\n[^]*?name: JWT_PRIVATE_KEY/);
    expect(deployment).toMatch(/if or \(eq \$name "gateway"\) \(eq \$name "artifacts"\) \}\}[^]*?\{\{ upper \$name \}\}_CONTEXT_PRIVATE_KEY/);
    expect(deployment).toContain('include "opsdesk.envFrom" (dict "root" $root "name" $name)');
    const provisionJob = readFileSync(join(chart, 'templates', 'provision-job.yaml'), 'utf8');
    expect(provisionJob).toContain('command: ["node", "scripts/provision.mjs"]');
    expect(provisionJob).toContain('"name" "db-provision"');
    expect(readFileSync(join(chart, 'templates', 'migrate-job.yaml'), 'utf8')).toContain('(dict "root" . "name" "migrate")');
    // the env helper is only ever asked for one component's environment, never for a shared one
    for (const f of templates) expect({ f: rel(f), shared: /include "opsdesk\.envFrom" (\.|\$root) /.test(readFileSync(f, 'utf8')) }).toEqual({ f: rel(f), shared: false });
    expect(section(section(values, 'probes'), 'readiness').path).toBe('/readyz');
    expect(section(section(values, 'probes'), 'liveness').path).toBe('/healthz');
    expect(section(values, 'podSecurityContext').runAsNonRoot).toBe(true);
  });

  it('Dockerfile: node:20-bookworm-slim multi-stage, non-root, and its CMD/job paths are outputs of `npm run build`', () => {
    const dockerfile = readFileSync(join(DEPLOY, 'docker', 'Dockerfile'), 'utf8');
    const froms = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?/gm)];
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/ARG NODE_IMAGE=node:20-bookworm-slim/);
    expect(dockerfile).toMatch(/RUN npm ci/);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER (?!root)\S+/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*healthz/m);
    const cmd = /^CMD \[(.*)\]$/m.exec(dockerfile);
    expect(cmd?.[1]).toBe('"opsdesk-run-service"');
    expect(dockerfile).toContain('COPY --chown=root:root deploy/docker/run-service.sh /usr/local/bin/opsdesk-run-service');
    expect(dockerfile).toContain('COPY --chown=root:root deploy/node-flags.conf ./deploy/node-flags.conf');
    // The image's launcher runs node <the service's flags from deploy/node-flags.conf> dist/services/<service>/src/main.js:
    // run it with a `node` that prints its arguments.
    const fakeBin = mkdtempSync(join(tmpdir(), 'opsdesk-run-service-'));
    try {
      writeFileSync(join(fakeBin, 'node'), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
      for (const n of ALL_SERVICES) {
        const r = spawnSync('sh', [join(DEPLOY, 'docker', 'run-service.sh')], { encoding: 'utf8', env: { PATH: `${fakeBin}:${process.env.PATH}`, SERVICE: n, OPSDESK_HOME: ROOT } });
        expect({ n, status: r.status, stderr: r.stderr }).toEqual({ n, status: 0, stderr: '' });
        expect(r.stdout.split('\n').filter(Boolean)).toEqual([...serviceNodeFlags(n), `dist/services/${n}/src/main.js`]);
      }
      expect(serviceNodeFlags('artifacts').length).toBeGreaterThan(0);
    } finally {
      rmSync(fakeBin, { recursive: true, force: true });
    }

    // What `npm run build` emits: tsconfig.build.json's inputs, mapped from rootDir to outDir.
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(build.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: '.' });
    const listed = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--listFilesOnly']);
    expect(listed.status).toBe(0);
    const inputs = new Set(listed.out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(ROOT)).map((l) => rel(l)));
    const emitted = (src: string) => join(build.compilerOptions.outDir, src.replace(/\.ts$/, '.js'));
    for (const n of ALL_SERVICES) {
      expect(inputs.has(`services/${n}/src/main.ts`)).toBe(true);
      expect(emitted(`services/${n}/src/main.ts`)).toBe(`dist/services/${n}/src/main.js`);
    }
    // The migrate job / compose one-shot: scripts are copied as they are; the seed is compiled.
    expect(inputs.has('services/auth/src/seed-admin.ts')).toBe(true);
    expect(existsSync(join(ROOT, 'scripts', 'migrate.mjs'))).toBe(true);
    expect(existsSync(join(ROOT, 'scripts', 'provision-nats.mjs'))).toBe(true); // NATS stream and bucket (provision login)
    const jobCommands = [readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'), readFileSync(join(DEPLOY, 'helm', 'opsdesk', 'templates', 'migrate-job.yaml'), 'utf8')];
    for (const text of jobCommands) {
      expect(text).toContain('node scripts/migrate.mjs && node scripts/provision-nats.mjs && node dist/services/auth/src/seed-admin.js');
    }
    // The healthcheck knows every service's port.
    const hc = readFileSync(join(DEPLOY, 'docker', 'healthcheck.sh'), 'utf8');
    for (const n of ALL_SERVICES) expect(hc).toContain(n === 'gateway' ? 'GATEWAY_INTERNAL_PORT:-8010' : `${n.toUpperCase()}_PORT:-${PORTS[n]}`);
  });

  it('backup/restore scripts pass bash -n and are strict (set -euo pipefail)', () => {
    for (const f of ['backup.sh', 'restore.sh']) {
      const path = join(DEPLOY, 'backup', f);
      const r = run('bash', ['-n', path]);
      expect({ file: f, status: r.status, out: r.out }).toEqual({ file: f, status: 0, out: '' });
      expect(readFileSync(path, 'utf8')).toContain('set -euo pipefail');
    }
    const sc = spawnSync('shellcheck', ['--version']);
    if (!sc.error) {
      const r = run('shellcheck', [join(DEPLOY, 'backup', 'backup.sh'), join(DEPLOY, 'backup', 'restore.sh'), join(DEPLOY, 'docker', 'healthcheck.sh'), join(DEPLOY, 'docker', 'run-service.sh')]);
      expect({ status: r.status, out: r.out }).toEqual({ status: 0, out: '' });
    }
  });
});
