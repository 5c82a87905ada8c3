import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createUser, login, startStack, waitFor, type Stack } from './support/stack';
import { bearer, createHost, hostBody, streamEvents } from './support/inventory';

// the audit service is built concurrently: when it exists, the access event is also asserted through /api/audit
const withAudit = existsSync(join(__dirname, '..', 'services', 'audit', 'src', 'bootstrap.ts'));

let stack: Stack;
let admin: string;
let operator: string;
let viewer: string;
let auditor: string;

beforeAll(async () => {
  stack = await startStack('inventorye2e', { services: withAudit ? ['auth', 'inventory', 'audit'] : ['auth', 'inventory'], env: { RATE_LIMIT_API_PER_MINUTE: '100000', TRACE_UI_URL: 'http://127.0.0.1:16686/trace/{trace_id}' } });
  admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
  [operator, viewer, auditor] = await Promise.all([
    createUser(stack.url, admin, 'op@inv.test', 'operator').then((u) => u.token),
    createUser(stack.url, admin, 'viewer@inv.test', 'viewer').then((u) => u.token),
    createUser(stack.url, admin, 'auditor@inv.test', 'auditor').then((u) => u.token),
  ]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('hosts CRUD and validation', () => {
  it('creates, reads with ETag, updates with If-Match, deletes', async () => {
    const created = await request(stack.url)
      .post('/api/hosts')
      .set(bearer(operator))
      .send(hostBody({ hostname: 'crud-1', ip: '192.0.2.10', fqdn: 'crud-1.example.com', tags: ['Web', 'edge', 'web'], owner: 'alice@example.com', team: 'platform' }))
      .expect(201);
    expect(created.body).toMatchObject({ hostname: 'crud-1', ip: '192.0.2.10', fqdn: 'crud-1.example.com', tags: ['edge', 'web'], version: 1, connection_method: 'direct_ssh', ssh_port: 22 });
    expect(created.headers.etag).toBe('"1"');
    const id = created.body.id as string;
    const got = await request(stack.url).get(`/api/hosts/${id}`).set(bearer(viewer)).expect(200);
    expect(got.body).toEqual(created.body);
    expect(got.headers.etag).toBe('"1"');
    const upd = await request(stack.url).patch(`/api/hosts/${id}`).set(bearer(operator)).set('If-Match', got.headers.etag).send({ criticality: 'high' }).expect(200);
    expect(upd.body).toMatchObject({ criticality: 'high', version: 2 });
    expect(upd.headers.etag).toBe('"2"');
    // a second writer still holding version 1 must not overwrite silently
    const stale = await request(stack.url).patch(`/api/hosts/${id}`).set(bearer(admin)).set('If-Match', '"1"').send({ criticality: 'low' }).expect(412);
    expect(stale.body.code).toBe('INVENTORY.PRECONDITION_FAILED');
    expect((await request(stack.url).get(`/api/hosts/${id}`).set(bearer(viewer))).body.criticality).toBe('high');
    await request(stack.url).delete(`/api/hosts/${id}`).set(bearer(operator)).set('If-Match', '"1"').expect(412);
    await request(stack.url).delete(`/api/hosts/${id}`).set(bearer(operator)).set('If-Match', '"2"').expect(204);
    const gone = await request(stack.url).get(`/api/hosts/${id}`).set(bearer(admin)).expect(404);
    expect(gone.body.code).toBe('INVENTORY.HOST_NOT_FOUND');
  });

  it('rejects invalid fields with their names', async () => {
    const res = await request(stack.url)
      .post('/api/hosts')
      .set(bearer(operator))
      .send({ hostname: '-bad_host-', ip: '10.0.0.300', environment: 'production', os: 'solaris', criticality: 'urgent', tags: ['ok', 'Bad Tag!'], fqdn: 'no_dots', ssh_port: 70000 })
      .expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    const fields = (res.body.errors as Array<{ field: string }>).map((e) => e.field).sort();
    expect(fields).toEqual(['criticality', 'environment', 'fqdn', 'hostname', 'ip', 'os', 'ssh_port', 'tags.1'].sort());
    const v6 = await request(stack.url).post('/api/hosts').set(bearer(operator)).send(hostBody({ ip: '2001:db8::zz' })).expect(400);
    expect(v6.body.errors[0].field).toBe('ip');
    const bastion = await request(stack.url).post('/api/hosts').set(bearer(operator)).send(hostBody({ connection_method: 'bastion_ssh' })).expect(400);
    expect(bastion.body.errors).toEqual([{ field: 'bastion_host', message: expect.stringContaining('required') }]);
    await request(stack.url).post('/api/hosts').set(bearer(operator)).send(hostBody({ ip: '2001:db8::1:5' })).expect(201);
  });

  it('rejects shell metacharacters in ssh_user and bastion_host at write time', async () => {
    for (const [field, value] of [
      ['ssh_user', 'root;id'],
      ['ssh_user', '$(whoami)'],
      ['bastion_host', 'jump.example.com;rm -rf /'],
      ['bastion_host', '`id`.example.com'],
      ['bastion_host', '-oProxyCommand=sh'],
    ]) {
      const res = await request(stack.url)
        .post('/api/hosts')
        .set(bearer(operator))
        .send(hostBody({ connection_method: 'bastion_ssh', bastion_host: 'jump.example.com', [field]: value }))
        .expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
    const h = await createHost(stack, operator);
    const res = await request(stack.url).patch(`/api/hosts/${h.id}`).set(bearer(operator)).send({ ssh_user: 'a b' }).expect(400);
    expect(res.body.errors[0].field).toBe('ssh_user');
  });

  it('hostname (case-insensitive) and ip are unique: 409 naming the field', async () => {
    await createHost(stack, operator, { hostname: 'uniq-1', ip: '198.51.100.1' });
    const byName = await request(stack.url).post('/api/hosts').set(bearer(operator)).send(hostBody({ hostname: 'UNIQ-1' })).expect(409);
    expect(byName.body.code).toBe('INVENTORY.HOST_CONFLICT');
    expect(byName.body.errors[0].field).toBe('hostname');
    const byIp = await request(stack.url).post('/api/hosts').set(bearer(operator)).send(hostBody({ ip: '198.51.100.1' })).expect(409);
    expect(byIp.body.errors[0].field).toBe('ip');
    const other = await createHost(stack, operator);
    const patch = await request(stack.url).patch(`/api/hosts/${other.id}`).set(bearer(operator)).send({ ip: '198.51.100.1' }).expect(409);
    expect(patch.body.errors[0].field).toBe('ip');
  });

  it('viewer and auditor cannot write (403); viewer reads', async () => {
    for (const t of [viewer, auditor]) {
      await request(stack.url).post('/api/hosts').set(bearer(t)).send(hostBody()).expect(403);
    }
    const h = await createHost(stack, operator);
    await request(stack.url).patch(`/api/hosts/${h.id}`).set(bearer(viewer)).send({ notes: 'x' }).expect(403);
    await request(stack.url).delete(`/api/hosts/${h.id}`).set(bearer(viewer)).expect(403);
    await request(stack.url).post(`/api/hosts/${h.id}/access-command`).set(bearer(viewer)).send({ reason: 'x' }).expect(403);
    await request(stack.url).post('/api/hosts/import').set(bearer(viewer)).set('Content-Type', 'text/csv').send('hostname,ip,environment\n').expect(403);
    await request(stack.url).put('/api/settings/integrations').set(bearer(operator)).send({ snapshot_ttl_seconds: 600 }).expect(403);
    await request(stack.url).get('/api/hosts').set(bearer(viewer)).expect(200);
  });
});

describe('list: filters, search, sort, keyset pages', () => {
  const team = `team-${Date.now()}`;
  beforeAll(async () => {
    const specs = [
      { hostname: 'srch-db-01', environment: 'prod', os: 'linux', criticality: 'critical', tags: ['db', 'postgres'], owner: 'dba@example.com', notes: 'primary billing database' },
      { hostname: 'srch-db-02', environment: 'prod', os: 'linux', criticality: 'high', tags: ['db', 'postgres', 'replica'], owner: 'dba@example.com' },
      { hostname: 'srch-web-01', environment: 'stage', os: 'windows', criticality: 'medium', tags: ['web'], owner: 'web@example.com', fqdn: 'shop-frontend.example.com' },
      { hostname: 'srch-mac-01', environment: 'dev', os: 'macos', criticality: 'low', tags: ['build'], owner: 'ci@example.com', ip: '203.0.113.77' },
    ];
    for (const s of specs) await createHost(stack, operator, { team, ...s });
  });

  const names = (body: { items: Array<{ hostname: string }> }) => body.items.map((h) => h.hostname);

  it('filters by environment, os, criticality, tag (repeatable, all must match), owner, team', async () => {
    const get = async (qs: string) => names((await request(stack.url).get(`/api/hosts?team=${team}&${qs}`).set(bearer(viewer)).expect(200)).body);
    expect(await get('environment=prod')).toEqual(['srch-db-01', 'srch-db-02']);
    expect(await get('os=windows')).toEqual(['srch-web-01']);
    expect(await get('criticality=critical')).toEqual(['srch-db-01']);
    expect(await get('tag=postgres&tag=replica')).toEqual(['srch-db-02']);
    expect(await get('tag=db')).toEqual(['srch-db-01', 'srch-db-02']);
    expect(await get('owner=ci@example.com')).toEqual(['srch-mac-01']);
    expect(await get('sort=-hostname')).toEqual(['srch-web-01', 'srch-mac-01', 'srch-db-02', 'srch-db-01']);
    const bad = await request(stack.url).get('/api/hosts?environment=qa').set(bearer(viewer)).expect(400);
    expect(bad.body.errors[0].field).toBe('environment');
  });

  it('q searches hostname, fqdn, ip, owner, team, tags and notes (every term must match)', async () => {
    const q = async (term: string) => names((await request(stack.url).get(`/api/hosts?team=${team}&q=${encodeURIComponent(term)}`).set(bearer(viewer)).expect(200)).body);
    expect(await q('web-01')).toEqual(['srch-web-01']);
    expect(await q('shop-frontend')).toEqual(['srch-web-01']);
    expect(await q('203.0.113.77')).toEqual(['srch-mac-01']);
    expect(await q('DBA@EXAMPLE')).toEqual(['srch-db-01', 'srch-db-02']);
    expect(await q('replica')).toEqual(['srch-db-02']);
    expect(await q('billing')).toEqual(['srch-db-01']);
    expect(await q('billing replica')).toEqual([]);
    expect(await q(team)).toHaveLength(4);
    expect(await q('100%_')).toEqual([]);
  });

  it('summary and tags count hosts', async () => {
    const s = (await request(stack.url).get('/api/hosts/summary').set(bearer(viewer)).expect(200)).body;
    const all = (await request(stack.url).get('/api/hosts?limit=100').set(bearer(viewer)).expect(200)).body.items as Array<{ environment: string; os: string; criticality: string }>;
    expect(s.total).toBe(all.length);
    expect(s.by_environment.prod).toBe(all.filter((h) => h.environment === 'prod').length);
    expect(s.by_os.macos).toBe(all.filter((h) => h.os === 'macos').length);
    expect(s.by_criticality.critical).toBe(all.filter((h) => h.criticality === 'critical').length);
    const tags = (await request(stack.url).get('/api/tags').set(bearer(viewer)).expect(200)).body.items as Array<{ tag: string; count: number }>;
    expect(tags.find((t) => t.tag === 'postgres')?.count).toBeGreaterThanOrEqual(2);
    expect(tags.find((t) => t.tag === 'replica')?.count).toBeGreaterThanOrEqual(1);
  });

  it('keyset pages have no gaps or repeats while hosts are inserted concurrently', async () => {
    const kteam = `keyset-${Date.now()}`;
    const initial = new Set<string>();
    for (let i = 0; i < 30; i++) initial.add((await createHost(stack, operator, { team: kteam, hostname: `ks-${String(i * 2).padStart(3, '0')}` })).hostname as string);
    let inserting = true;
    let n = 0;
    const writer = (async () => {
      while (inserting) {
        n++;
        // odd names fall between existing ones: they land on pages already read and pages still to come
        await createHost(stack, operator, { team: kteam, hostname: `ks-${String(n * 2 - 1).padStart(3, '0')}` });
      }
    })();
    for (const sort of ['hostname', '-created_at']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await request(stack.url)
          .get(`/api/hosts?team=${kteam}&limit=4&sort=${sort}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
          .set(bearer(viewer))
          .expect(200);
        seen.push(...names(res.body));
        cursor = res.body.next_cursor;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      for (const h of initial) expect(seen).toContain(h);
    }
    inserting = false;
    await writer;
    expect(n).toBeGreaterThan(0);
    const skip = await request(stack.url).get(`/api/hosts?team=${kteam}&limit=2&skip=2`).set(bearer(viewer)).expect(200);
    expect(names(skip.body)[0]).toBe('ks-002'); // ks-000, ks-001 skipped
    await request(stack.url).get('/api/hosts?limit=101').set(bearer(viewer)).expect(400);
    await request(stack.url).get('/api/hosts?cursor=garbage').set(bearer(viewer)).expect(400);
  });
});

describe('history and as_of', () => {
  it('lists revisions with field diffs and returns exact earlier states, also after delete (admin/auditor only)', async () => {
    const h = await createHost(stack, operator, { hostname: 'tt-1', ip: '192.0.2.50', environment: 'stage', notes: 'v1' });
    const states = [h];
    const r1 = await request(stack.url).patch(`/api/hosts/${h.id}`).set(bearer(operator)).set('If-Match', '"1"').send({ notes: 'v2', tags: ['x'] }).expect(200);
    states.push(r1.body);
    const r2 = await request(stack.url).patch(`/api/hosts/${h.id}`).set(bearer(admin)).set('If-Match', '"2"').send({ environment: 'prod', ip: '192.0.2.51' }).expect(200);
    states.push(r2.body);
    await request(stack.url).delete(`/api/hosts/${h.id}`).set(bearer(operator)).expect(204);

    const hist = await request(stack.url).get(`/api/hosts/${h.id}/history`).set(bearer(auditor)).expect(200);
    const items = hist.body.items as Array<{ revision: number; action: string; changes: Array<{ field: string; before: unknown; after: unknown }>; actor: { email: string }; request_id: string }>;
    expect(items.map((i) => i.action)).toEqual(['deleted', 'updated', 'updated', 'created']);
    expect(items[1].changes).toEqual([
      { field: 'ip', before: '192.0.2.50', after: '192.0.2.51' },
      { field: 'environment', before: 'stage', after: 'prod' },
    ]);
    expect(items[1].actor.email).toBe(ADMIN_EMAIL);
    expect(items[2].changes).toEqual([
      { field: 'tags', before: [], after: ['x'] },
      { field: 'notes', before: 'v1', after: 'v2' },
    ]);
    expect(items[2].actor.email).toBe('op@inv.test');
    expect(items[0].request_id).toBeTruthy();

    for (const s of states) {
      // the exact state at the moment it was written, and still just before the next write
      const at = await request(stack.url).get(`/api/hosts/${h.id}?as_of=${encodeURIComponent(s.updated_at as string)}`).set(bearer(admin)).expect(200);
      expect(at.body).toEqual(s);
    }
    const before = new Date(Date.parse(h.created_at as string) - 1).toISOString();
    await request(stack.url).get(`/api/hosts/${h.id}?as_of=${before}`).set(bearer(admin)).expect(404);
    await request(stack.url).get(`/api/hosts/${h.id}?as_of=${new Date().toISOString()}`).set(bearer(admin)).expect(404);
    // deleted hosts: admin and auditor only
    await request(stack.url).get(`/api/hosts/${h.id}?as_of=${encodeURIComponent(states[1].updated_at as string)}`).set(bearer(auditor)).expect(200);
    await request(stack.url).get(`/api/hosts/${h.id}?as_of=${encodeURIComponent(states[1].updated_at as string)}`).set(bearer(viewer)).expect(404);
    await request(stack.url).get(`/api/hosts/${h.id}?as_of=${encodeURIComponent(states[1].updated_at as string)}`).set(bearer(operator)).expect(404);
    await request(stack.url).get(`/api/hosts/${h.id}/history`).set(bearer(viewer)).expect(404);
    await request(stack.url).get(`/api/hosts/${h.id}?as_of=yesterday`).set(bearer(admin)).expect(400);
  });
});

describe('governed access', () => {
  let accessHostId = '';
  it('renders the exact bastion command, requires a reason on prod, and records the event', async () => {
    const h = await createHost(stack, operator, {
      hostname: 'acc-prod-1',
      ip: '10.20.30.40',
      environment: 'prod',
      connection_method: 'bastion_ssh',
      ssh_user: 'deploy',
      ssh_port: 2222,
      bastion_host: 'jump.example.com',
      bastion_port: 2200,
    });
    accessHostId = h.id;
    const missing = await request(stack.url).post(`/api/hosts/${h.id}/access-command`).set(bearer(operator)).send({}).expect(400);
    expect(missing.body.errors).toEqual([{ field: 'reason', message: expect.any(String) }]);
    await request(stack.url).post(`/api/hosts/${h.id}/access-command`).set(bearer(operator)).send({ reason: '  ' }).expect(400);
    const res = await request(stack.url).post(`/api/hosts/${h.id}/access-command`).set(bearer(operator)).send({ reason: 'INC-4711 disk full' }).expect(200);
    expect(res.body.command).toBe('ssh -J deploy@jump.example.com:2200 -p 2222 deploy@10.20.30.40');
    expect(res.body.argv).toEqual(['ssh', '-J', 'deploy@jump.example.com:2200', '-p', '2222', 'deploy@10.20.30.40']);
    const other = await request(stack.url).post(`/api/hosts/${h.id}/access-command`).set(bearer(admin)).send({ user: 'ops', reason: 'maintenance' }).expect(200);
    expect(other.body.command).toBe('ssh -J ops@jump.example.com:2200 -p 2222 ops@10.20.30.40');
    const bad = await request(stack.url).post(`/api/hosts/${h.id}/access-command`).set(bearer(admin)).send({ user: 'ops;id', reason: 'maintenance' }).expect(400);
    expect(bad.body.errors[0].field).toBe('user');

    const dev = await createHost(stack, operator, { environment: 'dev', criticality: 'low', ip: '10.9.9.9', ssh_user: 'ubuntu' });
    const direct = await request(stack.url).post(`/api/hosts/${dev.id}/access-command`).set(bearer(operator)).send({}).expect(200);
    expect(direct.body.command).toBe('ssh -p 22 ubuntu@10.9.9.9');
    const crit = await createHost(stack, operator, { environment: 'dev', criticality: 'critical', ssh_user: 'ubuntu' });
    await request(stack.url).post(`/api/hosts/${crit.id}/access-command`).set(bearer(operator)).send({}).expect(400);

    const events = await waitFor(
      async () => {
        const ev = await streamEvents(stack, 'inventory.host.access_issued');
        return ev.length >= 3 ? ev : null;
      },
      { timeoutMs: 15_000, what: 'access_issued events in JetStream' },
    );
    const first = events.find((e) => e.data.reason === 'INC-4711 disk full');
    expect(first).toMatchObject({
      type: 'inventory.host.access_issued',
      source: 'inventory',
      actor: expect.objectContaining({ email: 'op@inv.test' }),
      subject: { entity_type: 'host', entity_id: h.id },
      data: expect.objectContaining({ host_id: h.id, hostname: 'acc-prod-1', user: 'deploy', command: res.body.command, reason: 'INC-4711 disk full' }),
    });
  });

  (withAudit ? it : it.skip)('the issued commands reach the audit trail (GET /api/audit)', async () => {
    const audited = await waitFor(
      async () => {
        const r = await request(stack.url).get('/api/audit').query({ action: 'inventory.host.access_issued', entity_id: accessHostId }).set(bearer(auditor));
        return r.status === 200 && r.body.items.length >= 2 ? r.body.items : null;
      },
      { timeoutMs: 20_000, what: 'access_issued in /api/audit' },
    );
    expect(audited.map((a: { data: { reason: string } }) => a.data.reason).sort()).toEqual(['INC-4711 disk full', 'maintenance']);
    expect(audited.find((a: { data: { reason: string } }) => a.data.reason === 'INC-4711 disk full')).toMatchObject({
      actor: expect.objectContaining({ email: 'op@inv.test' }),
      entity_type: 'host',
      entity_id: accessHostId,
    });
  });
});

describe('settings and RPC lookup', () => {
  it('runtime info, integration settings (admin PUT) with an event', async () => {
    const rt = await request(stack.url).get('/api/settings/runtime').set(bearer(viewer)).expect(200);
    expect(rt.body).toMatchObject({ environment: 'test', prometheus: { configured: false }, limits: { page_limit_max: 100 } });
    // the gateway's TRACE_UI_URL, for the console's trace links
    expect(rt.body.trace_ui_url).toBe('http://127.0.0.1:16686/trace/{trace_id}');
    const put = await request(stack.url)
      .put('/api/settings/integrations')
      .set(bearer(admin))
      .send({ prometheus_url: 'http://user:secret@127.0.0.1:1/', instance_template: '{hostname}:9100', snapshot_ttl_seconds: 3600 })
      .expect(200);
    expect(put.body).toMatchObject({ prometheus_url: 'http://***:***@127.0.0.1:1/', instance_template: '{hostname}:9100', snapshot_ttl_seconds: 3600, version: 1 });
    expect(JSON.stringify(put.body)).not.toContain('secret');
    const get = await request(stack.url).get('/api/settings/integrations').set(bearer(viewer)).expect(200);
    expect(get.body).toEqual(put.body);
    await request(stack.url).put('/api/settings/integrations').set(bearer(admin)).send({ instance_template: '{ip};rm' }).expect(400);
    const ev = await waitFor(async () => {
      const e = await streamEvents(stack, 'inventory.settings.updated');
      return e.length ? e : null;
    }, { timeoutMs: 15_000, what: 'settings.updated event' });
    expect(ev[0].data).toMatchObject({ before: { instance_template: '{ip}:9100' }, after: { instance_template: '{hostname}:9100' } });
    expect(JSON.stringify(ev[0])).not.toContain('secret');
    // unreachable Prometheus: 503 with the cause
    const h = await createHost(stack, operator);
    const r = await request(stack.url).post(`/api/hosts/${h.id}/metrics:refresh`).set(bearer(operator)).expect(503);
    expect(r.body.code).toBe('INVENTORY.PROMETHEUS_UNAVAILABLE');
    expect(r.body.cause).toBeTruthy();
    await request(stack.url).put('/api/settings/integrations').set(bearer(admin)).send({ prometheus_url: null, instance_template: '{ip}:9100' }).expect(200);
  });
});
