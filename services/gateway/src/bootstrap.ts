import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServiceApp } from '@opsdesk/platform';
import { SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { loadGatewayConfig, type GatewayConfig } from './config/gateway.config';
import { ProblemFilter } from './common/problem.filter';
import { registerConsole } from './console/console';
import { INTERNAL_ONLY_PATHS, UNPREFIXED_ROUTES, buildOpenApiDocument } from './common/openapi-document';
import { EDGE_TICKET_PATH } from './edge/edge.controller';
import { REDOC_PATH, registerRedoc } from './common/openapi-redoc';
import { problem } from './common/problem';
import { ErrorCodes, RETRY_AFTER_SECONDS } from '@opsdesk/contracts';

/** The deployment guide's headers (nginx sets them too; the gateway must be safe without nginx). */
const SECURITY_HEADERS: Record<string, string> = {
  'X-Frame-Options': 'SAMEORIGIN',
  'X-Content-Type-Options': 'nosniff',
  'X-XSS-Protection': '1; mode=block',
  'Referrer-Policy': 'no-referrer-when-downgrade',
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'self'; base-uri 'self'",
};

export interface GatewayBootOptions {
  quiet?: boolean;
}

/** Paths served only on the internal port (GATEWAY_INTERNAL_PORT): probes and Prometheus, never the public one. */
const INTERNAL_ONLY = INTERNAL_ONLY_PATHS;
/**
 * What the internal port serves: liveness, readiness and metrics, and the edge's artifact tickets (nginx asks there,
 * edge/edge.controller.ts); nothing else (no API, no console).
 */
const INTERNAL_PATHS = new Set(['/healthz', '/readyz', '/metrics', EDGE_TICKET_PATH]);
/** marks requests that arrived on the internal port (set by its own http server before routing) */
const VIA_INTERNAL = Symbol('opsdesk.gateway.internal');
type MaybeInternal = IncomingMessage & { [VIA_INTERNAL]?: true };

const internalServers = new WeakMap<NestFastifyApplication, Server>();

/** Base URL of a running gateway's internal port (probes, metrics). */
export function internalUrlOf(app: NestFastifyApplication): string {
  const addr = internalServers.get(app)?.address() as AddressInfo | null | undefined;
  if (!addr) throw new Error('the gateway has no internal port listening');
  return `http://127.0.0.1:${addr.port}`;
}

export async function bootstrapGateway(config: GatewayConfig, opts: GatewayBootOptions = {}): Promise<NestFastifyApplication> {
  // The internal port: the same routes (readiness checks the same NATS, revocations and keys), reached through
  // Fastify's router so hooks and handlers are the public port's; only probes and metrics are let through.
  let internal: Server | null = null;
  return createServiceApp({
    service: 'gateway',
    module: AppModule.forRoot(config),
    host: config.HOST,
    port: config.GATEWAY_PORT,
    logLevel: config.LOG_LEVEL,
    logger: opts.quiet ? false : undefined,
    // SIGTERM: stop accepting, finish in-flight requests, close the RPC client, exit 0 (in-process test stacks
    // close their apps themselves)
    handleSignals: !opts.quiet,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // JSON parsing is registered below (empty bodies allowed); Nest must not add its own parser.
    bodyParser: false,
    fastify: {
      // slow-loris on the headers: Node closes a connection whose headers are not complete in time (checked every
      // connectionsCheckingInterval); slow bodies are cut per route by InternalProxy (BODY_IDLE_TIMEOUT_SECONDS)
      http: { headersTimeout: config.HEADERS_TIMEOUT_SECONDS * 1000, connectionsCheckingInterval: Math.min(5_000, config.HEADERS_TIMEOUT_SECONDS * 500) },
      trustProxy: config.TRUST_PROXY,
      // while closing, requests on kept-alive connections get our problem document (onRequest below), not
      // Fastify's own plain-JSON 503 (found by the fault suite's SIGTERM run)
      return503OnClosing: false,
      // the original OpsDesk's clients send collection paths with a trailing slash (`/api/hosts/`): same route
      routerOptions: { ignoreTrailingSlash: true },
      // The router's own refusals (a malformed URL, a path parameter over maxParamLength) happen before any hook or
      // Nest filter: answer them as problem documents too (the security fuzzer found plain-JSON 414s).
      frameworkErrors: (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
        const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
        const status = tooLong ? 414 : 400;
        void reply
          .code(status)
          .header('X-Request-Id', String(req.id))
          .headers(SECURITY_HEADERS)
          .type('application/problem+json')
          .send(problem(status, tooLong ? ErrorCodes.URI_TOO_LONG : ErrorCodes.VALIDATION_FAILED, tooLong ? 'A path parameter is too long' : 'Malformed URL', String(req.id)));
      },
    },
    configure: async (app) => {
      const fastify = app.getHttpAdapter().getInstance();
      let closing = false;
      fastify.addHook('preClose', (done) => {
        closing = true;
        done();
      });
      // runs inside the request context createServiceApp opened for this request
      fastify.addHook('onRequest', (req, reply, done) => {
        reply.header('X-Request-Id', String(req.id));
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
        // probes and metrics only on the internal port; the internal port serves nothing else
        // the route the router matched, not only the URL: `/metrics/` (ignoreTrailingSlash) or a percent-encoded
        // spelling reaches the same handler under another URL
        const path = req.url.split('?')[0];
        const route = req.routeOptions?.url;
        const viaInternal = (req.raw as MaybeInternal)[VIA_INTERNAL] === true;
        if (viaInternal ? !INTERNAL_PATHS.has(route ?? path) : INTERNAL_ONLY.has(path) || (route !== undefined && INTERNAL_ONLY.has(route))) {
          void reply
            .status(404)
            .type('application/problem+json')
            .send(problem(404, ErrorCodes.NOT_FOUND, viaInternal ? 'The internal port serves /healthz, /readyz and /metrics only' : 'Not found', String(req.id)));
          return;
        }
        if (req.url.startsWith('/api/') && !req.url.startsWith('/api/docs') && !req.url.startsWith(REDOC_PATH)) reply.header('Cache-Control', 'no-store');
        if (closing) {
          // this replica is shutting down: another one (or this one, restarted) takes the retry
          const body = problem(503, ErrorCodes.UPSTREAM_UNAVAILABLE, 'The gateway is shutting down, retry shortly', String(req.id), {
            retry_after: RETRY_AFTER_SECONDS,
          });
          void reply
            .status(503)
            .header('Retry-After', String(RETRY_AFTER_SECONDS))
            .header('Connection', 'close')
            .type('application/problem+json')
            .send(body);
          return;
        }
        done();
      });

      // An empty body with Content-Type: application/json is an empty object, not an error (logout, setup).
      const defaultJson = fastify.getDefaultJsonParser('error', 'error');
      fastify.removeContentTypeParser('application/json');
      fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
        if (body === '' || (typeof body === 'string' && body.trim() === '')) return done(null, {});
        return defaultJson(req, body as string, done);
      });

      // Streamed bodies (artifact uploads, CSV imports) are never parsed or buffered by the gateway: the
      // route handler pipes req.raw to the owning service's internal port (see common/internal-proxy.ts).
      for (const type of ['multipart/form-data', 'text/csv', 'application/octet-stream']) {
        fastify.addContentTypeParser(type, (_req, _payload, done) => done(null));
      }

      app.setGlobalPrefix('api', { exclude: UNPREFIXED_ROUTES });
      app.useGlobalFilters(new ProblemFilter());
      app.enableCors({
        origin: config.CORS_ORIGINS,
        credentials: true,
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Range', 'X-Request-Id'],
        exposedHeaders: ['X-Request-Id', 'ETag', 'Retry-After', 'Content-Disposition', 'Content-Range'],
        maxAge: 600,
      });

      // The contract (docs/openapi.json is this document, committed; see docs/API.md). Built on its first request,
      // then kept (Swagger memoises the factory): built at boot it held ~7 MB of the gateway's heap for a
      // document most gateways never serve (docs/PERFORMANCE.md, change 15). Its gaps fail e2e/openapi; here
      // they are logged when it is built.
      const docLog = new Logger('OpenAPI');
      SwaggerModule.setup('api/docs', app, () => buildOpenApiDocument(app, { onGap: (gap) => docLog.warn(gap) }), { jsonDocumentUrl: 'api/openapi.json', raw: ['json'] });
      registerRedoc(app);

      // The web console (web/dist, or WEB_DIST_PATH) at `/`, after Swagger so both static registrations
      // coexist (Swagger's does not decorate the reply). Skipped with one log line when the folder is missing.
      await registerConsole(app, config.WEB_DIST_PATH, new Logger('WebConsole'));

      const server = createServer((req, res) => {
        (req as MaybeInternal)[VIA_INTERNAL] = true;
        fastify.routing(req, res);
      });
      internal = server;
      fastify.addHook('onClose', (_instance, done) => {
        if (!server.listening) return done();
        server.closeAllConnections();
        server.close(() => done());
      });
    },
    afterListen: async (app) => {
      const server = internal as Server | null;
      if (!server) throw new Error('the gateway internal port was not set up');
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.GATEWAY_INTERNAL_PORT, config.GATEWAY_INTERNAL_HOST ?? config.HOST, () => resolve());
      });
      internalServers.set(app, server);
    },
  });
}

/** Convention shared by every service (used by the e2e stack): boot from an environment map. */
export function bootstrapFromEnv(env: NodeJS.ProcessEnv, opts: GatewayBootOptions = {}): Promise<NestFastifyApplication> {
  return bootstrapGateway(loadGatewayConfig(env), opts);
}
