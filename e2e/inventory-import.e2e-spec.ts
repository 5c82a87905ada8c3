import { Client } from 'pg';
import request from 'supertest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createUser, login, startStack, waitFor, type Stack } from './support/stack';
import { rawBody } from '@opsdesk/testing';
import { bearer, createHost, streamEvents } from './support/inventory';

let stack: Stack;
let admin: string;
let operator: string;

const MAX_BYTES = 256 * 1024;

beforeAll(async () => {
  stack = await startStack('inventoryimp', { services: ['auth', 'inventory'], env: { RATE_LIMIT_API_PER_MINUTE: '100000', IMPORT_MAX_BYTES: String(MAX_BYTES), IMPORT_BATCH_ROWS: '2', IMPORT_ANALYZE_MIN_ROWS: '3' } });
  admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
  operator = (await createUser(stack.url, admin, 'imp-op@inv.test', 'operator')).token;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

type Host = Record<string, unknown> & { id: string; hostname: string };

async function allHosts(q = ''): Promise<Host[]> {
  const out: Host[] = [];
  let cursor: string | null = null;
  do {
    const res: request.Response = await request(stack.url)
      .get(`/api/hosts?limit=100${q}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      .set(bearer(admin))
      .expect(200);
    out.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return out;
}

/** Manual ANALYZEs of inventory.hosts so far (autovacuum's are counted apart). */
async function manualAnalyzeCount(): Promise<number> {
  const pg = new Client({ connectionString: stack.db.url });
  await pg.connect();
  try {
    const { rows } = await pg.query(`SELECT analyze_count::int AS n FROM pg_stat_user_tables WHERE schemaname = 'inventory' AND relname = 'hosts'`);
    return rows[0].n as number;
  } finally {
    await pg.end();
  }
}

const importCsv = (csv: string, qs = '') => request(stack.url).post(`/api/hosts/import${qs}`).set(bearer(operator)).set('Content-Type', 'text/csv').send(csv);

// the original OpsDesk header names (aliases), a quoted comma, and one problem per bad row
const CSV = [
  'Host,IP Address,Env,OS,Owner,Team,Criticality,Notes,Labels',
  'imp-good-1,10.50.0.1,prod,linux,alice@example.com,payments,high,"primary, with comma",db;postgres',
  'imp-good-2,10.50.0.2,staging,windows,,web,,=1+2 looks like a formula,web',
  'imp-bad-ip,10.50.0.300,dev,linux,,,,,',
  'imp-bad-env,10.50.0.4,qa,linux,,,,,',
  'IMP-GOOD-1,10.50.0.5,dev,linux,,,,,',
  'imp-formula,10.50.0.6,dev,linux,,,,"=HYPERLINK(""http://evil.example"",""click"")",',
].join('\n');

describe('CSV import', () => {
  it('dry run reports every line exactly and writes nothing', async () => {
    const res = await importCsv(CSV, '?dry_run=true').expect(200);
    expect(res.body).toMatchObject({ dry_run: true, committed: false, summary: { rows: 6, created: 3, updated: 0, unchanged: 0, error: 3 } });
    expect(res.body.columns.mapped).toMatchObject({ Host: 'hostname', 'IP Address': 'ip', Env: 'environment', Labels: 'tags', Notes: 'notes' });
    expect(res.body.rows).toEqual([
      { line: 2, status: 'created', hostname: 'imp-good-1' },
      { line: 3, status: 'created', hostname: 'imp-good-2', warnings: [{ field: 'notes', message: expect.stringContaining('formula') }] },
      { line: 4, status: 'error', hostname: 'imp-bad-ip', errors: [{ field: 'ip', message: 'must be an IPv4 or IPv6 address' }] },
      { line: 5, status: 'error', hostname: 'imp-bad-env', errors: [{ field: 'environment', message: 'must be one of prod, stage, dev' }] },
      { line: 6, status: 'error', hostname: 'IMP-GOOD-1', errors: [{ field: 'hostname', message: 'duplicate of line 2 in this file' }] },
      { line: 7, status: 'created', hostname: 'imp-formula', warnings: [{ field: 'notes', message: expect.stringContaining('formula') }] },
    ]);
    expect(await allHosts('&q=imp-')).toEqual([]);
  });

  it('atomic mode with errors lands nothing', async () => {
    const res = await importCsv(CSV, '?atomic=true').expect(200);
    expect(res.body).toMatchObject({ atomic: true, committed: false, summary: { created: 3, error: 3 } });
    expect(await allHosts('&q=imp-')).toEqual([]);
  });

  it('commit lands the good rows, reports ids, and emits hosts.imported per batch with the ids', async () => {
    const analyzed = await manualAnalyzeCount();
    const res = await importCsv(CSV).expect(200);
    expect(res.body).toMatchObject({ committed: true, summary: { created: 3, error: 3 } });
    // 3 hosts written reaches IMPORT_ANALYZE_MIN_ROWS here: the planner statistics were refreshed (manual ANALYZE)
    await waitFor(async () => (await manualAnalyzeCount()) > analyzed, { timeoutMs: 20_000, what: 'ANALYZE inventory.hosts after the import' });
    const hosts = await allHosts('&q=imp-');
    expect(hosts.map((h) => h.hostname).sort()).toEqual(['imp-formula', 'imp-good-1', 'imp-good-2']);
    const good1 = hosts.find((h) => h.hostname === 'imp-good-1')!;
    expect(good1).toMatchObject({ ip: '10.50.0.1', environment: 'prod', owner: 'alice@example.com', team: 'payments', criticality: 'high', notes: 'primary, with comma', tags: ['db', 'postgres'] });
    expect(hosts.find((h) => h.hostname === 'imp-good-2')).toMatchObject({ environment: 'stage', os: 'windows', criticality: 'medium', notes: '=1+2 looks like a formula' });
    const ids = (res.body.rows as Array<{ status: string; id?: string }>).filter((r) => r.status === 'created').map((r) => r.id);
    expect(ids.sort()).toEqual(hosts.map((h) => h.id).sort());
    // history records the import
    const hist = await request(stack.url).get(`/api/hosts/${good1.id}/history`).set(bearer(admin)).expect(200);
    expect(hist.body.items).toHaveLength(1);
    expect(hist.body.items[0]).toMatchObject({ action: 'created', source: 'import', actor: expect.objectContaining({ email: 'imp-op@inv.test' }) });
    // IMPORT_BATCH_ROWS=2: 3 created rows -> 2 batches -> 2 events, together carrying every id
    const events = await waitFor(
      async () => {
        const ev = (await streamEvents(stack, 'inventory.hosts.imported')).filter((e) => (e.data.created_ids as string[]).some((id) => ids.includes(id)));
        return ev.length >= 2 ? ev : null;
      },
      { timeoutMs: 15_000, what: 'hosts.imported events' },
    );
    expect(events).toHaveLength(2);
    expect(events.flatMap((e) => e.data.created_ids as string[]).sort()).toEqual(ids.sort());

    // the same file again: existing rows are unchanged (update), or errors (fail)
    const again = await importCsv(CSV).expect(200);
    expect(again.body.summary).toMatchObject({ created: 0, updated: 0, unchanged: 3, error: 3 });
    const fail = await importCsv(CSV, '?on_conflict=fail').expect(200);
    expect(fail.body.rows[0]).toEqual({ line: 2, status: 'error', hostname: 'imp-good-1', errors: [{ field: 'hostname', message: 'already exists (on_conflict=fail)' }] });
    // update changes a host and records a revision; skip leaves it
    const change = 'hostname,ip,environment,criticality\nimp-good-1,10.50.0.1,prod,critical\n';
    const skipped = await importCsv(change, '?on_conflict=skip').expect(200);
    expect(skipped.body.rows[0]).toMatchObject({ status: 'unchanged' });
    const upd = await importCsv(change, '?on_conflict=update').expect(200);
    expect(upd.body.rows[0]).toMatchObject({ status: 'updated', id: good1.id });
    const after = await request(stack.url).get(`/api/hosts/${good1.id}`).set(bearer(admin)).expect(200);
    expect(after.body).toMatchObject({ criticality: 'critical', version: 2, team: 'payments', notes: 'primary, with comma' });
    // an ip owned by another host is an error naming the field
    const clash = await importCsv('hostname,ip,environment\nimp-new,10.50.0.2,dev\n').expect(200);
    expect(clash.body.rows[0]).toEqual({ line: 2, status: 'error', hostname: 'imp-new', errors: [{ field: 'ip', message: 'is already used by host imp-good-2' }] });
  });

  it('accepts multipart uploads', async () => {
    const res = await request(stack.url)
      .post('/api/hosts/import?dry_run=true')
      .set(bearer(operator))
      .attach('file', Buffer.from('hostname,ip,environment\nmp-1,10.60.0.1,dev\n'), { filename: 'hosts.csv', contentType: 'text/csv' })
      .expect(200);
    expect(res.body.rows).toEqual([{ line: 2, status: 'created', hostname: 'mp-1' }]);
  });

  it('refuses unusable input: missing columns 400, wrong type 415, too large 413', async () => {
    const noIp = await importCsv('hostname,environment\nx,dev\n').expect(400);
    expect(noIp.body.code).toBe('INVENTORY.IMPORT_INVALID');
    expect(noIp.body.errors).toEqual([{ field: 'columns', message: 'missing required column ip' }]);
    await request(stack.url).post('/api/hosts/import').set(bearer(operator)).send({ hostname: 'x' }).expect(415);
    const big = `hostname,ip,environment,notes\n${Array.from({ length: 3000 }, (_, i) => `big-${i},10.70.${i >> 8}.${i & 255},dev,${'x'.repeat(100)}`).join('\n')}\n`;
    expect(big.length).toBeGreaterThan(MAX_BYTES);
    const tooBig = await importCsv(big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.code).toBe('INVENTORY.IMPORT_TOO_LARGE');
    expect(await allHosts('&q=big-')).toEqual([]);
  });
});

describe('CSV export', () => {
  it('neutralises formulas and round-trips: export -> wipe -> import gives identical hosts', async () => {
    await createHost(stack, operator, {
      hostname: 'rt-bastion',
      ip: '2001:db8::42',
      fqdn: 'rt-bastion.example.com',
      environment: 'prod',
      criticality: 'critical',
      connection_method: 'bastion_ssh',
      ssh_user: 'deploy',
      ssh_port: 2222,
      bastion_host: 'jump.example.com',
      bastion_port: 2200,
      tags: ['edge', 'k8s:node', 'rack/a1'],
      owner: '-ops team-',
      team: '@platform',
      notes: `multi\nline "quoted", with comma`,
    });
    await createHost(stack, operator, { hostname: 'rt-quote', ip: '10.80.0.1', notes: `'=already quoted`, owner: '+49 30 1234' });
    await createHost(stack, operator, { hostname: 'rt-plain', ip: '10.80.0.2', environment: 'stage', os: 'macos' });

    const before = await allHosts();
    const exp = await request(stack.url).get('/api/hosts/export.csv').set(bearer(admin)).buffer(true).parse(rawBody);
    expect(exp.status).toBe(200);
    expect(exp.headers['content-type']).toMatch(/text\/csv/);
    expect(exp.headers['content-disposition']).toMatch(/attachment; filename="opsdesk-hosts-.*\.csv"/);
    const csv = (exp.body as Buffer).toString('utf8');
    expect(csv.split('\r\n')[0]).toBe('hostname,fqdn,ip,os,environment,owner,team,criticality,tags,notes,connection_method,ssh_user,ssh_port,bastion_host,bastion_port');
    expect(csv).toContain(`'=1+2 looks like a formula`);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    expect(csv).toContain(`'-ops team-`);
    expect(csv).toContain(`'@platform`);
    expect(csv).toContain(`''=already quoted`);
    // no cell starts with a live formula character
    for (const line of csv.split('\r\n')) for (const cell of line.split(',')) expect(cell).not.toMatch(/^"?[=+\-@\t\r]/);

    // filters apply to the export too
    const filtered = await request(stack.url).get('/api/hosts/export.csv?environment=stage').set(bearer(admin)).expect(200);
    expect(filtered.text.trim().split('\r\n').slice(1).map((l) => l.split(',')[0]).sort()).toEqual(before.filter((h) => h.environment === 'stage').map((h) => h.hostname).sort());

    for (const h of before) await request(stack.url).delete(`/api/hosts/${h.id}`).set(bearer(admin)).expect(204);
    expect(await allHosts()).toEqual([]);
    const res = await importCsv(csv, '?atomic=true').expect(200);
    expect(res.body.summary).toEqual({ rows: before.length, created: before.length, updated: 0, unchanged: 0, error: 0 });
    const strip = (h: Host) => {
      const { id: _id, created_at: _c, updated_at: _u, version: _v, last_seen_at: _l, ...rest } = h;
      return rest;
    };
    const after = await allHosts();
    expect(after.map(strip)).toEqual(before.map(strip));
  });
});
