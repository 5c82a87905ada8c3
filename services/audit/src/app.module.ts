import { DynamicModule, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isDatabaseUsable } from '@opsdesk/database';
import { MessagingModule, NATS_HANDLES, isNatsUsable, type NatsHandles } from '@opsdesk/messaging';
import { HealthModule } from '@opsdesk/observability';
import { DatabaseModule } from '@opsdesk/platform';
import { natsServers } from '@opsdesk/config';
import { ChainModule } from './chain/chain.module';
import type { AuditConfig } from './config/audit.config';
import { AuditConfigModule } from './config/audit-config.module';
import { AUDIT_SCHEMA } from './database/data-source';
import { auditMigrations } from './database/migrations';
import { ExportModule } from './export/export.module';
import { AuditQueryModule } from './query/audit-query.module';
import { RecorderModule } from './recorder/recorder.module';

export interface AuditAppOverrides {
  /** tests: fault injection in the event consumer (e.g. a crash between commit and ack) */
  consumer?: Parameters<typeof MessagingModule.forRoot>[0]['consumer'];
  relay?: Parameters<typeof MessagingModule.forRoot>[0]['relay'];
}

@Module({})
export class AppModule {
  static forRoot(config: AuditConfig, overrides: AuditAppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AuditConfigModule.forRoot(config),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: AUDIT_SCHEMA,
          entities: [],
          migrations: auditMigrations,
          poolSize: config.DB_POOL_SIZE,
          maxOverflow: config.DB_MAX_OVERFLOW,
          // INSERT and SELECT only on the trail (docs/audit.md); migrations run as the owner elsewhere
          sessionRole: config.AUDIT_DB_ROLE === 'none' ? undefined : config.AUDIT_DB_ROLE,
        }),
        MessagingModule.forRoot({
          service: 'audit',
          servers: natsServers(config.NATS_URL),
          stream: config.EVENTS_STREAM,
          streamReplicas: config.EVENTS_STREAM_REPLICAS,
          eventPrefix: config.EVENTS_SUBJECT_PREFIX,
          rpcPrefix: config.RPC_SUBJECT_PREFIX,
          requestTimeoutMs: config.REQUEST_TIMEOUT * 1000,
          schema: AUDIT_SCHEMA,
          relay: overrides.relay,
          consumer: overrides.consumer,
        }),
        HealthModule.forRoot({
          inject: [DataSource, NATS_HANDLES],
          useFactory: (ds: DataSource, nats: NatsHandles) => [
            { name: 'database', check: () => isDatabaseUsable(ds) },
            { name: 'nats', check: () => isNatsUsable(nats.nc) },
          ],
        }),
        ChainModule,
        RecorderModule,
        AuditQueryModule,
        ExportModule,
      ],
    };
  }
}
