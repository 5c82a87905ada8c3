import { DataSource } from 'typeorm';
import { connect } from 'nats';
import { createServiceDataSource } from '@opsdesk/database';
import { createTestDatabase, natsIsolation, startOwnNatsServer, testNatsAdmin, testNatsAdminCredentials, TEST_NATS_URL, waitFor, type OwnNatsServer, type TestDatabase } from '@opsdesk/testing';
import { connectNats, ensureEventsStream, type NatsHandles } from '../src/nats';
import { OutboxRelay, OutboxWriter } from '../src/outbox';
import { messagingTablesSql } from '../src/messaging-tables';
import { readStream } from '@opsdesk/testing';
import { Metrics } from '@opsdesk/observability';

const SCHEMA = 'msgtest';

async function setupDb(label: string): Promise<{ db: TestDatabase; ds: DataSource }> {
  const db = await createTestDatabase(label);
  const ds = createServiceDataSource({ url: db.url, schema: SCHEMA, poolSize: 4, maxOverflow: 0 });
  await ds.initialize();
  await ds.query(`CREATE SCHEMA ${SCHEMA}`);
  for (const sql of messagingTablesSql(SCHEMA)) await ds.query(sql);
  return { db, ds };
}

async function writeEvents(ds: DataSource, writer: OutboxWriter, n: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    await ds.transaction(async (m) => {
      const [e] = await writer.add(m, {
        type: 'test.thing.happened',
        actor: null,
        request_id: `${tag}-${i}`,
        subject: { entity_type: 'thing', entity_id: String(i) },
        data: { i, tag },
      });
      ids.push(e.id);
    });
  }
  return ids;
}

