import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Client } from 'pg';
import { createTestDatabase, rawBody } from '@opsdesk/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createUser, login, startStack, waitFor, type Stack } from './support/stack';
import { bearer, createHost, streamEvents } from './support/inventory';

/**
 * Parity with the original OpsDesk (issue 16), through the gateway on the real system: access templates and
 * Teleport (rendered commands checked by a real /bin/sh and a stub program that records its argv), `skip` and
 * trailing slashes for the original's clients, the runtime fields, email changes, the `binary` artifact kind, and
 * the import script run against a sample export of the original.
 */
const ROOT = join(__dirname, '..');
let stack: Stack;
let storage: string;
let admin: string;
let operator: string;
let viewer: string;
let auditor: string;
let work: string;

beforeAll(async () => {
  storage = mkdtempSync(join(tmpdir(), 'opsdesk-parity-e2e-'));
  work = mkdtempSync(join(tmpdir(), 'opsdesk-parity-work-'));
  stack = await startStack('paritye2e', {
    services: ['auth', 'inventory', 'audit', 'artifacts'],
    env: { MAX_ARTIFACT_SIZE_MB: '7', ARTIFACT_STORAGE_PATH: storage, RATE_LIMIT_API_PER_MINUTE: '100000', APP_VERSION: '9.8.7' },
  });
  admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
  [operator, viewer, auditor] = await Promise.all([
    createUser(stack.url, admin, 'op@parity.test', 'operator').then((u) => u.token),
    createUser(stack.url, admin, 'viewer@parity.test', 'viewer').then((u) => u.token),
    createUser(stack.url, admin, 'auditor@parity.test', 'auditor').then((u) => u.token),
  ]);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  for (const d of [storage, work]) if (d) rmSync(d, { recursive: true, force: true });
});

