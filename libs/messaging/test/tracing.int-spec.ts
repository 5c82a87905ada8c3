import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, type MicroserviceOptions } from '@nestjs/microservices';
import { context, propagation, trace, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createServiceDataSource } from '@opsdesk/database';
import { withSpan } from '@opsdesk/observability';
import { createTestDatabase, natsIsolation, testNatsAdminCredentials, TEST_NATS_URL, waitFor, type TestDatabase } from '@opsdesk/testing';
import { connectNats, ensureEventsStream, natsAuthOptions, type NatsHandles } from '../src/nats';
import { InboxConsumer } from '../src/inbox';
import { OutboxRelay, OutboxWriter } from '../src/outbox';
import { inboxFailuresSql, messagingTablesSql } from '../src/messaging-tables';
import { PrefixedNatsServer, RpcClient } from '../src/rpc';

/**
 * The spans the messaging library makes, with a real SDK (in-memory exporter), real Postgres and JetStream:
 * one request → RPC client → RPC server, and the outbox row it writes → publish → consumer, all in one trace
 * with the right parents and links, and no root span from the relay's polling or the consumer's lag reads.
 * (HTTP and SQL spans come from the SDK's instrumentations, which hook Node's module loader; jest has its own,
 * so they are not part of this test.)
 */
const SCHEMA = 'tracetest';

// PrefixedNatsServer continues the caller's trace for every request (no interceptor to register)
@Controller()
class PingController {
  @MessagePattern('inventory.hosts.summary')
  summary() {
    return withSpan('handler work', SpanKind.INTERNAL, {}, async () => ({ ok: true }));
  }
}
@Module({ controllers: [PingController] })
class PingModule {}

describe('trace propagation through RPC and the outbox (real SDK, NATS, Postgres)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const iso = natsIsolation('trace');
  let db: TestDatabase;
  let ds: DataSource;
  let nats: NatsHandles;
  let relay: OutboxRelay;
  let consumer: InboxConsumer;
  let rpc: RpcClient;
  let server: INestMicroservice;
  const handled: string[] = [];

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(contextManager);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    db = await createTestDatabase('trace');
    ds = createServiceDataSource({ url: db.url, schema: SCHEMA, poolSize: 4, maxOverflow: 0 });
    await ds.initialize();
    await ds.query(`CREATE SCHEMA ${SCHEMA}`);
    for (const sql of [...messagingTablesSql(SCHEMA), ...inboxFailuresSql(SCHEMA)]) await ds.query(sql);
    nats = await connectNats([TEST_NATS_URL], 'trace-test', testNatsAdminCredentials());
    await ensureEventsStream(nats.jsm, { name: iso.EVENTS_STREAM, subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
    relay = new OutboxRelay(ds, nats.js, { schema: SCHEMA, pollIntervalMs: 100 });
    await relay.start();
    consumer = new InboxConsumer(nats, ds, async (e) => void handled.push(e.id), {
      durable: 'trace-worker',
      stream: iso.EVENTS_STREAM,
      filterSubject: `${iso.EVENTS_SUBJECT_PREFIX}.>`,
      schema: SCHEMA,
    });
    await consumer.start();
    const strategy = new PrefixedNatsServer({ servers: [TEST_NATS_URL], queue: 'inventory', ...natsAuthOptions(testNatsAdminCredentials()) }, iso.RPC_SUBJECT_PREFIX);
    server = await NestFactory.createMicroservice<MicroserviceOptions>(PingModule, { strategy, logger: false });
    await server.listen();
    rpc = new RpcClient({ servers: [TEST_NATS_URL], subjectPrefix: iso.RPC_SUBJECT_PREFIX, timeoutMs: 10_000, name: 'trace-client', credentials: testNatsAdminCredentials() });
    await rpc.connect();
  });

  afterAll(async () => {
    await rpc?.onModuleDestroy();
    await server?.close();
    await consumer?.stop();
    await relay?.stop();
    await nats.jsm.streams.delete(iso.EVENTS_STREAM).catch(() => undefined);
    await nats.nc.close();
    await ds.destroy();
    await db.drop();
    await provider.shutdown();
    contextManager.disable();
  });

  it('one request: RPC client → server and outbox publish → consumer share its trace; polling makes no root spans', async () => {
    // the relay and the consumer have been polling since beforeAll: none of it is a span
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([]);
    const writer = new OutboxWriter({ schema: SCHEMA, source: 'inventory', subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
    let traceId = '';
    let requestSpanId = '';
    let eventId = '';
    await withSpan('POST /api/hosts', SpanKind.SERVER, {}, async (span) => {
      traceId = span.spanContext().traceId;
      requestSpanId = span.spanContext().spanId;
      await expect(rpc.call('inventory.hosts.summary', {}, { actor: null, request_id: randomUUID() })).resolves.toEqual({ ok: true });
      const [env] = await ds.transaction((m) =>
        writer.add(m, { type: 'inventory.host.created', actor: null, request_id: null, subject: { entity_type: 'host', entity_id: null }, data: {} }),
      );
      eventId = env.id;
    });
    await waitFor(async () => handled.includes(eventId), { timeoutMs: 20_000, what: 'the consumer handled the event' });
    // the relay polls every 100 ms and the consumer reads its lag every 5 s: give both time to (not) make spans
    await waitFor(async () => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.CONSUMER), { timeoutMs: 10_000, what: 'consumer span ended' });
    const spans = exporter.getFinishedSpans();
    const byKind = (k: SpanKind): ReadableSpan => {
      const found = spans.filter((s) => s.kind === k);
      expect({ kind: SpanKind[k], n: found.length }).toEqual({ kind: SpanKind[k], n: 1 });
      return found[0];
    };
    const client = byKind(SpanKind.CLIENT);
    const producer = byKind(SpanKind.PRODUCER);
    const consumerSpan = byKind(SpanKind.CONSUMER);
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER && s.name.startsWith('rpc ')) as ReadableSpan;
    expect(serverSpan).toBeDefined();
    for (const s of [client, serverSpan, producer, consumerSpan]) expect({ name: s.name, traceId: s.spanContext().traceId }).toEqual({ name: s.name, traceId });
    expect(client.parentSpanContext?.spanId).toBe(requestSpanId);
    expect(serverSpan.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    // the handler's own work is a child of the server span
    expect(spans.find((s) => s.name === 'handler work')?.parentSpanContext?.spanId).toBe(serverSpan.spanContext().spanId);
    // the publish span continues the request that wrote the row; the consumer continues and links the publish
    expect(producer.parentSpanContext?.spanId).toBe(requestSpanId);
    expect(producer.attributes['messaging.message.id']).toBe(eventId);
    expect(consumerSpan.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumerSpan.links.map((l) => l.context.spanId)).toEqual([producer.spanContext().spanId]);
    // the only root is the request itself
    expect(spans.filter((s) => !s.parentSpanContext).map((s) => s.name)).toEqual(['POST /api/hosts']);
  }, 60_000);
});
