import type { DataSource } from 'typeorm';
import { AppError, EventTypes, InventoryErrors, createHostSchema, type RpcContext } from '@opsdesk/contracts';
import { runMigrations } from '@opsdesk/database';
import { OutboxWriter } from '@opsdesk/messaging';
import { createTestDatabase, type TestDatabase } from '@opsdesk/testing';
import { createDataSource } from '../src/database/data-source';
import { HostsRepository, hostFilterSql } from '../src/hosts/hosts.repository';
import { HostsService } from '../src/hosts/hosts.service';

const ctx: RpcContext = { actor: { user_id: null, email: 'tester@example.com', ip: null, user_agent: null }, request_id: 'req-1' };

describe('hosts on Postgres', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let hosts: HostsService;

  beforeAll(async () => {
    db = await createTestDatabase('hostsrepo');
    ds = createDataSource(db.url);
    await ds.initialize();
    await runMigrations(ds);
    hosts = new HostsService(new HostsRepository(ds, new OutboxWriter({ schema: 'inventory', source: 'inventory', subjectPrefix: 'test.opsdesk' })));
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  describe('search: the indexed form of a term finds exactly what `search LIKE` finds', () => {
    beforeAll(async () => {
      // addresses and texts around the edges of the address ranges, IPv6 with an embedded IPv4, address-like
      // text in fqdn, tags and notes, and random noise
      const special: Array<[string, string, string | null, string[], string | null]> = [
        ['a1', '10.0.42.1', null, [], null],
        ['a2', '10.0.42.255', null, [], null],
        ['a3', '10.0.43.0', null, [], null],
        ['a4', '10.0.41.255', null, [], null],
        ['a5', '110.0.42.7', null, [], null],
        ['a6', '210.0.42.9', null, [], null],
        ['a7', '1.10.0.42', null, [], null],
        ['a8', '5.110.0.42', null, [], null],
        ['a9', '7.7.10.0', null, [], null],
        ['b1', '10.0.4.2', null, [], null],
        ['b2', '192.168.10.0', null, [], null],
        ['b3', '2001:db8::10:0:42', null, [], null],
        ['b4', '::ffff:10.0.42.7', null, [], null],
        ['b5', '172.16.0.1', '10.0.42.5.nip.io', [], null],
        ['b6', '172.16.0.2', null, ['ip-10.0.42.1'], null],
        ['b7', '172.16.0.3', null, [], 'moved from 10.0.42.77 to rack 42'],
        ['b8', '172.16.0.4', null, [], 'version 1.10.0.4'],
        ['b9', '255.255.255.255', null, [], null],
        ['c1', '0.0.0.0', null, [], null],
        ['c2', '100.200.1.2', null, [], 'note 100.200.'],
      ];
      const noise = Array.from({ length: 3000 }, (_, i) => {
        const n = ((i + 1) * 2654435761) % 2 ** 32;
        return [`n${i}`, [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'), i % 7 === 0 ? `n${i}.example.org` : null, i % 5 === 0 ? ['db'] : [], i % 11 === 0 ? `rack ${i % 97}` : null] as [string, string, string | null, string[], string | null];
      });
      const taken = new Set(special.map((r) => r[1]));
      const rows = [...special, ...noise.filter((r) => !taken.has(r[1]))];
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        await ds.query(
          `INSERT INTO inventory.hosts (hostname, ip, fqdn, tags, notes, environment)
           SELECT r.hostname, r.ip::inet, r.fqdn, ARRAY(SELECT jsonb_array_elements_text(r.tags)), r.notes, 'prod'
             FROM jsonb_to_recordset($1::jsonb) AS r(hostname text, ip text, fqdn text, tags jsonb, notes text)`,
          [JSON.stringify(chunk.map(([hostname, ip, fqdn, tags, notes]) => ({ hostname, ip, fqdn, tags, notes })))],
        );
      }
      await ds.query('ANALYZE inventory.hosts');
    });

    const ids = async (where: string, params: unknown[]) =>
      ((await ds.query(`SELECT h.hostname FROM inventory.hosts h WHERE ${where} ORDER BY 1`, params)) as Array<{ hostname: string }>).map((r) => r.hostname);

    it.each([
      '10.0.42.', '10.0.42', '10.0.42.1', '0.42.', '0.42.7', '.42.', '0.0.7', '2.10.0', '10.0.4', '10.0.', '0.4', '192.168.', '192.168.10.0', '1.10.0.4', '100.200.', '255.255.255.255',
      '0.0.0.0', '7.10.0', '10.0', '.10.0.', 'db8::10', '::ffff:10.0.42', '42', 'rack', 'rack 42', '10.0.42. rack', 'nip.io', '5.nip', '1.1', '2.5', '.', 'zzzz',
    ])('q=%p', async (q) => {
      const params: unknown[] = [];
      const where = hostFilterSql({ q }, params).join(' AND ');
      const terms = q.toLowerCase().split(/\s+/).filter(Boolean);
      const old = await ids(terms.map((_, i) => `h.search LIKE $${i + 1}`).join(' AND '), terms.map((t) => `%${t}%`));
      expect(await ids(where, params)).toEqual(old);
    });

    it('an IP prefix is answered from the address and the few address-like texts, not the search column', async () => {
      const params: unknown[] = [];
      const [where] = hostFilterSql({ q: '10.0.42.' }, params);
      expect(where).not.toContain('h.search');
      expect(where).toContain('h.ip BETWEEN');
      // every way a host can contain it: the address at octet 1 (also inside 110/210), IPv6 text, fqdn, tag, notes
      const found = await ids(where, params);
      expect(found.filter((h) => !h.startsWith('n'))).toEqual(['a1', 'a2', 'a5', 'a6', 'b4', 'b5', 'b6', 'b7']);
    });
  });

  describe('writes: one statement for host + revision + event', () => {
    const outbox = async (type: string, id: string) =>
      ((await ds.query(`SELECT payload FROM inventory.outbox WHERE payload->>'type' = $1 AND payload->'subject'->>'entity_id' = $2`, [type, id])) as Array<{
        payload: { data: Record<string, unknown>; actor: unknown; request_id: string };
      }>).map((r) => r.payload);
    const revisions = async (id: string) =>
      (await ds.query(`SELECT revision, action, inventory.iso(at) AS at, actor, request_id, source, before, after FROM inventory.host_revisions WHERE host_id = $1 ORDER BY id`, [
        id,
      ])) as Array<Record<string, unknown>>;

    it('create, update, delete keep history, events, conflicts and version checks', async () => {
      const created = await hosts.create(createHostSchema.parse({ hostname: 'w-1', ip: '2001:DB8::1', environment: 'dev', tags: ['x'] }), ctx);
      expect(created).toMatchObject({ hostname: 'w-1', ip: '2001:db8::1', version: 1, tags: ['x'] });
      expect(created.created_at).toBe(created.updated_at);
      expect(await hosts.get(created.id)).toEqual(created);
      const [r1] = await revisions(created.id);
      expect(r1).toMatchObject({ revision: 1, action: 'created', at: created.updated_at, actor: ctx.actor, request_id: 'req-1', source: 'api', before: null });
      expect(r1.after).toEqual(created);
      const [e1] = await outbox(EventTypes.HOST_CREATED, created.id);
      expect(e1.data).toEqual({ host_id: created.id, hostname: 'w-1', after: created, source: 'api' });
      expect(e1.request_id).toBe('req-1');

      // unique hostname (case-insensitive) and ip: the conflict names the field; nothing else is written
      const dup = await hosts.create(createHostSchema.parse({ hostname: 'W-1', ip: '10.9.9.9', environment: 'dev' }), ctx).catch((e: unknown) => e);
      expect(dup).toBeInstanceOf(AppError);
      expect(dup).toMatchObject({ code: InventoryErrors.HOST_CONFLICT, meta: { conflict_field: 'hostname' } });
      const dupIp = await hosts.create(createHostSchema.parse({ hostname: 'w-2', ip: '2001:db8::1', environment: 'dev' }), ctx).catch((e: unknown) => e);
      expect(dupIp).toMatchObject({ code: InventoryErrors.HOST_CONFLICT, meta: { conflict_field: 'ip' } });
      expect((await ds.query(`SELECT count(*)::int AS n FROM inventory.outbox WHERE payload->>'type' = $1`, [EventTypes.HOST_CREATED]))[0].n).toBe(1);

      await expect(hosts.update(created.id, { notes: 'n' }, 7, ctx)).rejects.toMatchObject({ code: InventoryErrors.PRECONDITION_FAILED, meta: { current_version: 1 } });
      const updated = await hosts.update(created.id, { notes: 'n', team: 'web' }, 1, ctx);
      expect(updated).toMatchObject({ version: 2, notes: 'n', team: 'web', created_at: created.created_at });
      expect(updated.updated_at >= created.updated_at).toBe(true);
      const [, r2] = await revisions(created.id);
      expect(r2).toMatchObject({ revision: 2, action: 'updated', at: updated.updated_at, before: created, after: updated });
      const [e2] = await outbox(EventTypes.HOST_UPDATED, created.id);
      expect(e2.data).toEqual({ host_id: created.id, hostname: 'w-1', changed_fields: ['team', 'notes'], before: created, after: updated });
      expect(await hosts.update(created.id, { notes: 'n' }, 2, ctx)).toEqual(updated); // no change, no revision

      await expect(hosts.delete(created.id, 1, ctx)).rejects.toMatchObject({ code: InventoryErrors.PRECONDITION_FAILED, meta: { current_version: 2 } });
      await hosts.delete(created.id, 2, ctx);
      const [, , r3] = await revisions(created.id);
      expect(r3).toMatchObject({ revision: 3, action: 'deleted', before: updated, after: null, source: 'api' });
      expect((r3.at as string) >= updated.updated_at).toBe(true);
      const [e3] = await outbox(EventTypes.HOST_DELETED, created.id);
      expect(e3.data).toEqual({ host_id: created.id, hostname: 'w-1', before: updated });
      await expect(hosts.delete(created.id, null, ctx)).rejects.toMatchObject({ code: InventoryErrors.HOST_NOT_FOUND });
      await expect(hosts.get(created.id)).rejects.toMatchObject({ code: InventoryErrors.HOST_NOT_FOUND });
    });
  });
});
