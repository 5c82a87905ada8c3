/**
 * Dead letters of the event consumers (docs/OPERATIONS.md, "Dead letters"):
 *   npm run dead-letters -- list [--schema <s>] [--all] [--json]
 *   npm run dead-letters -- replay <id> --schema <s> [--wait <seconds>] [--note <text>]
 *   npm run dead-letters -- dismiss <id> --schema <s> --note <why>
 * DATABASE_URL: a login that can read the schema's dead_letters and insert into dead_letter_resolutions
 * (the consumer service's own login is enough, audit's too). replay also needs NATS_URL and a NATS login
 * allowed to publish on the letter's subject (NATS_USER/NATS_PASSWORD: the producing service's or `provision`).
 * Exit status: 0 done, 1 the replayed event was not handled within --wait (the letter stays unresolved),
 * 2 usage or a refused operation.
 */
import { Client } from 'pg';
import { connect } from 'nats';
import { deadLetterSchemas, DeadLetterError, dismissDeadLetter, listDeadLetters, replayDeadLetter, type DeadLetterRow } from '../dead-letters-admin';

interface Args {
  command: string;
  positional: string[];
  flags: Map<string, string | true>;
}

function parseArgs(argv: string[]): Args {
  const [command = '', ...rest] = argv;
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    if (['all', 'json'].includes(name)) flags.set(name, true);
    else flags.set(name, rest[++i] ?? '');
  }
  return { command, positional, flags };
}

function flag(args: Args, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

function print(rows: DeadLetterRow[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('no dead letters\n');
    return;
  }
  for (const r of rows) {
    const state = r.resolution ? `${r.resolution} ${new Date(r.resolved_at as Date).toISOString()}${r.note ? ` (${r.note})` : ''}` : 'UNRESOLVED';
    process.stdout.write(
      `${r.schema} #${r.id}  ${state}\n  consumer ${r.consumer}  subject ${r.subject}  event ${r.event_id ?? '-'}  stream seq ${r.stream_seq ?? '-'}\n` +
        `  ${r.reason} after ${r.deliveries} deliveries at ${new Date(r.failed_at).toISOString()}: ${r.error.slice(0, 300)}\n`,
    );
  }
}

const USAGE = 'usage: dead-letters list [--schema s] [--all] [--json] | replay <id> --schema s [--wait seconds] [--note text] | dismiss <id> --schema s --note why';

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (!['list', 'replay', 'dismiss'].includes(args.command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is not set\n');
    return 2;
  }
  const db = new Client({ connectionString: url, application_name: 'opsdesk-dead-letters' });
  await db.connect();
  try {
    if (args.command === 'list') {
      const schema = flag(args, 'schema');
      const schemas = schema ? [schema] : await deadLetterSchemas(db);
      const rows: DeadLetterRow[] = [];
      for (const s of schemas) rows.push(...(await listDeadLetters(db, s, { all: args.flags.has('all') })));
      print(rows, args.flags.has('json'));
      return 0;
    }
    const [id] = args.positional;
    const schema = flag(args, 'schema');
    if (!id || !schema) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    if (args.command === 'dismiss') {
      const row = await dismissDeadLetter(db, schema, id, flag(args, 'note') ?? '');
      process.stdout.write(`dismissed ${schema} #${row.id} (${row.consumer}, ${row.subject})\n`);
      return 0;
    }
    const servers = (process.env.NATS_URL || 'nats://127.0.0.1:4222').split(',').map((s) => s.trim()).filter(Boolean);
    const nc = await connect({ servers, name: 'opsdesk-dead-letters', user: process.env.NATS_USER || undefined, pass: process.env.NATS_PASSWORD || undefined });
    try {
      const waitMs = Number(flag(args, 'wait') ?? 30) * 1000;
      const r = await replayDeadLetter(db, nc.jetstream(), schema, id, { waitMs, note: flag(args, 'note') });
      const what = `${schema} #${id} (${r.letter.consumer}, event ${r.letter.event_id})`;
      if (r.outcome === 'pending') {
        process.stdout.write(`replayed ${what}, but the consumer has not handled it within ${waitMs / 1000} s: it stays unresolved (see the consumer's logs)\n`);
        return 1;
      }
      process.stdout.write(`${r.outcome === 'handled' ? 'replayed and handled' : 'already handled, marked replayed'}: ${what}\n`);
      return 0;
    } finally {
      await nc.close();
    }
  } catch (err) {
    if (err instanceof DeadLetterError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    await db.end();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`dead-letters: ${err.message}\n`);
      process.exit(2);
    },
  );
}
