import { Body, Controller, Get, Module, Post } from '@nestjs/common';
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

  // an HTTP route: its trace context and request id (what its log lines and outgoing messages carry)
  @Get('probe/http-trace')
  httpTrace() {
    return { trace_id: currentTraceId(), request_id: currentRequestId() };
  }

  // the same after a body was read (the body arrives on the socket's callbacks, outside what onRequest entered)
  @Post('probe/http-trace')
  httpTraceWithBody(@Body() body: { pad: string }) {
    return { trace_id: currentTraceId(), request_id: currentRequestId(), got: body.pad.length };
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

  it('runs every HTTP request in its trace context and request id, with no exporter and no HTTP instrumentation', async () => {
    const server = app.getHttpServer();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
    // the caller's trace is continued
    const got = await request(server).get('/probe/http-trace').set('traceparent', traceparent).set('x-request-id', 'req-http-1').expect(200);
    expect(got.body).toEqual({ trace_id: traceId, request_id: 'req-http-1' });
    // also in a handler that runs after a body was read (a large one: several socket reads)
    const pad = 'x'.repeat(200_000);
    const posted = await request(server).post('/probe/http-trace').set('traceparent', traceparent).set('x-request-id', 'req-http-2').send({ pad }).expect(201);
    expect(posted.body).toEqual({ trace_id: traceId, request_id: 'req-http-2', got: pad.length });
    // without a traceparent every request starts a trace of its own
    const a = await request(server).get('/probe/http-trace').expect(200);
    const b = await request(server).post('/probe/http-trace').send({ pad: 'y' }).expect(201);
    expect(a.body.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(b.body.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.body.trace_id).not.toBe(b.body.trace_id);
    expect(a.body.trace_id).not.toBe(traceId);
    // concurrent requests keep their own contexts
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const id = `${String(i).padStart(2, '0')}${traceId.slice(2)}`;
        const r = i % 2 ? request(server).post('/probe/http-trace').send({ pad: 'z'.repeat(50_000) }) : request(server).get('/probe/http-trace');
        return r.set('traceparent', `00-${id}-00f067aa0ba902b7-01`).set('x-request-id', `req-c-${i}`).then((res) => ({ i, id, body: res.body as { trace_id: string; request_id: string } }));
      }),
    );
    for (const m of many) expect(m.body).toMatchObject({ trace_id: m.id, request_id: `req-c-${m.i}` });
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
