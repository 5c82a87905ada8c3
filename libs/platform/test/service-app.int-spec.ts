import { Controller, Module } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { z } from 'zod';
import { ContextSigner, ContextVerifier, Public, generateContextKeyPair, rpcContextSigner } from '@opsdesk/authn';
import { AppError, type EventEnvelope } from '@opsdesk/contracts';
import { createServiceDataSource } from '@opsdesk/database';
import {
  InboxConsumer,
  OutboxRelay,
  OutboxWriter,
  RpcCallError,
  RpcClient,
  connectNats,
  ensureEventsStream,
  messagingTablesSql,
  parseRpcData,
} from '@opsdesk/messaging';
import { HealthModule, SpanKind, currentRequestId, currentTraceId, startTracing, withSpan } from '@opsdesk/observability';
import { createTestDatabase, natsIsolation, testNatsAdminCredentials, TEST_NATS_URL, waitFor } from '@opsdesk/testing';
import { createServiceApp } from '../src/service-app';

// probes run without a user (a null principal): public, yet still only with a context signed by the test's gateway key
@Controller()
class ProbeController {
  @Public()
  @MessagePattern('probe.trace')
  trace(@Payload() payload: { data: unknown }) {
    const data = parseRpcData(z.object({ n: z.number().int() }), payload.data);
    return { n: data.n, trace_id: currentTraceId(), request_id: currentRequestId() };
  }

  @Public()
  @MessagePattern('probe.fail')
  fail(@Payload() payload: { data: { kind: string } }) {
    if (payload.data.kind === 'app') throw new AppError('PROBE.NOT_FOUND', 'no such probe', [{ field: 'id', message: 'unknown' }]);
    throw new Error('database password is hunter2');
  }
}

@Module({
  imports: [HealthModule.forRoot({ useFactory: () => [{ name: 'always', check: async () => true }] })],
  controllers: [ProbeController],
})
class ProbeModule {}