/** /bin/sh -n on the command, then /bin/sh runs it with stub programs that record their argv. */
function runWithStubs(command: string): { syntaxOk: boolean; argv: string[] | null; leftovers: boolean } {
  const bin = join(work, 'bin');
  const cwd = join(work, `cwd-${randomBytes(4).toString('hex')}`);
  mkdirSync(bin, { recursive: true });
  mkdirSync(cwd);
  for (const name of ['ssh', 'tsh', 'mosh']) {
    writeFileSync(join(bin, name), `#!/bin/sh\nprintf '%s\\0' "$(basename "$0")" "$@" > "$ARGV_OUT"\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const out = join(work, 'argv.bin');
  rmSync(out, { force: true });
  const syntaxOk = spawnSync('/bin/sh', ['-n', '-c', command]).status === 0;
  spawnSync('/bin/sh', ['-c', command], { cwd, env: { PATH: `${bin}:/usr/bin:/bin`, ARGV_OUT: out, HOME: cwd } });
  const argv = existsSync(out) ? readFileSync(out, 'utf8').split('\0').slice(0, -1) : null;
  const leftovers = spawnSync('ls', ['-A', cwd]).stdout.toString().trim() !== '';
  return { syntaxOk, argv, leftovers };
}

const issue = (token: string, hostId: string, body: Record<string, unknown> = {}) => request(stack.url).post(`/api/hosts/${hostId}/access-command`).set(bearer(token)).send(body);
const putSettings = (token: string, body: Record<string, unknown>) => request(stack.url).put('/api/settings/integrations').set(bearer(token)).send(body);

describe('access templates', () => {
  it('the default template gives exactly the command OpsDesk always issued', async () => {
    const direct = await createHost(stack, operator, { ip: '192.0.2.61', ssh_user: 'deploy', ssh_port: 2222 });
    const bastion = await createHost(stack, operator, { ip: '192.0.2.62', ssh_user: 'ops', connection_method: 'bastion_ssh', bastion_host: 'jump.example.com', bastion_port: 2200 });
    const d = await issue(operator, direct.id).expect(200);
    expect(d.body).toMatchObject({ command: 'ssh -p 2222 deploy@192.0.2.61', argv: ['ssh', '-p', '2222', 'deploy@192.0.2.61'], template_source: 'default' });
    const b = await issue(operator, bastion.id).expect(200);
    expect(b.body.command).toBe('ssh -J ops@jump.example.com:2200 -p 22 ops@192.0.2.62');
    for (const r of [d.body, b.body]) expect(runWithStubs(r.command)).toEqual({ syntaxOk: true, argv: r.argv, leftovers: false });
  });

  it('a global template (admin, validated) renders for every host of its method; the others keep theirs', async () => {
    const host = await createHost(stack, operator, { ip: '192.0.2.63', ssh_user: 'deploy' });
    const bastion = await createHost(stack, operator, { ip: '192.0.2.64', ssh_user: 'ops', connection_method: 'bastion_ssh', bastion_host: 'jump.example.com' });
    await putSettings(operator, { access_templates: { direct_ssh: 'ssh {{user}}@{{host}}' } }).expect(403);
    for (const bad of ['ssh {{user}}@{{host}}; id', 'ssh $(id) {{host}}', 'ssh "{{user}}`id`"', 'ssh {{user}}@{{host}} | tee x', 'ssh {{nope}}']) {
      const res = await putSettings(admin, { access_templates: { direct_ssh: bad } }).expect(400);
      expect(res.body.errors[0].field).toBe('access_templates.direct_ssh');
    }
    const tpl = `ssh -i /etc/opsdesk/keys/ops_ed25519 -o 'ServerAliveInterval 30' -p {{port}} {{user}}@{{host}}`;
    const saved = await putSettings(admin, { access_templates: { direct_ssh: tpl } }).expect(200);
    expect(saved.body.access_templates).toEqual({ direct_ssh: tpl, bastion_ssh: null, teleport: null });
    expect(saved.body.default_access_templates.direct_ssh).toBe('ssh -p {{port}} {{user}}@{{host}}');
    const r = await issue(operator, host.id).expect(200);
    expect(r.body).toMatchObject({ template_source: 'settings', argv: ['ssh', '-i', '/etc/opsdesk/keys/ops_ed25519', '-o', 'ServerAliveInterval 30', '-p', '22', 'deploy@192.0.2.63'] });
    expect(runWithStubs(r.body.command)).toEqual({ syntaxOk: true, argv: r.body.argv, leftovers: false });
    expect((await issue(operator, bastion.id).expect(200)).body.template_source).toBe('default');
    // null restores the built-in one
    await putSettings(admin, { access_templates: { direct_ssh: null } }).expect(200);
    expect((await issue(operator, host.id).expect(200)).body).toMatchObject({ template_source: 'default', command: 'ssh -p 22 deploy@192.0.2.63' });
  });

  it('a host template is admin-only, validated, versioned in history, and rendered inert', async () => {
    const host = await createHost(stack, operator, { ip: '192.0.2.65', ssh_user: 'deploy', connection_method: 'bastion_ssh', bastion_host: 'jump.example.com' });
    const tpl = `ssh -o 'ProxyCommand=ssh -W %h:%p {{user}}@{{bastion}}' -p {{port}} {{user}}@{{host}}`;
    const denied = await request(stack.url).patch(`/api/hosts/${host.id}`).set(bearer(operator)).send({ access_template: tpl }).expect(403);
    expect(denied.body.code).toBe('AUTH.FORBIDDEN');
    const bad = await request(stack.url).patch(`/api/hosts/${host.id}`).set(bearer(admin)).send({ access_template: 'ssh {{user}}@{{host}} && curl x | sh' }).expect(400);
    expect(bad.body.errors[0]).toMatchObject({ field: 'access_template', message: expect.stringContaining('outside quotes') });
    const ok = await request(stack.url).patch(`/api/hosts/${host.id}`).set(bearer(admin)).send({ access_template: tpl }).expect(200);
    expect(ok.body.access_template).toBe(tpl);
    // an operator may still edit the rest of the host
    await request(stack.url).patch(`/api/hosts/${host.id}`).set(bearer(operator)).send({ notes: 'still editable' }).expect(200);
    const r = await issue(operator, host.id).expect(200);
    expect(r.body).toMatchObject({ template_source: 'host', argv: ['ssh', '-o', 'ProxyCommand=ssh -W %h:%p deploy@jump.example.com', '-p', '22', 'deploy@192.0.2.65'] });
    expect(runWithStubs(r.body.command)).toEqual({ syntaxOk: true, argv: r.body.argv, leftovers: false });
    const history = await request(stack.url).get(`/api/hosts/${host.id}/history`).set(bearer(viewer)).expect(200);
    const change = (history.body.items as Array<{ changes: Array<{ field: string; after: unknown }> }>).flatMap((i) => i.changes).find((c) => c.field === 'access_template');
    expect(change).toEqual({ field: 'access_template', before: null, after: tpl });
  });

  it('a template that needs a value the host lacks is a 409 that names the template', async () => {
    const host = await createHost(stack, admin, { ip: '192.0.2.66', ssh_user: 'deploy', access_template: 'ssh -J {{jump}} {{user}}@{{host}}' });
    const res = await issue(admin, host.id).expect(409);
    expect(res.body).toMatchObject({ code: 'INVENTORY.ACCESS_TEMPLATE_UNUSABLE', errors: [{ field: 'access_template', message: expect.stringContaining('{{jump}}') }] });
  });
});

describe('teleport', () => {
  it('renders tsh ssh with the proxy/cluster of the settings and the host login; reason-gated and audited', async () => {
    const host = await createHost(stack, operator, { hostname: 'tp-node-1', ip: '192.0.2.70', ssh_user: 'ubuntu', connection_method: 'teleport', environment: 'prod', criticality: 'critical' });
    expect(host.connection_method).toBe('teleport');
    const noReason = await issue(operator, host.id).expect(400);
    expect(noReason.body.code).toBe('INVENTORY.ACCESS_REASON_REQUIRED');
    const unconfigured = await issue(operator, host.id, { reason: 'INC-77 disk full' }).expect(409);
    expect(unconfigured.body).toMatchObject({ code: 'INVENTORY.TELEPORT_NOT_CONFIGURED', errors: [{ field: 'teleport_proxy' }] });
    await putSettings(admin, { teleport_proxy: 'tp;id' }).expect(400);
    await putSettings(admin, { teleport_proxy: 'teleport.example.com:3080', teleport_cluster: 'prod-eu' }).expect(200);
    const r = await issue(operator, host.id, { reason: 'INC-77 disk full' }).expect(200);
    expect(r.body).toMatchObject({
      connection_method: 'teleport',
      command: 'tsh ssh --proxy=teleport.example.com:3080 --cluster=prod-eu ubuntu@tp-node-1',
      argv: ['tsh', 'ssh', '--proxy=teleport.example.com:3080', '--cluster=prod-eu', 'ubuntu@tp-node-1'],
      reason: 'INC-77 disk full',
    });
    expect(runWithStubs(r.body.command)).toEqual({ syntaxOk: true, argv: r.body.argv, leftovers: false });
    const runtime = await request(stack.url).get('/api/settings/runtime').set(bearer(viewer)).expect(200);
    expect(runtime.body.teleport_configured).toBe(true);
    const rec = await waitFor(
      async () => {
        const a = await request(stack.url).get(`/api/audit?action=inventory.host.access_issued&entity_id=${host.id}`).set(bearer(auditor));
        return (a.body.items as Array<{ data: Record<string, unknown> }> | undefined)?.[0];
      },
      { what: 'the teleport access in the audit trail', timeoutMs: 20_000 },
    );
    expect(rec.data).toMatchObject({ connection_method: 'teleport', reason: 'INC-77 disk full', command: r.body.command, teleport_proxy: 'teleport.example.com:3080', teleport_cluster: 'prod-eu' });
  });
});

describe('API compatibility', () => {
  it('skip is honoured on /api/audit (an offset when no cursor is given)', async () => {
    // a user of its own with exactly five recorded actions: the filtered list cannot move under the test
    const skipper = await createUser(stack.url, admin, 'skipper@parity.test', 'operator');
    for (let i = 0; i < 5; i++) await createHost(stack, skipper.token, { ip: `192.0.2.${100 + i}` });
    const filter = 'actor=skipper@parity.test&action=inventory.host.created';
    const page = await waitFor(
      async () => {
        const res = await request(stack.url).get(`/api/audit?${filter}&limit=5`).set(bearer(auditor)).expect(200);
        return res.body.items.length === 5 ? res.body : null;
      },
      { what: 'the five host.created records of skipper', timeoutMs: 20_000 },
    );
    const skipped = await request(stack.url).get(`/api/audit?${filter}&limit=2&skip=2`).set(bearer(auditor)).expect(200);
    const seqs = (b: { items: Array<{ seq: number }> }) => b.items.map((i) => i.seq);
    expect(seqs(skipped.body)).toEqual(seqs(page).slice(2, 4));
    // next_cursor continues by keyset after the skipped page
    const next = await request(stack.url).get(`/api/audit?${filter}&limit=5&cursor=${skipped.body.next_cursor}`).set(bearer(auditor)).expect(200);
    expect(seqs(next.body)).toEqual(seqs(page).slice(4));
  });

  it('skip is honoured on host history too', async () => {
    const host = await createHost(stack, operator, { ip: '192.0.2.80' });
    for (const notes of ['a', 'b', 'c']) await request(stack.url).patch(`/api/hosts/${host.id}`).set(bearer(operator)).send({ notes }).expect(200);
    const all = await request(stack.url).get(`/api/hosts/${host.id}/history`).set(bearer(viewer)).expect(200);
    const skipped = await request(stack.url).get(`/api/hosts/${host.id}/history?skip=1&limit=2`).set(bearer(viewer)).expect(200);
    expect(skipped.body.items.map((i: { revision: number }) => i.revision)).toEqual(all.body.items.slice(1, 3).map((i: { revision: number }) => i.revision));
  });

  it.each(['/api/audit', '/api/hosts', '/api/users', '/api/artifacts'])('skip with cursor on %s is a 400 that says to use cursor', async (path) => {
    const token = path === '/api/hosts' || path === '/api/artifacts' ? admin : auditor;
    const res = await request(stack.url).get(`${path}?skip=5&cursor=abc`).set(bearer(token)).expect(400);
    expect(res.body).toMatchObject({ code: 'COMMON.VALIDATION_FAILED', errors: [{ field: 'skip', message: expect.stringContaining('use cursor') }] });
  });

  it('a trailing slash on collection paths is the same route', async () => {
    for (const path of ['/api/hosts', '/api/users', '/api/audit', '/api/artifacts']) {
      const token = path === '/api/users' || path === '/api/audit' ? auditor : admin;
      const plain = await request(stack.url).get(`${path}?limit=2`).set(bearer(token)).expect(200);
      const slash = await request(stack.url).get(`${path}/?limit=2`).set(bearer(token)).expect(200);
      expect(slash.body.items.length).toBe(plain.body.items.length);
    }
    const created = await request(stack.url).post('/api/hosts/').set(bearer(operator)).send({ hostname: 'slash-1', ip: '192.0.2.90', environment: 'dev' }).expect(201);
    expect(created.body.hostname).toBe('slash-1');
    // still authenticated and authorised like the plain path
    await request(stack.url).get('/api/users/').expect(401);
    await request(stack.url).get('/api/users/').set(bearer(viewer)).expect(403);
  });

  it('GET /api/settings/runtime has the original fields: max artifact size, Prometheus configured, version, environment', async () => {
    const res = await request(stack.url).get('/api/settings/runtime').set(bearer(viewer)).expect(200);
    expect(res.body).toMatchObject({ max_artifact_size_mb: 7, max_artifact_size_bytes: 7 * 1024 * 1024, prometheus_configured: false, version: '9.8.7', environment: expect.any(String) });
  });

  it('PATCH /api/users/:id changes the email (admin): 409 on a duplicate, an event, login with the new address', async () => {
    const u = await createUser(stack.url, admin, 'rename.me@parity.test', 'viewer');
    await request(stack.url).patch(`/api/users/${u.id}`).set(bearer(operator)).send({ email: 'x@parity.test' }).expect(403);
    const dup = await request(stack.url).patch(`/api/users/${u.id}`).set(bearer(admin)).send({ email: 'OP@parity.test' }).expect(409);
    expect(dup.body).toMatchObject({ code: 'AUTH.EMAIL_TAKEN', errors: [{ field: 'email' }] });
    await request(stack.url).patch(`/api/users/${u.id}`).set(bearer(admin)).send({ email: 'not-an-email' }).expect(400);
    const ok = await request(stack.url).patch(`/api/users/${u.id}`).set(bearer(admin)).send({ email: 'Renamed@Parity.test' }).expect(200);
    expect(ok.body.email).toBe('renamed@parity.test');
    await login(stack.url, 'renamed@parity.test', u.password);
    await expect(login(stack.url, 'rename.me@parity.test', u.password)).rejects.toThrow(/401/);
    // tokens issued under the old address stop working (they carry the email every event names)
    await waitFor(async () => (await request(stack.url).get('/api/auth/me').set(bearer(u.token))).status === 401, { what: 'the old token to be cut off' });
    const events = await waitFor(
      async () => {
        const mine = (await streamEvents(stack, 'auth.user.updated')).filter((e) => (e.data as { user_id?: string }).user_id === u.id);
        return mine.length ? mine : null;
      },
      { what: 'auth.user.updated for the email change' },
    );
    expect(events[0].data).toMatchObject({ email: 'renamed@parity.test', email_changed: true, before: { email: 'rename.me@parity.test' }, after: { email: 'renamed@parity.test' } });
  });

  it('artifact kind binary: accepted, filterable, and never served inline', async () => {
    const host = await createHost(stack, operator, { ip: '192.0.2.95' });
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), randomBytes(256)]);
    const boundary = `----parity${randomBytes(6).toString('hex')}`;
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nbinary\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="core.1234"\r\nContent-Type: text/html\r\n\r\n`),
      elf,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const up = await request(stack.url).post(`/api/hosts/${host.id}/artifacts`).set(bearer(operator)).set('Content-Type', `multipart/form-data; boundary=${boundary}`).send(body).expect(201);
    expect(up.body).toMatchObject({ kind: 'binary', size: elf.length });
    const listed = await request(stack.url).get(`/api/artifacts?kind=binary&host_id=${host.id}`).set(bearer(viewer)).expect(200);
    expect(listed.body.items.map((a: { id: string }) => a.id)).toEqual([up.body.id]);
    const dl = await request(stack.url).get(`/api/artifacts/${up.body.id}/download`).set(bearer(operator)).buffer(true).parse(rawBody).expect(200);
    expect(dl.headers['content-disposition']).toMatch(/^attachment;/);
    expect(dl.headers['x-content-type-options']).toBe('nosniff');
    expect(dl.headers['content-type']).not.toMatch(/html/);
    expect(Buffer.compare(dl.body as Buffer, elf)).toBe(0);
  });
});

