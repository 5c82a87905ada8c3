import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { ContextSigner, InternalTokenIssuer } from '@opsdesk/authn';
import { connectNats, ensureEventsStream, type NatsHandles } from '@opsdesk/messaging';
import { contextKeyEnv, natsIsolation, readStream, TEST_JWT_SECRET, TEST_NATS_URL, testNatsAdminCredentials, waitFor } from '@opsdesk/testing';
import { loadGatewayConfig } from '../src/config/gateway.config';
import { InternalProxy } from '../src/common/internal-proxy';
import type { AuthedRequest } from '../src/common/request-context';
import { GatewayEventPublisher } from '../src/events/gateway-event.publisher';
import { SecurityEventReporter } from '../src/events/security-event-reporter';

/**
 * The proxy that streams bodies to internal HTTP ports: a service's own 403 (its defence in depth behind the
 * gateway's RBAC) is a denied request like any other, so it must reach the audit trail as
 * gateway.request.denied. Real upstream HTTP server, real Fastify, real publisher on real JetStream.
 */
describe('InternalProxy (real HTTP upstream, real JetStream)', () => {
  const iso = natsIsolation('proxy');
  let nats: NatsHandles;
  let upstream: Server;
  let app: FastifyInstance;
  let publisher: GatewayEventPublisher;
  let reporter: SecurityEventReporter;
  const seen: Array<{ authorization?: string }> = [];

  beforeAll(async () => {
    nats = await connectNats([TEST_NATS_URL], 'proxy-test', testNatsAdminCredentials());
    await ensureEventsStream(nats.jsm, { name: iso.EVENTS_STREAM, subjectPrefix: iso.EVENTS_SUBJECT_PREFIX });
    upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push({ authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => {
        const [status, body] = req.url?.startsWith('/internal/refuse') ? [403, { code: 'AUTH.FORBIDDEN', message: 'needs artifacts:download' }] : [200, { ok: true }];
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

    // the upstream stands in for artifacts: tokens are addressed to the service behind the base URL
    const keys = contextKeyEnv();
    const config = loadGatewayConfig({ ENVIRONMENT: 'test', JWT_SECRET: TEST_JWT_SECRET, NATS_URL: TEST_NATS_URL, DATABASE_URL: 'postgres://unused@127.0.0.1/unused', ARTIFACTS_URL: base, ...keys, ...iso });
    publisher = new GatewayEventPublisher(nats, config);
    reporter = new SecurityEventReporter(publisher, config);
    const proxy = new InternalProxy(new InternalTokenIssuer(new ContextSigner('gateway', config.GATEWAY_CONTEXT_PRIVATE_KEY)), config, reporter);
    app = Fastify();
    app.addHook('preHandler', async (req) => {
      (req as AuthedRequest).user = { kind: 'jwt', user_id: '6f1c1d1e-0000-4000-8000-000000000001', email: 'viewer@example.com', role: 'viewer' };
    });
    app.get('/api/x/:what', (req, reply) => proxy.forward(req as AuthedRequest, reply, base, `/internal/${(req.params as { what: string }).what}`));
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    await new Promise((r) => upstream.close(r));
    await publisher.beforeApplicationShutdown();
    await nats.jsm.streams.delete(iso.EVENTS_STREAM).catch(() => undefined);
    await nats.nc.close();
  });

  it('answers a service 403 as a problem and emits gateway.request.denied with the service code', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/x/refuse', headers: { 'user-agent': 'proxy-test' } });
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status: 403, code: 'AUTH.FORBIDDEN' });
    // the service was called with an internal identity token, not the client's credentials
    expect(seen.at(-1)?.authorization).toMatch(/^Internal /);

    const events = await waitFor(
      async () => {
        const all = await readStream(nats.jsm, iso.EVENTS_STREAM);
        return all.length > 0 ? all : null;
      },
      { what: 'denied event on the stream' },
    );
    expect(events).toHaveLength(1);
    expect(events[0].event).toMatchObject({
      type: 'gateway.request.denied',
      actor: { user_id: '6f1c1d1e-0000-4000-8000-000000000001', email: 'viewer@example.com', user_agent: 'proxy-test' },
      subject: { entity_type: 'route', entity_id: 'GET /api/x/:what' },
      data: { status: 403, code: 'AUTH.FORBIDDEN', role: 'viewer', path: '/api/x/refuse' },
    });
  });

  it('emits nothing for an answer that is not a 403', async () => {
    const before = (await readStream(nats.jsm, iso.EVENTS_STREAM)).length;
    const res = await app.inject({ method: 'GET', url: '/api/x/fine' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true });
    // a marker published after the request: once it is on the stream, anything the request emitted is too
    publisher.emit({ type: 'gateway.rate.limited', actor: null, request_id: 'marker', subject: { entity_type: 'route', entity_id: 'marker' }, data: {} });
    const after = await waitFor(
      async () => {
        const all = await readStream(nats.jsm, iso.EVENTS_STREAM);
        return all.some((e) => e.event.request_id === 'marker') ? all : null;
      },
      { what: 'marker on the stream' },
    );
    expect(after.slice(before).map((e) => e.event.type)).toEqual(['gateway.rate.limited']);
  });
});
