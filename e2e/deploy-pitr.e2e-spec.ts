import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { freePort, waitFor } from '@opsdesk/testing';
import { startStack, type Stack } from './support/stack';
import { hostBody } from './support/inventory';

/**
 * The restore drill of deploy/backup (issue 13: RPO 15 min, RTO 1 h) on a private Postgres 15 that archives
 * its WAL to a local directory, as the compose file's Postgres does (never the shared :5432 server):
 * backup-loop.sh takes the dump and a base backup, OpsDesk writes host A, then host B, the database is
 * dropped, and pitr-restore.sh replays base backup + archive into a new data directory up to a time between
 * the two writes. The restored database has A and not B, and the services pointed at it answer
 * /api/audit/verify ok.
 */
jest.setTimeout(300_000);

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const BACKUP = join(__dirname, '..', 'deploy', 'backup');

function osUser(name: string): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}
const isRoot = process.getuid?.() === 0;
const pgUser = isRoot ? osUser('postgres') : null;

/** Postgres refuses to run as root: as root, every Postgres program runs as the `postgres` OS user. */
function asPg(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', 'env', ...envArgs, cmd, ...args]] : ['env', [...envArgs, cmd, ...args]];
  // cwd: the postgres user may not enter the checkout (root's home is mode 700); Postgres programs chdir to it
  const r = spawnSync(file, argv, { encoding: 'utf8', timeout: 240_000, cwd: tmpdir() });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
function mustPg(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = asPg(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.out}`);
  return r.out;
}

describe('deploy/backup: base backup + WAL archive → point-in-time restore between two writes', () => {
  let dir: string;
  let scripts: string;
  let data: string;
  let restored: string;
  let port: number;
  let restoredPort: number;
  let stack: Stack | null = null;
  let currentPort: number;

  beforeAll(async () => {
    if (!existsSync(join(BIN, 'pg_basebackup'))) throw new Error(`${BIN}/pg_basebackup missing: install postgresql (scripts/ensure-tools.mjs does)`);
    if (isRoot && !pgUser) throw new Error('running as root needs a `postgres` OS user to run Postgres');
    dir = mkdtempSync(join(tmpdir(), 'opsdesk-pitr-'));
    chmodSync(dir, 0o755);
    // The scripts run as the postgres OS user, who may not be able to enter the checkout (root's home is mode 700,
    // found by a fresh clone under /root): run copies from the suite's own temp dir, as an image would have them.
    scripts = join(dir, 'scripts');
    mkdirSync(scripts);
    for (const f of readdirSync(BACKUP).filter((n) => n.endsWith('.sh'))) {
      copyFileSync(join(BACKUP, f), join(scripts, f));
      chmodSync(join(scripts, f), 0o755);
    }
    chmodSync(scripts, 0o755);
    data = join(dir, 'data');
    restored = join(dir, 'restored');
    const archive = join(dir, 'wal-archive');
    mkdirSync(archive);
    mkdirSync(join(dir, 'backups'));
    if (pgUser) for (const d of [dir, archive, join(dir, 'backups')]) chownSync(d, pgUser.uid, pgUser.gid);
    port = await freePort();
    restoredPort = await freePort();
    currentPort = port;
    mustPg(join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-instructions', '-E', 'UTF8']);
    // the compose file's archiving settings (deploy/docker-compose.yml), pointed at a local directory
    const opts = [
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=200`,
      `-c wal_level=replica -c archive_mode=on -c archive_timeout=300`,
      `-c "archive_command=test ! -f ${archive}/%f && cp %p ${archive}/%f"`,
    ].join(' ');
    mustPg(join(BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'postgres.log'), '-o', opts, '-w', '-t', '60', 'start']);
    // the suite's stack lives on this server, never on the shared one
    stack = await startStack('pitr', {
      pgAdminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      services: ['auth', 'inventory', 'audit'],
      // after the restore the services reconnect to the restored server (same logins, same database name)
      serviceDatabaseUrl: (url) => url.replace(`:${port}/`, `:${currentPort}/`),
    });
  });

  afterAll(async () => {
    await stack?.stop().catch(() => undefined);
    for (const d of [data, restored]) if (d && existsSync(join(d, 'postmaster.pid'))) asPg(join(BIN, 'pg_ctl'), ['-D', d, '-m', 'immediate', '-w', 'stop']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('restores the rows as of the target time, and the audit trail verifies', async () => {
    const s = stack!;
    expect(new URL(s.db.url).port).toBe(String(port));
    const login = await request(s.url).post('/api/auth/login').set('X-Forwarded-For', '203.0.113.77').send({ email: s.env.ADMIN_EMAIL, password: s.env.ADMIN_PASSWORD }).expect(200);
    let token = login.body.access_token as string;
    const admin = new Client({ connectionString: s.db.url });
    await admin.connect();
    const auditCount = async (c: Client) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM audit.records')).rows[0].n);

    // the backup the compose `backup` service takes (one round): the dump and the base backup
    const backups = join(dir, 'backups');
    const u = new URL(s.db.url);
    const round = asPg('bash', [join(scripts, 'backup-loop.sh')], {
      BACKUP_ONCE: '1',
      BACKUP_DIR: backups,
      WAL_ARCHIVE: join(dir, 'wal-archive'),
      DATABASE_URL: s.logins.urls.migrator,
      BASEBACKUP_URL: `postgres://postgres@127.0.0.1:${u.port}/postgres`,
      PATH: `${BIN}:${process.env.PATH}`,
      S3_BUCKET: '',
    });
    expect({ status: round.status, out: round.out }).toEqual({ status: 0, out: expect.stringMatching(/Backup completed[\s\S]*base backup /) });
    const [base] = readdirSync(join(backups, 'base')).map((d) => join(backups, 'base', d));
    expect(existsSync(join(base, 'base.tar.gz'))).toBe(true);

    // write A (audited), take the target time, write B (audited)
    const audited = async (id: string) => ((await admin.query(`SELECT 1 FROM audit.records WHERE entity_id = $1`, [id])).rowCount ?? 0) > 0;
    const a = await request(s.url).post('/api/hosts').set('Authorization', `Bearer ${token}`).send(hostBody({ hostname: 'pitr-a' }));
    expect(a.status).toBe(201);
    await waitFor(() => audited(a.body.id as string), { timeoutMs: 30_000, what: 'host A in the audit trail' });
    const recordsAtTarget = await auditCount(admin);
    const target = (await admin.query<{ t: string }>(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t`)).rows[0].t;
    // strictly after the target on the server's clock
    await waitFor(async () => (await admin.query<{ after: boolean }>(`SELECT clock_timestamp() > $1::timestamptz + interval '50 ms' AS after`, [target])).rows[0].after, { what: 'the clock to pass the target' });
    const b = await request(s.url).post('/api/hosts').set('Authorization', `Bearer ${token}`).send(hostBody({ hostname: 'pitr-b' }));
    expect(b.status).toBe(201);
    await waitFor(() => audited(b.body.id as string), { timeoutMs: 30_000, what: 'host B in the audit trail' });
    // the current segment goes to the archive (archive_timeout would do it within 5 minutes)
    const pgAdmin = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await pgAdmin.connect();
    const switched = (await pgAdmin.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0].f;
    await waitFor(
      async () => {
        const st = (await pgAdmin.query<{ a: string | null; failed: string }>('SELECT last_archived_wal AS a, failed_count AS failed FROM pg_stat_archiver')).rows[0];
        if (Number(st.failed) > 0) throw new Error('archive_command failed (see postgres.log)');
        return (st.a ?? '') >= switched;
      },
      { timeoutMs: 30_000, what: `WAL segment ${switched} archived` },
    );

    // the disaster: the database is gone
    await admin.end();
    await s.stopService('auth');
    await s.stopService('inventory');
    await s.stopService('audit');
    await pgAdmin.query(`DROP DATABASE "${s.db.name}" WITH (FORCE)`);
    await pgAdmin.end();
    mustPg(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);

    // the drill: base backup + archive up to the target, into a new data directory
    const restore = asPg('bash', [join(scripts, 'pitr-restore.sh'), base, join(dir, 'wal-archive'), target, restored], { PORT: String(restoredPort), PG_BIN: BIN, SOCKET_DIR: dir });
    expect({ status: restore.status, out: restore.out }).toEqual({ status: 0, out: expect.stringContaining('restored and promoted in') });
    const measured = /restored and promoted in (\d+)s/.exec(restore.out)?.[1];
    process.stdout.write(`pitr drill: recovery took ${measured} s (target ${target})\n`);

    const back = new Client({ connectionString: s.db.url.replace(`:${port}/`, `:${restoredPort}/`) });
    await back.connect();
    try {
      const hosts = (await back.query<{ hostname: string }>(`SELECT hostname FROM inventory.hosts WHERE hostname LIKE 'pitr-%' ORDER BY hostname`)).rows.map((r) => r.hostname);
      expect(hosts).toEqual(['pitr-a']);
      // the trail as of the target: A's record, not B's
      expect(await auditCount(back)).toBe(recordsAtTarget);
      expect((await back.query(`SELECT 1 FROM audit.records WHERE entity_id = $1`, [b.body.id])).rowCount).toBe(0);
      expect((await back.query(`SELECT 1 FROM audit.records WHERE entity_id = $1`, [a.body.id])).rowCount).toBeGreaterThan(0);
    } finally {
      await back.end();
    }

    // the services on the restored server (same logins: roles are part of the physical backup)
    currentPort = restoredPort;
    for (const name of ['auth', 'audit']) {
      s.env[`${name.toUpperCase()}_PORT`] = new URL(s.env[`${name.toUpperCase()}_URL`] as string).port;
      await s.startService(name);
    }
    const again = await request(s.url).post('/api/auth/login').set('X-Forwarded-For', '203.0.113.78').send({ email: s.env.ADMIN_EMAIL, password: s.env.ADMIN_PASSWORD }).expect(200);
    token = again.body.access_token as string;
    const verify = await request(s.url).get('/api/audit/verify').set('Authorization', `Bearer ${token}`).expect(200);
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.checked).toBeGreaterThanOrEqual(recordsAtTarget);
  });
});