describe('import from the original OpsDesk (scripts/import-original.mjs)', () => {
  const fixtures = join(ROOT, 'scripts', 'fixtures', 'original-export');
  /** Asynchronous: the stack runs in this process, so a blocking spawn would stall the gateway the script calls. */
  const run = (args: string[]) =>
    new Promise<{ status: number | null; report: any; stderr: string }>((resolve, reject) => { // eslint-disable-line @typescript-eslint/no-explicit-any -- the script's JSON report, asserted field by field
      const child = spawn(process.execPath, [join(ROOT, 'scripts', 'import-original.mjs'), '--url', stack.url, ...args], { env: { ...process.env, OPSDESK_TOKEN: admin } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (status) => {
        try {
          resolve({ status, report: out ? JSON.parse(out) : null, stderr: err });
        } catch (e) {
          reject(new Error(`import-original printed no JSON report (exit ${status}): ${out}\n${err} (${(e as Error).message})`));
        }
      });
    });

  it('imports hosts (every enum, teleport, templates) and users (roles, inactive) with history entries for the import', async () => {
    await putSettings(admin, { teleport_proxy: 'teleport.example.com:3080', teleport_cluster: 'prod-eu' }).expect(200);
    const passwords = join(work, 'passwords.csv');
    const map = join(work, 'id-map.json');
    const dry = await run(['--hosts', join(fixtures, 'hosts.csv'), '--users', join(fixtures, 'users.csv'), '--dry-run']);
    expect(dry.report.hosts.summary).toMatchObject({ rows: 6, created: 6, error: 0 });
    expect((await request(stack.url).get('/api/hosts?q=orig-').set(bearer(viewer)).expect(200)).body.items).toEqual([]);

    const r = await run(['--hosts', join(fixtures, 'hosts.csv'), '--users', join(fixtures, 'users.csv'), '--passwords-out', passwords, '--map-out', map]);
    // two rows are refused on purpose: an unsafe ssh_template and an unknown role
    expect(r.status).toBe(1);
    expect(r.report.hosts.summary).toMatchObject({ rows: 6, created: 6, error: 0 });
    expect(r.report.hosts.ignored_columns).toEqual(expect.arrayContaining(['id', 'ssh_template', 'created_at']));
    expect(r.report.hosts.templates_set).toBe(2);
    expect(r.report.users).toMatchObject({ created: 5, existing: 0, deactivated: 1, mfa_to_set_up: ['root.admin@corp.example.com'] });
    expect(r.report.problems).toEqual([expect.stringMatching(/orig-bad-01.*ssh_template not carried over/), expect.stringMatching(/weird.role@corp.example.com.*superuser/)]);

    const hosts = (await request(stack.url).get('/api/hosts?q=orig-&limit=100').set(bearer(viewer)).expect(200)).body.items as Array<Record<string, unknown>>;
    const by = Object.fromEntries(hosts.map((h) => [h.hostname as string, h]));
    expect(Object.keys(by).sort()).toEqual(['orig-bad-01', 'orig-db-01', 'orig-mac-01', 'orig-tp-01', 'orig-web-01', 'orig-win-01']);
    expect(new Set(hosts.map((h) => h.os))).toEqual(new Set(['linux', 'windows', 'macos']));
    expect(new Set(hosts.map((h) => h.environment))).toEqual(new Set(['prod', 'stage', 'dev']));
    expect(new Set(hosts.map((h) => h.criticality))).toEqual(new Set(['critical', 'high', 'medium', 'low']));
    expect(new Set(hosts.map((h) => h.connection_method))).toEqual(new Set(['direct_ssh', 'bastion_ssh', 'teleport']));
    expect(by['orig-db-01']).toMatchObject({ bastion_host: 'jump.corp.example.com', ssh_port: 2222, tags: ['db', 'postgres'], notes: 'Primary, behind the bastion' });
    expect(by['orig-win-01'].access_template).toBe('ssh -i /etc/opsdesk/keys/win_ed25519 -p {{port}} {{user}}@{{host}}');
    expect(by['orig-bad-01'].access_template).toBeNull();

    const idMap = JSON.parse(readFileSync(map, 'utf8')) as { hosts: Record<string, string>; users: Record<string, string> };
    expect(idMap.hosts['1']).toBe(by['orig-web-01'].id);
    expect(Object.keys(idMap.users).sort()).toEqual(['1', '2', '3', '4', '5']);

    // history: the import is recorded (source import, the admin, this run's request id), then the template
    const hist = (await request(stack.url).get(`/api/hosts/${by['orig-win-01'].id as string}/history`).set(bearer(auditor)).expect(200)).body.items as Array<Record<string, unknown>>;
    expect(hist.map((h) => [h.action, h.source])).toEqual([
      ['updated', 'api'],
      ['created', 'import'],
    ]);
    expect(hist[1]).toMatchObject({ actor: { email: ADMIN_EMAIL }, request_id: `import-original-${r.report.run}-hosts` });
    expect(hist[0].request_id).toMatch(new RegExp(`^import-original-${r.report.run}-template-3$`));

    // the imported access works: a teleport host renders tsh (the proxy was configured above)
    const tp = await issue(operator, by['orig-tp-01'].id as string, { reason: 'migration check' }).expect(200);
    expect(tp.body.command).toBe('tsh ssh --proxy=teleport.example.com:3080 --cluster=prod-eu ubuntu@orig-tp-01');
    const win = await issue(operator, by['orig-win-01'].id as string).expect(200);
    expect(runWithStubs(win.body.command)).toEqual({ syntaxOk: true, argv: ['ssh', '-i', '/etc/opsdesk/keys/win_ed25519', '-p', '22', 'Administrator@10.210.1.5'], leftovers: false });

    // users: roles kept, the inactive one inactive, generated passwords (owner-only file) that work
    expect(statSync(passwords).mode & 0o777).toBe(0o600);
    const creds = readFileSync(passwords, 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(','));
    expect(creds.map((c) => [c[0], c[1], c[2]])).toEqual([
      ['root.admin@corp.example.com', 'admin', 'true'],
      ['ops.one@corp.example.com', 'operator', 'true'],
      ['audit.one@corp.example.com', 'auditor', 'true'],
      ['view.one@corp.example.com', 'viewer', 'true'],
      ['gone.user@corp.example.com', 'operator', 'false'],
    ]);
    const ops = creds.find((c) => c[0] === 'ops.one@corp.example.com') as string[];
    const me = await request(stack.url).get('/api/auth/me').set(bearer((await login(stack.url, ops[0], ops[3])).access)).expect(200);
    expect(me.body.role).toBe('operator');
    const users = (await request(stack.url).get('/api/users?q=corp.example.com&limit=100').set(bearer(auditor)).expect(200)).body.items as Array<Record<string, unknown>>;
    expect(users.find((u) => u.email === 'gone.user@corp.example.com')).toMatchObject({ is_active: false, role: 'operator' });

    // running it again changes nothing
    const again = await run(['--hosts', join(fixtures, 'hosts.csv'), '--users', join(fixtures, 'users.csv'), '--passwords-out', join(work, 'passwords-2.csv')]);
    expect(again.report.hosts.summary).toMatchObject({ created: 0, updated: 0, error: 0 });
    expect(again.report.users).toMatchObject({ created: 0, existing: 5 });
    expect(again.report.hosts.templates_set).toBe(0);
  });

  it('imports from a restored database dump of the original (--original-db)', async () => {
    const original = await createTestDatabase('origdump');
    try {
      const c = new Client({ connectionString: original.url });
      await c.connect();
      await c.query(readFileSync(join(fixtures, 'dump.sql'), 'utf8'));
      await c.end();
      const r = await run(['--original-db', original.url, '--passwords-out', join(work, 'passwords-dump.csv')]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.report.hosts.summary).toMatchObject({ rows: 3, created: 3, error: 0 });
      expect(r.report.users).toMatchObject({ created: 2, deactivated: 1 });
      const hosts = (await request(stack.url).get('/api/hosts?q=dump-&limit=100').set(bearer(viewer)).expect(200)).body.items as Array<Record<string, unknown>>;
      const by = Object.fromEntries(hosts.map((h) => [h.hostname as string, h]));
      expect(by['dump-app-01']).toMatchObject({ ip: '10.220.0.1', tags: ['app', 'java'], environment: 'prod', criticality: 'high', connection_method: 'direct_ssh' });
      expect(by['dump-jump-01']).toMatchObject({ connection_method: 'bastion_ssh', bastion_host: 'jump.corp.example.com', ssh_port: 2222, access_template: 'ssh -J {{user}}@{{bastion}} -p {{port}} {{user}}@{{host}}' });
      expect(by['dump-tp-01'].connection_method).toBe('teleport');
      const hist = (await request(stack.url).get(`/api/hosts/${by['dump-app-01'].id as string}/history`).set(bearer(auditor)).expect(200)).body.items as Array<Record<string, unknown>>;
      expect(hist).toEqual([expect.objectContaining({ action: 'created', source: 'import', request_id: `import-original-${r.report.run}-hosts` })]);
      const users = (await request(stack.url).get('/api/users?q=dump.&limit=100').set(bearer(auditor)).expect(200)).body.items as Array<Record<string, unknown>>;
      expect(users.map((u) => [u.email, u.role, u.is_active]).sort()).toEqual([
        ['dump.admin@corp.example.com', 'admin', true],
        ['dump.viewer@corp.example.com', 'viewer', false],
      ]);
    } finally {
      await original.drop();
    }
  });
});
