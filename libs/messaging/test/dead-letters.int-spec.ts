import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Client } from 'pg';
import { createServiceDataSource } from '@opsdesk/database';
import { metricsRegistry } from '@opsdesk/observability';
import { createTestDatabase, natsIsolation, testNatsAdminCredentials, TEST_NATS_URL, waitFor, type TestDatabase } from '@opsdesk/testing';
import type { EventEnvelope } from '@opsdesk/contracts';
import { connectNats, ensureEventsStream, type NatsHandles } from '../src/nats';
import { InboxConsumer } from '../src/inbox';
import { inboxFailuresSql, messagingTablesSql } from '../src/messaging-tables';
import { deadLetterResolutionsSql, PipelineMonitor, unresolvedDeadLetters } from '../src/dead-letters';
import { DeadLetterError, dismissDeadLetter, listDeadLetters, replayDeadLetter } from '../src/dead-letters-admin';
import { main as cli } from '../src/cli/dead-letters';

const SCHEMA = 'dltest';

function envelope(type: string): EventEnvelope {
  return {
    id: randomUUID(),
    type,
    version: 1,
    occurred_at: new Date().toISOString(),
    source: 'test',
    actor: null,
    request_id: null,
    subject: { entity_type: 'thing', entity_id: null },
    data: {},
  };
}

async function gaugeValue(name: string, consumer: string): Promise<number | undefined> {
  const m = await metricsRegistry.getSingleMetric(name)?.get();
  return m?.values.find((v) => v.labels.consumer === consumer)?.value;
}

/**
 * Dead letters end to end on real Postgres + JetStream: a handler that keeps failing dead-letters its event, the
 * unresolved gauge counts it, `replay` runs it through the consumer again once the cause is fixed (and only then
 * marks it replayed), `dismiss` resolves without running, and the CLI lists and refuses what it must.
 */