describe('service app: RPC, errors, tracing across NATS (real NATS)', () => {
  const iso = natsIsolation('platform');
  let app: NestFastifyApplication;
  let rpc: RpcClient;
  const gatewayKey = generateContextKeyPair();

  beforeAll(async () => {
    startTracing('platform-test'); // registers a real tracer provider and the W3C propagator
    app = await createServiceApp({
      service: 'probe',
      module: ProbeModule,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'error',
      logger: false,
      rpc: {
        servers: [TEST_NATS_URL],
        subjectPrefix: iso.RPC_SUBJECT_PREFIX,
        trust: { verifier: ContextVerifier.fromPublicKeys({ gateway: gatewayKey.publicKey }) },
        credentials: testNatsAdminCredentials(),
      },
    });
    rpc = new RpcClient({
      servers: [TEST_NATS_URL],
      subjectPrefix: iso.RPC_SUBJECT_PREFIX,
      timeoutMs: 5000,
      name: 'probe-client',
      signContext: rpcContextSigner(new ContextSigner('gateway', gatewayKey.privateKey)),
      credentials: testNatsAdminCredentials(),
    });
    await rpc.connect();
  });

  afterAll(async () => {
    await rpc?.onModuleDestroy();
    await app?.close();
  });

  it('continues the caller trace and request id on the server side', async () => {
    const { clientTrace, reply } = await withSpan('client op', SpanKind.INTERNAL, {}, async () => {
      const r = await rpc.callUnchecked('probe.trace', { n: 7 }, { actor: null, request_id: 'req-trace-1' });
      return { clientTrace: currentTraceId(), reply: r };
    });
    expect(clientTrace).toMatch(/^[0-9a-f]{32}$/);
    expect(reply).toEqual({ n: 7, trace_id: clientTrace, request_id: 'req-trace-1' });
  });

  it('returns coded errors, field errors for bad payloads, and never leaks internal messages', async () => {
    const ctx = { actor: null, request_id: null };
    const appErr = await rpc.callUnchecked('probe.fail', { kind: 'app' }, ctx).catch((e: unknown) => e);
    expect(appErr).toBeInstanceOf(RpcCallError);
    expect((appErr as RpcCallError).payload).toEqual({ code: 'PROBE.NOT_FOUND', message: 'no such probe', errors: [{ field: 'id', message: 'unknown' }] });
    const invalid = (await rpc.callUnchecked('probe.trace', { n: 'x' }, ctx).catch((e: unknown) => e)) as RpcCallError;
    expect(invalid.code).toBe('COMMON.VALIDATION_FAILED');
    expect(invalid.payload.errors?.[0].field).toBe('n');
    const internal = (await rpc.callUnchecked('probe.fail', { kind: 'boom' }, ctx).catch((e: unknown) => e)) as RpcCallError;
    expect(internal.payload).toEqual({ code: 'COMMON.INTERNAL', message: 'Internal error' });
    const nobody = (await rpc.callUnchecked('probe.nobody', {}, ctx, 1000).catch((e: unknown) => e)) as RpcCallError;
    expect(['GATEWAY.UPSTREAM_UNAVAILABLE', 'GATEWAY.UPSTREAM_TIMEOUT']).toContain(nobody.code);
  });

  it('refuses an unsigned call before the handler runs, and counts it', async () => {
    // on the broker (a NATS login that may send requests) but without the gateway's key
    const unsigned = new RpcClient({
      servers: [TEST_NATS_URL],
      subjectPrefix: iso.RPC_SUBJECT_PREFIX,
      timeoutMs: 5000,
      name: 'probe-outsider',
      credentials: testNatsAdminCredentials(),
    });
    await unsigned.connect();
    try {
      const refused = (await unsigned.callUnchecked('probe.fail', { kind: 'app' }, { actor: null, request_id: 'req-unsigned' }).catch((e: unknown) => e)) as RpcCallError;
      // PROBE.NOT_FOUND would mean the handler ran
      expect(refused.payload).toEqual({ code: 'COMMON.RPC_CONTEXT_INVALID', message: 'RPC refused: the caller context is missing or invalid' });
    } finally {
      await unsigned.onModuleDestroy();
    }
    const m = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(m.text).toMatch(/opsdesk_rpc_denied_total\{[^}]*pattern="probe\.fail"[^}]*reason="missing"[^}]*\} 1/);
  });

  it('serves /healthz, /readyz and /metrics on the internal port', async () => {
    const server = app.getHttpServer();
    await request(server).get('/healthz').expect(200, { status: 'ok' });
    await request(server).get('/readyz').expect(200);
    const m = await request(server).get('/metrics').expect(200);
    expect(m.text).toContain('opsdesk_rpc_duration_seconds');
  });

  it('carries the trace from the producing transaction through the outbox to the consumer', async () => {
    const db = await createTestDatabase('trace');
    const ds = createServiceDataSource({ url: db.url, schema: 'tr', poolSize: 3, maxOverflow: 0 });
    await ds.initialize();
    const nats = await connectNats([TEST_NATS_URL], 'trace-test', testNatsAdminCredentials());
    const relay = new OutboxRelay(ds, nats.js, { schema: 'tr', pollIntervalMs: 100 });
    let consumer: InboxConsumer | null = null;
    try {
      await ds.query('CREATE SCHEMA tr');
      for (const sql of messagingTablesSql('tr')) await ds.query(sql);
      await ensureEventsStream(nats.jsm, { name: iso.EVENTS_STREAM, subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
      const seen: Array<{ event: EventEnvelope; trace: string | null }> = [];
      consumer = new InboxConsumer(nats, ds, async (event) => {
        seen.push({ event, trace: currentTraceId() });
      }, { durable: 'trace', stream: iso.EVENTS_STREAM, filterSubject: `${iso.EVENTS_SUBJECT_PREFIX}.>`, schema: 'tr' });
      await consumer.start();
      await relay.start();
      const writer = new OutboxWriter({ schema: 'tr', source: 'test', subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
      const producerTrace = await withSpan('produce', SpanKind.INTERNAL, {}, async () => {
        await ds.transaction((m) => writer.add(m, { type: 'test.traced', actor: null, request_id: null, subject: { entity_type: 't', entity_id: null }, data: {} }));
        return currentTraceId();
      });
      await waitFor(() => seen.length === 1, { what: 'consumed event' });
      expect(seen[0].trace).toBe(producerTrace);
    } finally {
      await consumer?.stop();
      await relay.stop();
      await nats.jsm.streams.delete(iso.EVENTS_STREAM).catch(() => undefined);
      await nats.nc.close();
      await ds.destroy();
      await db.drop();
    }
  });
});
