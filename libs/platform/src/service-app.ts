import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { FastifyHttpOptions } from 'fastify';
import { ModuleRef, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ContextVerifier } from '@opsdesk/authn';
import type { NewEvent } from '@opsdesk/contracts';
import { MESSAGING_DATA_SOURCE, OutboxWriter, PrefixedNatsServer, RpcErrorFilter, natsAuthOptions, type NatsCredentials } from '@opsdesk/messaging';
import { JsonLogger, initMetrics, installHttpMetrics, requestContext, requestTraceContext, runInContext, stopTracing } from '@opsdesk/observability';
import { natsServers as natsServersOf, trustedCallerKeys } from '@opsdesk/config';
import { lingerAfterAnswer } from './linger-after-answer';
import { RpcCallerGuard } from './rpc-caller.guard';

export interface ServiceAppOptions {
  service: string;
  module: Type<unknown> | DynamicModule;
  host: string;
  port: number;
  logLevel: string;
  /**
   * NATS request/reply (with this service's own NATS login); omitted for an HTTP-only process. `trust`
   * verifies every request's signed caller context (RpcCallerGuard): there is no way to answer RPCs without it.
   */
  rpc?: { servers: string[]; subjectPrefix: string; trust: { verifier: ContextVerifier }; credentials?: NatsCredentials };
  /** body limit for the internal HTTP port */
  bodyLimit?: number;
  /** configure the Fastify app before listen (extra routes, hooks) */
  configure?: (app: NestFastifyApplication) => void | Promise<void>;
  /** runs once the HTTP port listens (the gateway opens its internal port then); a throw closes the app */
  afterListen?: (app: NestFastifyApplication) => void | Promise<void>;
  /**
   * Fastify options beyond the shared ones (request ids, body limit): the public gateway's proxy trust,
   * header timeout, router options and framework-error answers.
   */
  fastify?: Omit<FastifyAdapterOptions, 'bodyLimit' | 'genReqId'>;
  /** false: Nest registers no body parsers, the app registers its own (the gateway's JSON and streamed bodies) */
  bodyParser?: boolean;
  /** tests pass false to keep Nest quiet */
  logger?: JsonLogger | false;
  /**
   * stop gracefully on SIGTERM/SIGINT (default true). In-process test stacks boot many apps in one process
   * and close them themselves, so they turn it off.
   */
  handleSignals?: boolean;
}

/** plain HTTP/1 Fastify options (what every OpsDesk process serves; TLS ends at the ingress) */
type FastifyAdapterOptions = FastifyHttpOptions<HttpServer>;

/** One rule for every process: a caller's X-Request-Id is kept when it is a plain token, else a fresh UUID. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;
export function requestIdOf(headers: Record<string, string | string[] | undefined>): string {
  const h = headers['x-request-id'];
  return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
}

/** SIGTERM → exit within this budget (the orchestrator's grace period is longer: Helm uses 30 s). */
export const SHUTDOWN_BUDGET_MS = 10_000;

/**
 * Boots every process the same way, the gateway included: Fastify HTTP (health, readiness, metrics and the
 * app's routes) plus, for internal services, the NATS RPC server in the service's queue group; JSON logs, RED
 * metrics, one request-id rule, the request context, and graceful shutdown on SIGTERM/SIGINT.
 */
export async function createServiceApp(opts: ServiceAppOptions): Promise<NestFastifyApplication> {
  initMetrics(opts.service);
  const logger = opts.logger === false ? false : (opts.logger ?? new JsonLogger(opts.service, opts.logLevel));
  const adapter = new FastifyAdapter({
    ...opts.fastify,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => requestIdOf(req.headers),
  });
  const app = await NestFactory.create<NestFastifyApplication>(opts.module, adapter, {
    logger: logger === false ? false : logger,
    bufferLogs: false,
    bodyParser: opts.bodyParser ?? true,
  });
  const fastify = app.getHttpAdapter().getInstance();
  installHttpMetrics(fastify);
  // Every request runs in its request id (logs) and trace context (logs, NATS and outbox headers); what a handler
  // runs after reading a body keeps both (service-app.int-spec checks it with a multi-read body).
  fastify.addHook('onRequest', (req, _reply, done) => {
    runInContext(requestTraceContext(req.url, req.headers), () => requestContext.run({ request_id: String(req.id) }, done));
  });
  // Every process (gateway included): a request answered before its body was complete — a refusal (401/403/415/429
  // before an upload was read, 413 while streaming, a malformed form) — has the rest read and dropped for a bounded
  // time, never left unread for Node's 5-minute request timeout nor reset under a peer still sending (see
  // lingerAfterAnswer). Checked per answer: `complete` is a field read; a body-less request is complete at once.
  fastify.addHook('onSend', (req, reply, payload, done) => {
    if (!req.raw.complete && !lingerAfterAnswer(req.raw, reply.raw)) void reply.header('connection', 'close');
    done(null, payload);
  });
  const rpcServer = opts.rpc
    ? new PrefixedNatsServer(
        { servers: opts.rpc.servers, queue: opts.service, name: `opsdesk-${opts.service}-rpc`, ...natsAuthOptions(opts.rpc.credentials) },
        opts.rpc.subjectPrefix,
      )
    : null;
  if (rpcServer && opts.rpc) {
    const ms = app.connectMicroservice(
      { strategy: rpcServer },
      // deferred: handlers are bound at startAllMicroservices(), after the global filter and guard below
      { inheritAppConfig: false, deferInitialization: true },
    );
    // RPC handlers get the error mapping (AppError -> {code,message,errors}); tracing, request id and RED metrics are
    // PrefixedNatsServer's own, per request, outside Nest's interceptor chain.
    ms.useGlobalFilters(new RpcErrorFilter());
    // ...and, before anything else runs, the caller-context check, refusals audited through the outbox.
    ms.useGlobalGuards(
      new RpcCallerGuard({
        service: opts.service,
        subjectPrefix: opts.rpc.subjectPrefix,
        verifier: opts.rpc.trust.verifier,
        audit: outboxAuditOf(app),
      }),
    );
  }
  await opts.configure?.(app);
  if (opts.handleSignals !== false) installGracefulShutdown(app, rpcServer, opts.service);
  await app.startAllMicroservices();
  await app.listen(opts.port, opts.host);
  try {
    await opts.afterListen?.(app);
  } catch (err) {
    await app.close(); // no half-started process (e.g. the gateway's public port up, its probes unreachable)
    throw err;
  }
  return app;
}