async function unpublished(ds: DataSource): Promise<number> {
  const [r] = await ds.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.outbox WHERE published_at IS NULL`);
  return r.n;
}

function expectExactlyOnce(stream: Awaited<ReturnType<typeof readStream>>, ids: string[]): void {
  const seen = stream.map((m) => m.event.id);
  expect(new Set(seen).size).toBe(seen.length); // no duplicates in the stream
  expect([...seen].sort()).toEqual([...ids].sort()); // nothing lost
  for (const m of stream) expect(m.msgId).toBe(m.event.id); // Nats-Msg-Id = event id
}

describe('transactional outbox relay (real Postgres + JetStream)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let nats: NatsHandles;
  const iso = natsIsolation('outbox');
  let writer: OutboxWriter;

  beforeAll(async () => {
    ({ db, ds } = await setupDb('outbox'));
    nats = await connectNats([TEST_NATS_URL], 'outbox-test', testNatsAdminCredentials());
    await ensureEventsStream(nats.jsm, { name: iso.EVENTS_STREAM, subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
    writer = new OutboxWriter({ schema: SCHEMA, source: 'test', subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
  });

  afterAll(async () => {
    await nats.jsm.streams.delete(iso.EVENTS_STREAM).catch(() => undefined);
    await nats.nc.close();
    await ds.destroy();
    await db.drop();
  });

  beforeEach(async () => {
    await ds.query(`TRUNCATE ${SCHEMA}.outbox`);
    await nats.jsm.streams.purge(iso.EVENTS_STREAM);
  });

  it('publishes committed events in order, once, and never rolled-back ones', async () => {
    const ids = await writeEvents(ds, writer, 30, 'order');
    await ds
      .transaction(async (m) => {
        await writer.add(m, { type: 'test.thing.rolled_back', actor: null, request_id: null, subject: { entity_type: 'thing', entity_id: null }, data: {} });
        throw new Error('rollback');
      })
      .catch(() => undefined);
    const relay = new OutboxRelay(ds, nats.js, { schema: SCHEMA, pollIntervalMs: 100 });
    await relay.start();
    try {
      await waitFor(async () => (await unpublished(ds)) === 0, { what: 'outbox drained' });
      const stream = await readStream(nats.jsm, iso.EVENTS_STREAM);
      expectExactlyOnce(stream, ids);
      expect(stream.map((m) => m.event.data.i)).toEqual([...Array(30).keys()]);
      expect(stream[0].subject).toBe(`${iso.EVENTS_SUBJECT_PREFIX}.test.thing.happened`);
    } finally {
      await relay.stop();
    }
  });

  it('a relay killed between publish and marking republishes, and JetStream keeps exactly one copy', async () => {
    const ids = await writeEvents(ds, writer, 12, 'crash');
    let published = 0;
    // The "crash": after the 5th publish the relay dies before marking; its transaction rolls back, as
    // it would if the process were killed (the marks live in the same uncommitted transaction).
    const crashing = new OutboxRelay(ds, nats.js, {
      schema: SCHEMA,
      pollIntervalMs: 60_000,
      afterPublish: () => {
        published++;
        if (published === 5) throw new Error('killed between publish and mark');
      },
    });
    await expect(crashing.runOnce()).rejects.toThrow(/killed between publish and mark/);
    expect(await unpublished(ds)).toBe(12); // nothing was marked
    // but the batch is pipelined (every row sent before the acks are looked at): all 12 reached the stream
    expect((await readStream(nats.jsm, iso.EVENTS_STREAM)).length).toBe(12);

    const recovered = new OutboxRelay(ds, nats.js, { schema: SCHEMA, pollIntervalMs: 100 });
    await recovered.start();
    try {
      await waitFor(async () => (await unpublished(ds)) === 0, { what: 'outbox drained after the crash' });
      expectExactlyOnce(await readStream(nats.jsm, iso.EVENTS_STREAM), ids);
    } finally {
      await recovered.stop();
    }
  });

  it('publishes a whole batch in one pass (pipelined), in seq order', async () => {
    const ids = await writeEvents(ds, writer, 300, 'batch');
    const relay = new OutboxRelay(ds, nats.js, { schema: SCHEMA, pollIntervalMs: 60_000 });
    expect(await relay.runOnce()).toBe(300);
    expect(await unpublished(ds)).toBe(0);
    const stream = await readStream(nats.jsm, iso.EVENTS_STREAM);
    expectExactlyOnce(stream, ids);
    expect(stream.map((m) => m.event.data.i)).toEqual([...Array(300).keys()]);
  });

  it('completes a batch a killed relay had partly published: the rest in seq order, one copy of each', async () => {
    const ids = await writeEvents(ds, writer, 50, 'partial');
    // What JetStream holds after a relay died mid-batch (kill -9: nothing marked): the rows it had sent, with
    // their Nats-Msg-Id, published here exactly as the relay publishes them (a prefix and two later rows).
    const rows: Array<{ id: string; subject: string; payload: { data: { i: number } } }> = await ds.query(`SELECT id, subject, payload FROM ${SCHEMA}.outbox ORDER BY seq`);
    const sentBeforeTheKill = [...Array(10).keys(), 20, 33];
    for (const i of sentBeforeTheKill) await nats.js.publish(rows[i].subject, Buffer.from(JSON.stringify(rows[i].payload)), { msgID: rows[i].id });
    expect(await unpublished(ds)).toBe(50);

    const relay = new OutboxRelay(ds, nats.js, { schema: SCHEMA, pollIntervalMs: 60_000 });
    expect(await relay.runOnce()).toBe(50);
    expect(await unpublished(ds)).toBe(0);
    const stream = await readStream(nats.jsm, iso.EVENTS_STREAM);
    expectExactlyOnce(stream, ids);
    // the copies sent again were dropped by msgID; everything else followed in seq order
    const rest = [...Array(50).keys()].filter((i) => !sentBeforeTheKill.includes(i));
    expect(stream.map((m) => m.event.data.i)).toEqual([...sentBeforeTheKill, ...rest]);
  });

  it('two relays (replicas) drain one outbox without duplicates', async () => {
    const ids = await writeEvents(ds, writer, 40, 'replicas');
    const a = new OutboxRelay(ds, nats.js, { schema: SCHEMA, pollIntervalMs: 50, batchSize: 7 });
    const b = new OutboxRelay(ds, nats.js, { schema: SCHEMA, pollIntervalMs: 50, batchSize: 7 });
    await Promise.all([a.start(), b.start()]);
    try {
      await waitFor(async () => (await unpublished(ds)) === 0, { what: 'outbox drained by two relays' });
      const stream = await readStream(nats.jsm, iso.EVENTS_STREAM);
      expectExactlyOnce(stream, ids);
      // the advisory lock serialises batches, so seq order is kept even with two replicas
      expect(stream.map((m) => m.event.data.i)).toEqual([...Array(40).keys()]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('wakes on NOTIFY without waiting for the polling interval', async () => {
    const relay = new OutboxRelay(ds, nats.js, { schema: SCHEMA, pollIntervalMs: 600_000 });
    await relay.start();
    try {
      await waitFor(async () => (await unpublished(ds)) === 0);
      const ids = await writeEvents(ds, writer, 3, 'notify');
      await waitFor(async () => (await readStream(nats.jsm, iso.EVENTS_STREAM)).length === 3, { timeoutMs: 5000, what: 'NOTIFY-driven publish' });
      expectExactlyOnce(await readStream(nats.jsm, iso.EVENTS_STREAM), ids);
    } finally {
      await relay.stop();
    }
  });
});

describe('outbox while NATS is down (own nats-server)', () => {
  let server: OwnNatsServer;
  let db: TestDatabase;
  let ds: DataSource;
  let nats: NatsHandles;
  const iso = natsIsolation('natsdown');

  beforeAll(async () => {
    server = await startOwnNatsServer();
    ({ db, ds } = await setupDb('natsdown'));
    nats = await connectNats([server.url], 'natsdown-test', testNatsAdminCredentials());
    await ensureEventsStream(nats.jsm, { name: iso.EVENTS_STREAM, subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
  });

  afterAll(async () => {
    await nats.nc.close().catch(() => undefined);
    await ds.destroy();
    await db.drop();
    await server.cleanup();
  });

  it('keeps events in the outbox while NATS is down, then publishes each exactly once', async () => {
    const writer = new OutboxWriter({ schema: SCHEMA, source: 'test', subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
    const relay = new OutboxRelay(ds, nats.js, { schema: SCHEMA, pollIntervalMs: 100, publishTimeoutMs: 500 });
    await relay.start();
    try {
      const before = await writeEvents(ds, writer, 5, 'up');
      await waitFor(async () => (await unpublished(ds)) === 0, { what: 'first events published' });

      await server.stop();
      const during = await writeEvents(ds, writer, 20, 'down');
      // The relay keeps failing while the broker is away; the events wait, none is lost or marked.
      await waitFor(async () => (await ds.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.outbox WHERE published_at IS NULL`))[0].n === 20, {
        what: 'events waiting in the outbox',
      });
      // the relay really tried (and failed) while the broker was down
      const failuresNow = async () => (await Metrics.outboxPublishFailures().get()).values.reduce((a, v) => a + v.value, 0);
      const f0 = await failuresNow();
      await waitFor(async () => (await failuresNow()) >= f0 + 2, { timeoutMs: 15_000, what: 'failed publish attempts' });
      expect(await unpublished(ds)).toBe(20);

      await server.start();
      await waitFor(async () => (await unpublished(ds)) === 0, { timeoutMs: 30_000, what: 'backlog drained after NATS came back' });
      const check = await connect({ servers: server.url, ...testNatsAdmin() });
      try {
        const jsm = await check.jetstreamManager();
        expectExactlyOnce(await readStream(jsm, iso.EVENTS_STREAM), [...before, ...during]);
      } finally {
        await check.close();
      }
    } finally {
      await relay.stop();
    }
  });
});