describe('dead letters: unresolved gauge, replay and dismiss (real Postgres + JetStream)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let pg: Client;
  let nats: NatsHandles;
  let consumer: InboxConsumer;
  let monitor: PipelineMonitor;
  let broken = true;
  const iso = natsIsolation('deadl');

  beforeAll(async () => {
    db = await createTestDatabase('deadl');
    ds = createServiceDataSource({ url: db.url, schema: SCHEMA, poolSize: 4, maxOverflow: 0 });
    await ds.initialize();
    await ds.query(`CREATE SCHEMA ${SCHEMA}`);
    for (const sql of [...messagingTablesSql(SCHEMA), ...inboxFailuresSql(SCHEMA), ...deadLetterResolutionsSql(SCHEMA)]) await ds.query(sql);
    await ds.query(`CREATE TABLE ${SCHEMA}.effects (event_id uuid)`);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    nats = await connectNats([TEST_NATS_URL], 'dead-letters-test', testNatsAdminCredentials());
    await ensureEventsStream(nats.jsm, { name: iso.EVENTS_STREAM, subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
    consumer = new InboxConsumer(
      nats,
      ds,
      async (e, m) => {
        if (broken) throw new Error('handler bug: cannot handle this yet');
        await m.query(`INSERT INTO ${SCHEMA}.effects VALUES ($1)`, [e.id]);
      },
      { durable: 'dl-worker', stream: iso.EVENTS_STREAM, filterSubject: `${iso.EVENTS_SUBJECT_PREFIX}.>`, schema: SCHEMA, maxDeliver: 2, ackWaitMs: 2000 },
    );
    await consumer.start();
    monitor = new PipelineMonitor(ds, nats, { schema: SCHEMA, stream: iso.EVENTS_STREAM, consumers: () => ['dl-worker'], intervalMs: 60_000 });
    await monitor.start();
  });

  afterAll(async () => {
    monitor?.stop();
    await consumer?.stop();
    await nats.jsm.streams.delete(iso.EVENTS_STREAM).catch(() => undefined);
    await nats.nc.close();
    await pg.end();
    await ds.destroy();
    await db.drop();
  });

  const publish = (e: EventEnvelope, raw?: string) => nats.js.publish(`${iso.EVENTS_SUBJECT_PREFIX}.${e.type}`, Buffer.from(raw ?? JSON.stringify(e)), { msgID: randomUUID() });
  const letterOf = async (eventId: string) =>
    waitFor(async () => (await listDeadLetters(pg, SCHEMA, { all: true })).find((l) => l.event_id === eventId), { timeoutMs: 30_000, what: `dead letter of ${eventId}` });

  it('counts an unresolved letter until it is replayed, and replays through the consumer only once the cause is fixed', async () => {
    expect(await gaugeValue('opsdesk_dead_letters_unresolved', 'dl-worker')).toBe(0);
    const e = envelope('thing.made');
    await publish(e);
    const letter = await letterOf(e.id);
    expect(letter).toMatchObject({ consumer: 'dl-worker', reason: 'max_deliver', resolution: null });
    await monitor.refresh();
    expect(await gaugeValue('opsdesk_dead_letters_unresolved', 'dl-worker')).toBe(1);

    // still broken: the replayed copy fails again, the letter stays unresolved
    const stillBroken = await replayDeadLetter(pg, nats.js, SCHEMA, letter.id, { waitMs: 3000 });
    expect(stillBroken.outcome).toBe('pending');
    expect((await unresolvedDeadLetters(pg, SCHEMA)).get('dl-worker')).toBe(1);

    broken = false;
    const fixed = await replayDeadLetter(pg, nats.js, SCHEMA, letter.id, { waitMs: 20_000 });
    expect(fixed.outcome).toBe('handled');
    expect((await pg.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.effects WHERE event_id = $1`, [e.id])).rows[0].n).toBe(1);
    expect(await listDeadLetters(pg, SCHEMA, { id: letter.id })).toEqual([expect.objectContaining({ resolution: 'replayed' })]);
    await monitor.refresh();
    expect(await gaugeValue('opsdesk_dead_letters_unresolved', 'dl-worker')).toBe(0);
    // a resolved letter cannot be resolved again
    await expect(dismissDeadLetter(pg, SCHEMA, letter.id, 'again')).rejects.toThrow(DeadLetterError);
  }, 60_000);

  it('dismisses an invalid message (never replayable) with a note, through the CLI', async () => {
    const e = envelope('thing.broken');
    await publish(e, '{ not json');
    const letter = await waitFor(async () => (await listDeadLetters(pg, SCHEMA)).find((l) => l.reason === 'invalid'), { timeoutMs: 30_000, what: 'invalid letter' });
    await expect(replayDeadLetter(pg, nats.js, SCHEMA, letter.id)).rejects.toThrow(/cannot be handled, dismiss it/);

    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => out.push(String(s)) > 0);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => out.push(String(s)) > 0);
    const prev = process.env.DATABASE_URL;
    process.env.DATABASE_URL = db.url;
    try {
      expect(await cli(['list', '--schema', SCHEMA])).toBe(0);
      expect(out.join('')).toContain(`${SCHEMA} #${letter.id}  UNRESOLVED`);
      expect(await cli(['dismiss', letter.id, '--schema', SCHEMA])).toBe(2); // no note
      expect(await cli(['dismiss', letter.id, '--schema', SCHEMA, '--note', 'foreign publisher, fixed'])).toBe(0);
      out.length = 0;
      expect(await cli(['list', '--schema', SCHEMA])).toBe(0);
      expect(out.join('')).toBe('no dead letters\n');
      expect(await cli(['bogus'])).toBe(2);
    } finally {
      process.env.DATABASE_URL = prev;
      write.mockRestore();
      err.mockRestore();
    }
    expect(await listDeadLetters(pg, SCHEMA, { id: letter.id })).toEqual([expect.objectContaining({ resolution: 'dismissed', note: 'foreign publisher, fixed' })]);
  }, 60_000);
});