/**
 * SIGTERM/SIGINT under load: take no new RPC requests (the queue group routes them to other replicas) and
 * finish the ones in hand; then Nest's shutdown: consumers finish their batch and hand back what they
 * buffered, the outbox relay makes a last pass, HTTP stops accepting and finishes in-flight requests, NATS
 * drains, the pool closes. Exit 0 when done, 1 if it took longer than SHUTDOWN_BUDGET_MS.
 */
export function installGracefulShutdown(app: NestFastifyApplication, rpcServer: PrefixedNatsServer | null, service: string): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    const hard = setTimeout(() => {
      process.stderr.write(`${service}: graceful shutdown took longer than ${SHUTDOWN_BUDGET_MS} ms, exiting\n`);
      process.exit(1);
    }, SHUTDOWN_BUDGET_MS);
    hard.unref();
    void (async () => {
      const left = rpcServer ? await rpcServer.stopAccepting(SHUTDOWN_BUDGET_MS / 2) : 0;
      await app.close();
      await stopTracing(); // flushes the spans still batched for the exporter
      const line = { level: 'info', service, msg: `stopped on ${signal} in ${Date.now() - started} ms`, unanswered_requests: left };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      process.exit(0);
    })().catch((err: unknown) => {
      process.stderr.write(`${service}: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Writes an event through the service's own outbox (own transaction), when the service has one. */
function outboxAuditOf(app: INestApplication): ((event: NewEvent) => Promise<void>) | undefined {
  let outbox: OutboxWriter;
  let dataSource: DataSource;
  // through ModuleRef: a miss on the app itself would abort the process (NestFactory's abortOnError)
  const modules = app.get(ModuleRef);
  try {
    outbox = modules.get(OutboxWriter, { strict: false });
    dataSource = modules.get<DataSource>(MESSAGING_DATA_SOURCE, { strict: false });
  } catch {
    return undefined; // no schema, no outbox: RpcCallerGuard logs and counts refusals only
  }
  return async (event) => {
    await dataSource.transaction((m) => outbox.add(m, event));
  };
}

/** The config fields every internal service has (libs/config commonEnvShape). */
export interface ServiceAppConfig {
  HOST: string;
  LOG_LEVEL: string;
  NATS_URL: string;
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  RPC_SUBJECT_PREFIX: string;
  /** the gateway's public context key(s); `<SERVICE>_CONTEXT_PUBLIC_KEY` of any other trusted caller may follow */
  GATEWAY_CONTEXT_PUBLIC_KEY: string;
}

/**
 * createServiceApp from a service's validated config: HTTP on HOST:port, RPC on NATS_URL under
 * RPC_SUBJECT_PREFIX, logs at LOG_LEVEL (silent with `quiet`, for in-process tests).
 */
export function bootstrapService(opts: {
  service: string;
  module: ServiceAppOptions['module'];
  config: ServiceAppConfig;
  port: number;
  quiet?: boolean;
  configure?: ServiceAppOptions['configure'];
}): Promise<NestFastifyApplication> {
  return createServiceApp({
    service: opts.service,
    module: opts.module,
    host: opts.config.HOST,
    port: opts.port,
    logLevel: opts.config.LOG_LEVEL,
    rpc: {
      servers: natsServersOf(opts.config.NATS_URL),
      subjectPrefix: opts.config.RPC_SUBJECT_PREFIX,
      // exactly the callers this service's config names: the gateway, plus e.g. artifacts for inventory
      trust: { verifier: ContextVerifier.fromPublicKeys(trustedCallerKeys(opts.config)) },
      credentials: { user: opts.config.NATS_USER, pass: opts.config.NATS_PASSWORD },
    },
    logger: opts.quiet ? false : undefined,
    handleSignals: !opts.quiet,
    configure: opts.configure,
  });
}
