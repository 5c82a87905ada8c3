import { DynamicModule, Module } from '@nestjs/common';
import type { MessagingModule } from '@opsdesk/messaging';
import { ContextSigner, rpcContextSigner } from '@opsdesk/authn';
import { ServiceConfigModule, serviceInfrastructure } from '@opsdesk/platform';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { HostCleanupModule } from './cleanup/host-cleanup.module';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from './config/artifacts.config';
import { ARTIFACTS_SCHEMA } from './database/data-source';
import { artifactsEntities } from './database/entities';
import { artifactsMigrations } from './database/migrations';
import { DownloadsModule } from './downloads/downloads.module';
import { ARTIFACTS_CLOCK, type Clock } from './storage/blob-collector.service';
import { StorageModule } from './storage/storage.module';
import { UploadsModule } from './uploads/uploads.module';

export interface ArtifactsAppOverrides {
  /** tests: fault injection in the outbox relay */
  relay?: Parameters<typeof MessagingModule.forRoot>[0]['relay'];
  /** tests: the storage collector's clock (ages of temps and orphans against ARTIFACT_ORPHAN_GRACE_SECONDS) */
  clock?: Clock;
}

/** Carries the tests' clock override to the storage collector. */
@Module({})
class ArtifactsClockModule {}

@Module({})
export class AppModule {
  static forRoot(config: ArtifactsConfig, overrides: ArtifactsAppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceConfigModule.forRoot(ARTIFACTS_CONFIG, config, { internalRoutesOf: 'artifacts' }),
        ...serviceInfrastructure({
          service: 'artifacts',
          schema: ARTIFACTS_SCHEMA,
          config,
          entities: artifactsEntities,
          migrations: artifactsMigrations,
          relay: overrides.relay,
          // artifacts asks inventory about hosts: its calls carry a context signed by its own key
          signRpcContext: rpcContextSigner(new ContextSigner('artifacts', config.ARTIFACTS_CONTEXT_PRIVATE_KEY)),
        }),
        ...(overrides.clock ? [{ module: ArtifactsClockModule, global: true, providers: [{ provide: ARTIFACTS_CLOCK, useValue: overrides.clock }], exports: [ARTIFACTS_CLOCK] }] : []),
        StorageModule,
        ArtifactsModule,
        UploadsModule,
        DownloadsModule,
        HostCleanupModule,
      ],
    };
  }
}
