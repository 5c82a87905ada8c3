import type { NewEvent } from '@opsdesk/contracts';
import type { OutboxWriter } from '@opsdesk/messaging';

/** One event's outbox row, built by OutboxWriter (envelope, subject, trace headers), not yet written. */
export interface OutboxRow {
  /** quoted table, e.g. "inventory".outbox */
  table: string;
  params: [id: string, subject: string, payload: string, headers: string];
}

/**
 * Lets a single statement write a change, its revision and its event together (one round trip, atomic without
 * BEGIN/COMMIT): the event carries what only that statement produces (the stored host view), which the statement
 * splices into the payload, so the row is taken from the writer unwritten.
 */
export function outboxRow(writer: OutboxWriter, event: NewEvent): OutboxRow {
  const { table, rows } = writer.rows([event]);
  return { table, params: rows[0].params };
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
