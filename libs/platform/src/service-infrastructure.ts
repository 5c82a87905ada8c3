import type { DynamicModule } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { natsServers } from '@opsdesk/config';
import type { ServiceDataSourceOptions } from '@opsdesk/database';
import { EventConsumersService, MESSAGING_DATA_SOURCE, MessagingModule, NATS_HANDLES, isNatsUsable, type MessagingModuleOptions, type NatsHandles } from '@opsdesk/messaging';
import { HealthModule } from '@opsdesk/observability';

/** The config fields every service with a schema has (libs/config commonEnvShape + databaseEnvShape). */
export interface ServiceInfraConfig {
  DATABASE_URL: string;
  DB_POOL_SIZE: number;
  DB_MAX_OVERFLOW: number;
  DB_CLIENT_PROCESSES?: number;
  DB_RESERVED_CONNECTIONS?: number;
  DB_MAX_CONNECTIONS?: number;
  NATS_URL: string;
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  EVENTS_STREAM: string;
  NATS_STREAM_REPLICAS: number;
  EVENTS_SUBJECT_PREFIX: string;
  RPC_SUBJECT_PREFIX: string;
  REQUEST_TIMEOUT: number;
}

export interface ServiceInfraOptions {
  service: string;
  schema: string;
  config: ServiceInfraConfig;
  entities?: ServiceDataSourceOptions['entities'];
  migrations: ServiceDataSourceOptions['migrations'];
  /** role the pooled connections switch to (SET ROLE). Not a boundary (RESET ROLE undoes it): services use their own login */
  sessionRole?: string;
  /** tests: fault injection */
  relay?: MessagingModuleOptions['relay'];
  consumer?: MessagingModuleOptions['consumer'];
  /** signs this service's own outgoing RPCs (a service that calls another; see docs/SECURITY.md) */
  signRpcContext?: MessagingModuleOptions['signRpcContext'];
}

/**
 * What every service with a schema stands on, wired the same way everywhere: its DataSource (one schema,
 * migrations only), NATS with the events stream, the outbox relay and @EventHandler consumers, and
 * /healthz, /readyz (database, migrations applied, NATS, consumers) and /metrics. A service adds its config module and features.
 */
export function serviceInfrastructure(o: ServiceInfraOptions): DynamicModule[] {
  // Loaded here, not at the top: @opsdesk/platform is also the gateway's, which has no schema and so never loads
  // TypeORM or pg (docs/PERFORMANCE.md, change 16; services/gateway/src/no-database.spec.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DatabaseModule, isDatabaseUsable, migrationsReadiness } = require('@opsdesk/database') as typeof import('@opsdesk/database');
  const c = o.config;
  return [
    DatabaseModule.forRoot({
      url: c.DATABASE_URL,
      schema: o.schema,
      entities: o.entities ?? [],
      migrations: o.migrations,
      poolSize: c.DB_POOL_SIZE,
      maxOverflow: c.DB_MAX_OVERFLOW,
      sessionRole: o.sessionRole,
      poolBudget: {
        processes: c.DB_CLIENT_PROCESSES ?? 1,
        reserved: c.DB_RESERVED_CONNECTIONS ?? 10,
        limit: c.DB_MAX_CONNECTIONS ?? 0,
      },
    }),
    MessagingModule.forRoot({
      service: o.service,
      servers: natsServers(c.NATS_URL),
      credentials: { user: c.NATS_USER, pass: c.NATS_PASSWORD },
      stream: c.EVENTS_STREAM,
      streamReplicas: c.NATS_STREAM_REPLICAS,
      eventPrefix: c.EVENTS_SUBJECT_PREFIX,
      rpcPrefix: c.RPC_SUBJECT_PREFIX,
      requestTimeoutMs: c.REQUEST_TIMEOUT * 1000,
      schema: o.schema,
      relay: o.relay,
      consumer: o.consumer,
      signRpcContext: o.signRpcContext,
    }),
    HealthModule.forRoot({
      inject: [MESSAGING_DATA_SOURCE, NATS_HANDLES, EventConsumersService],
      useFactory: (ds: DataSource, nats: NatsHandles, consumers: EventConsumersService) => [
        { name: 'database', check: () => isDatabaseUsable(ds) },
        // not ready before this version's migrations (and the grants after them) are applied: a first
        // install must not report ready against an empty database
        { name: 'migrations', check: migrationsReadiness(ds) },
        { name: 'nats', check: () => isNatsUsable(nats.nc) },
        // a consumer that paused because a dependency is down says which one and since when
        { name: 'consumers', check: async () => consumers.readiness() },
      ],
    }),
  ];
}
