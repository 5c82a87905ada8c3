import { headers as natsHeaders, type JetStreamClient } from 'nats';
import { queryRows, type SqlQuery } from './dead-letters';

/** One dead letter as `npm run dead-letters -- list` shows it. */
export interface DeadLetterRow {
  schema: string;
  id: string;
  consumer: string;
  event_id: string | null;
  subject: string;
  stream_seq: string | null;
  reason: string;
  error: string;
  deliveries: number;
  failed_at: Date;
  resolution: string | null;
  resolved_at: Date | null;
  note: string | null;
}

// the service schema names (libs/database SCHEMA_NAME_RE); validated because they are spliced into SQL
const SCHEMA_RE = /^[a-z_][a-z0-9_]*$/;

function ident(schema: string): string {
  if (!SCHEMA_RE.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  return `"${schema}"`;
}

/** Schemas with a dead_letters table this login may read (a service login sees only its own). */
export async function deadLetterSchemas(db: SqlQuery): Promise<string[]> {
  const rows = await queryRows<{ s: string }>(
    db,
    `SELECT table_schema AS s FROM information_schema.tables
      WHERE table_name = 'dead_letters' AND has_table_privilege(quote_ident(table_schema) || '.dead_letters', 'SELECT')
      ORDER BY 1`,
  );
  return rows.map((r) => r.s);
}

async function hasResolutions(db: SqlQuery, schema: string): Promise<boolean> {
  const [{ has }] = await queryRows<{ has: boolean }>(db, `SELECT to_regclass($1) IS NOT NULL AS has`, [`${ident(schema)}.dead_letter_resolutions`]);
  return has;
}

export async function listDeadLetters(db: SqlQuery, schema: string, opts: { all?: boolean; id?: string } = {}): Promise<DeadLetterRow[]> {
  const s = ident(schema);
  const resolved = await hasResolutions(db, schema);
  const join = resolved ? `LEFT JOIN ${s}.dead_letter_resolutions r ON r.dead_letter_id = d.id` : '';
  const cols = resolved ? 'r.action AS resolution, r.resolved_at, r.note' : 'NULL::text AS resolution, NULL::timestamptz AS resolved_at, NULL::text AS note';
  const where = [opts.all || opts.id ? null : resolved ? 'r.id IS NULL' : null, opts.id ? 'd.id = $1::bigint' : null].filter(Boolean);
  return queryRows<DeadLetterRow>(
    db,
    `SELECT $${opts.id ? 2 : 1}::text AS schema, d.id::text AS id, d.consumer, d.event_id, d.subject, d.stream_seq::text AS stream_seq, d.reason, d.error,
            d.deliveries, d.failed_at, ${cols}
       FROM ${s}.dead_letters d ${join}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY d.id`,
    opts.id ? [opts.id, schema] : [schema],
  );
}

export class DeadLetterError extends Error {}

async function oneLetter(db: SqlQuery, schema: string, id: string): Promise<DeadLetterRow> {
  if (!/^\d+$/.test(id)) throw new DeadLetterError(`dead letter id must be a number: ${id}`);
  const [row] = await listDeadLetters(db, schema, { id });
  if (!row) throw new DeadLetterError(`no dead letter ${id} in schema ${schema}`);
  if (row.resolution) throw new DeadLetterError(`dead letter ${id} was already ${row.resolution} at ${new Date(row.resolved_at as Date).toISOString()}`);
  if (!(await hasResolutions(db, schema))) {
    throw new DeadLetterError(`${schema}.dead_letter_resolutions does not exist yet: run the service's migrations (npm run migrate)`);
  }
  return row;
}

async function resolve(db: SqlQuery, schema: string, id: string, action: 'replayed' | 'dismissed', note: string): Promise<void> {
  // the unique index makes a concurrent second resolution fail instead of double-resolving
  await db.query(`INSERT INTO ${ident(schema)}.dead_letter_resolutions (dead_letter_id, action, note) VALUES ($1::bigint, $2, $3)`, [id, action, note]);
}

/** Marks a letter as dealt with without running it (its effect is not wanted, or was done by hand). */
export async function dismissDeadLetter(db: SqlQuery, schema: string, id: string, note: string): Promise<DeadLetterRow> {
  if (!note.trim()) throw new DeadLetterError('dismiss needs a note saying why (--note "...")');
  const row = await oneLetter(db, schema, id);
  await resolve(db, schema, id, 'dismissed', note.trim());
  return row;
}

export interface ReplayResult {
  letter: DeadLetterRow;
  /** handled: the consumer's inbox has the event now; pending: not within the wait (still failing?) */
  outcome: 'handled' | 'already_handled' | 'pending';
}

/**
 * Runs a letter's event through its consumer again, in the consumer service itself: the stored message is
 * published again on its subject (new message id, so JetStream's duplicate window does not drop it), the
 * consumer's handler runs as for any delivery, and the letter counts as replayed once the consumer's inbox
 * holds the event id (same transaction as the handler's effects). Other consumers of the subject ignore the
 * copy: their inbox already has the id. An `invalid` letter cannot be replayed (it would fail parsing again).
 */
export async function replayDeadLetter(
  db: SqlQuery,
  js: JetStreamClient,
  schema: string,
  id: string,
  opts: { waitMs?: number; pollMs?: number; note?: string } = {},
): Promise<ReplayResult> {
  const letter = await oneLetter(db, schema, id);
  if (letter.reason === 'invalid' || !letter.event_id) {
    throw new DeadLetterError(`dead letter ${id} is an invalid message (${letter.error}); it cannot be handled, dismiss it instead`);
  }
  const s = ident(schema);
  const handled = async () =>
    (await queryRows(db, `SELECT 1 FROM ${s}.inbox WHERE consumer = $1 AND event_id = $2::uuid`, [letter.consumer, letter.event_id])).length > 0;
  if (await handled()) {
    await resolve(db, schema, id, 'replayed', opts.note ?? 'already handled before the replay');
    return { letter, outcome: 'already_handled' };
  }
  const [{ payload }] = await queryRows<{ payload: string }>(db, `SELECT payload FROM ${s}.dead_letters WHERE id = $1::bigint`, [id]);
  const h = natsHeaders();
  h.set('opsdesk-replay-of', `${schema}.dead_letters/${id}`);
  await js.publish(letter.subject, Buffer.from(payload, 'utf8'), { msgID: `replay-${schema}-${id}-${Date.now()}`, headers: h });
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  while (Date.now() < deadline) {
    if (await handled()) {
      await resolve(db, schema, id, 'replayed', opts.note ?? '');
      return { letter, outcome: 'handled' };
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
  return { letter, outcome: 'pending' };
}
