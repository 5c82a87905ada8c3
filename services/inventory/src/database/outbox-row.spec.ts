import { OutboxWriter } from '@opsdesk/messaging';
import { outboxInsertSql, outboxRow } from './outbox-row';

describe('outboxRow', () => {
  const writer = new OutboxWriter({ schema: 'inventory', source: 'inventory', subjectPrefix: 'test.opsdesk' });
  const event = { type: 'inventory.host.created', actor: null, request_id: 'r1', subject: { entity_type: 'host', entity_id: 'h1' }, data: { host_id: 'h1', after: null } };

  it("records the writer's row (envelope, subject, headers) without writing it", async () => {
    const row = await outboxRow(writer, event);
    expect(row.table).toBe('"inventory".outbox');
    const [id, subject, payload, headers] = row.params;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(subject).toBe('test.opsdesk.inventory.host.created');
    expect(JSON.parse(payload)).toMatchObject({ id, type: event.type, source: 'inventory', request_id: 'r1', subject: event.subject, data: event.data });
    expect(typeof JSON.parse(headers)).toBe('object');
  });

  it('renders it as INSERT … SELECT with its values appended and the payload expression applied', async () => {
    const row = await outboxRow(writer, event);
    const params: unknown[] = ['x'];
    const sql = outboxInsertSql(row, params, 'h', (p) => `jsonb_set(${p}, '{data,after}', h.v)`);
    expect(sql.replace(/\s+/g, ' ')).toBe(`INSERT INTO "inventory".outbox (id, subject, payload, headers) SELECT $2, $3, jsonb_set($4::jsonb, '{data,after}', h.v), $5::jsonb FROM h`);
    expect(params).toEqual(['x', ...row.params]);
  });

  it('fails loudly when the writer changes how it writes', async () => {
    const odd = { add: async (tx: { query(sql: string, p?: unknown[]): Promise<unknown> }) => tx.query('INSERT INTO x.outbox VALUES ($1)', ['a']) } as unknown as OutboxWriter;
    await expect(outboxRow(odd, event)).rejects.toThrow(/no longer writes one row/);
  });
});
