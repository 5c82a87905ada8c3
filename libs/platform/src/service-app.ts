import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { PrefixedNatsServer, RpcErrorFilter, RpcObservabilityInterceptor, natsAuthOptions, type NatsCredentials } from '@opsdesk/messaging';
import { JsonLogger, initMetrics, installHttpMetrics, requestContext } from '@opsdesk/observability';
import { natsServers as natsServersOf } from '@opsdesk/config';

export interface ServiceAppOptions {
  service: string;
  module: Type<unknown> | DynamicModule;
  host: string;
  port: number;
  logLevel: string;
  /** NATS request/reply; omitted for an HTTP-only process */
  rpc?: { servers: string[]; subjectPrefix: string; credentials?: NatsCredentials };
  /** body limit for the internal HTTP port */
  bodyLimit?: number;
  /** configure the Fastify app before listen (extra routes, hooks) */
  configure?: (app: NestFastifyApplication) => void | Promise<void>;
  /** tests pass false to keep Nest quiet */
  logger?: JsonLogger | false;
}

/**
 * Boots an internal service the same way everywhere: Fastify HTTP (health, readiness, metrics and any
 * internal routes) plus the NATS RPC server in the service's queue group, JSON logs, RED metrics, and
 * graceful shutdown on SIGTERM/SIGINT.
 */
export async function createServiceApp(opts: ServiceAppOptions): Promise<NestFastifyApplication> {
  initMetrics(opts.service);
  const logger = opts.logger === false ? false : (opts.logger ?? new JsonLogger(opts.service, opts.logLevel));
  const adapter = new FastifyAdapter({
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && /^[\w.-]{1,128}$/.test(h) ? h : randomUUID();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(opts.module, adapter, {
    logger: logger === false ? false : logger,
    bufferLogs: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  installHttpMetrics(fastify);
  fastify.addHook('onRequest', (req, _reply, done) => {
    requestContext.run({ request_id: String(req.id) }, done);
  });
  if (opts.rpc) {
    const ms = app.connectMicroservice(
      { strategy: new PrefixedNatsServer(
          { servers: opts.rpc.servers, queue: opts.service, name: `opsdesk-${opts.service}-rpc`, ...natsAuthOptions(opts.rpc.credentials) },
          opts.rpc.subjectPrefix,
        ) },
      // deferred: handlers are bound at startAllMicroservices(), after the global filter and interceptor below
      { inheritAppConfig: false, deferInitialization: true },
    );
    // RPC handlers get the error mapping (AppError -> {code,message,errors}) and tracing/metrics.
    ms.useGlobalFilters(new RpcErrorFilter());
    ms.useGlobalInterceptors(new RpcObservabilityInterceptor());
  }
  await opts.configure?.(app);
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(opts.port, opts.host);
  return app;
}

export async function closeQuietly(app: INestApplication | null | undefined): Promise<void> {
  if (app) await app.close().catch(() => undefined);
}

/** The config fields every internal service has (libs/config commonEnvShape). */
export interface ServiceAppConfig {
  HOST: string;
  LOG_LEVEL: string;
  NATS_URL: string;
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  RPC_SUBJECT_PREFIX: string;
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
      credentials: { user: opts.config.NATS_USER, pass: opts.config.NATS_PASSWORD },
    },
    logger: opts.quiet ? false : undefined,
    configure: opts.configure,
  });
}
