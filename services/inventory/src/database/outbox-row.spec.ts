import { OutboxWriter } from '@opsdesk/messaging';
import { outboxInsertSql, outboxRow } from './outbox-row';

describe('outboxRow', () => {
  const writer = new OutboxWriter({ schema: 'inventory', source: 'inventory', subjectPrefix: 'test.opsdesk' });
  const event = { type: 'inventory.host.created', actor: null, request_id: 'r1', subject: { entity_type: 'host', entity_id: 'h1' }, data: { host_id: 'h1', after: null } };

  it("takes the writer's row (envelope, subject, headers) without writing it", () => {
    const row = outboxRow(writer, event);
    expect(row.table).toBe('"inventory".outbox');
    const [id, subject, payload, headers] = row.params;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(subject).toBe('test.opsdesk.inventory.host.created');
    expect(JSON.parse(payload)).toMatchObject({ id, type: event.type, source: 'inventory', request_id: 'r1', subject: event.subject, data: event.data });
    expect(typeof JSON.parse(headers)).toBe('object');
  });

  it('renders it as INSERT … SELECT with its values appended and the payload expression applied', () => {
    const row = outboxRow(writer, event);
    const params: unknown[] = ['x'];
    const sql = outboxInsertSql(row, params, 'h', (p) => `jsonb_set(${p}, '{data,after}', h.v)`);
    expect(sql.replace(/\s+/g, ' ')).toBe(`INSERT INTO "inventory".outbox (id, subject, payload, headers) SELECT $2, $3, jsonb_set($4::jsonb, '{data,after}', h.v), $5::jsonb FROM h`);
    expect(params).toEqual(['x', ...row.params]);
  });
});
