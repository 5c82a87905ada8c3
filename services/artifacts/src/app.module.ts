import { DynamicModule, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { natsServers } from '@opsdesk/config';
import { isDatabaseUsable } from '@opsdesk/database';
import { MessagingModule, NATS_HANDLES, isNatsUsable, type NatsHandles } from '@opsdesk/messaging';
import { HealthModule } from '@opsdesk/observability';
import { DatabaseModule } from '@opsdesk/platform';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { HostCleanupModule } from './cleanup/host-cleanup.module';
import { InternalAuthModule } from './common/internal-auth.module';
import { ArtifactsConfigModule } from './config/artifacts-config.module';
import type { ArtifactsConfig } from './config/artifacts.config';
import { ARTIFACTS_SCHEMA } from './database/data-source';
import { artifactsEntities } from './database/entities';
import { artifactsMigrations } from './database/migrations';
import { DownloadsModule } from './downloads/downloads.module';
import { StorageModule } from './storage/storage.module';
import { UploadsModule } from './uploads/uploads.module';

export interface ArtifactsAppOverrides {
  /** tests: fault injection in the outbox relay */
  relay?: Parameters<typeof MessagingModule.forRoot>[0]['relay'];
}

@Module({})
export class AppModule {
  static forRoot(config: ArtifactsConfig, overrides: ArtifactsAppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ArtifactsConfigModule.forRoot(config),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: ARTIFACTS_SCHEMA,
          entities: artifactsEntities,
          migrations: artifactsMigrations,
          poolSize: config.DB_POOL_SIZE,
          maxOverflow: config.DB_MAX_OVERFLOW,
        }),
        MessagingModule.forRoot({
          service: 'artifacts',
          servers: natsServers(config.NATS_URL),
          stream: config.EVENTS_STREAM,
          streamReplicas: config.EVENTS_STREAM_REPLICAS,
          eventPrefix: config.EVENTS_SUBJECT_PREFIX,
          rpcPrefix: config.RPC_SUBJECT_PREFIX,
          requestTimeoutMs: config.REQUEST_TIMEOUT * 1000,
          schema: ARTIFACTS_SCHEMA,
          relay: overrides.relay,
        }),
        HealthModule.forRoot({
          inject: [DataSource, NATS_HANDLES],
          useFactory: (ds: DataSource, nats: NatsHandles) => [
            { name: 'database', check: () => isDatabaseUsable(ds) },
            { name: 'nats', check: () => isNatsUsable(nats.nc) },
          ],
        }),
        InternalAuthModule,
        StorageModule,
        ArtifactsModule,
        UploadsModule,
        DownloadsModule,
        HostCleanupModule,
      ],
    };
  }
}
