import type { NewEvent } from '@opsdesk/contracts';
import type { OutboxWriter } from '@opsdesk/messaging';

/** The one INSERT OutboxWriter issues for one event (what `outboxRow` relies on; outbox-row.spec.ts checks it). */
const WRITER_INSERT = /^INSERT INTO ("[^"]+"\.outbox) \(id, subject, payload, headers\) VALUES \(\$1, \$2, \$3::jsonb, \$4::jsonb\)$/;

/** One event's outbox row, built by OutboxWriter (envelope, subject, trace headers), not yet written. */
export interface OutboxRow {
  /** quoted table, e.g. "inventory".outbox */
  table: string;
  params: [id: string, subject: string, payload: string, headers: string];
}

/**
 * Lets a single statement write a change, its revision and its event together (one round trip, atomic without
 * BEGIN/COMMIT): the writer builds the row through its plain query interface, which records the statement here
 * instead of sending it. Needed because the event carries what only that statement produces (the stored host
 * view), which the statement splices into the payload. When libs/messaging exposes the row itself (envelope +
 * headers without the INSERT), this shrinks to a call of that.
 */
export async function outboxRow(writer: OutboxWriter, event: NewEvent): Promise<OutboxRow> {
  let recorded: { sql: string; params: unknown[] } | null = null;
  await writer.add(
    {
      query: async (sql: string, params: unknown[] = []) => {
        recorded = { sql: sql.replace(/\s+/g, ' ').trim(), params };
        return [];
      },
    },
    event,
  );
  const r = recorded as { sql: string; params: unknown[] } | null; // assigned in the callback above
  const m = r ? WRITER_INSERT.exec(r.sql) : null;
  if (!r || !m || r.params.length !== 4 || !r.params.every((p) => typeof p === 'string'))
    throw new Error(`OutboxWriter no longer writes one row as expected by inventory's outboxRow: ${r?.sql ?? 'no statement'}`);
  return { table: m[1], params: r.params as OutboxRow['params'] };
}

/**
 * `INSERT INTO <outbox> … SELECT … FROM <source>` for use as a CTE: `params` gets the row's values appended;
 * `payload` maps the payload parameter (an SQL expression over `$n::jsonb`) to splice in values of `source`.
 */
export function outboxInsertSql(row: OutboxRow, params: unknown[], source: string, payload: (p: string) => string = (p) => p): string {
  const at = params.length;
  params.push(...row.params);
  return `INSERT INTO ${row.table} (id, subject, payload, headers)
          SELECT $${at + 1}, $${at + 2}, ${payload(`$${at + 3}::jsonb`)}, $${at + 4}::jsonb FROM ${source}`;
}
