import { DynamicModule, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { natsServers } from '@opsdesk/config';
import { isDatabaseUsable } from '@opsdesk/database';
import { MessagingModule, NATS_HANDLES, isNatsUsable, type NatsHandles } from '@opsdesk/messaging';
import { HealthModule } from '@opsdesk/observability';
import { DatabaseModule } from '@opsdesk/platform';
import { AccessModule } from './access/access.module';
import { InventoryConfigModule } from './config/inventory-config.module';
import type { InventoryConfig } from './config/inventory.config';
import { INVENTORY_SCHEMA } from './database/data-source';
import { inventoryMigrations } from './database/migrations';
import { HistoryModule } from './history/history.module';
import { HostsModule } from './hosts/hosts.module';
import { ImportModule } from './import/import.module';
import { SettingsModule } from './settings/settings.module';
import { TelemetryModule } from './telemetry/telemetry.module';

export interface InventoryAppOverrides {
  /** tests: fault injection in the outbox relay */
  relay?: Parameters<typeof MessagingModule.forRoot>[0]['relay'];
}

@Module({})
export class AppModule {
  static forRoot(config: InventoryConfig, overrides: InventoryAppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        InventoryConfigModule.forRoot(config),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: INVENTORY_SCHEMA,
          entities: [],
          migrations: inventoryMigrations,
          poolSize: config.DB_POOL_SIZE,
          maxOverflow: config.DB_MAX_OVERFLOW,
        }),
        MessagingModule.forRoot({
          service: 'inventory',
          servers: natsServers(config.NATS_URL),
          stream: config.EVENTS_STREAM,
          streamReplicas: config.EVENTS_STREAM_REPLICAS,
          eventPrefix: config.EVENTS_SUBJECT_PREFIX,
          rpcPrefix: config.RPC_SUBJECT_PREFIX,
          requestTimeoutMs: config.REQUEST_TIMEOUT * 1000,
          schema: INVENTORY_SCHEMA,
          relay: overrides.relay,
        }),
        HealthModule.forRoot({
          inject: [DataSource, NATS_HANDLES],
          useFactory: (ds: DataSource, nats: NatsHandles) => [
            { name: 'database', check: () => isDatabaseUsable(ds) },
            { name: 'nats', check: () => isNatsUsable(nats.nc) },
          ],
        }),
        HostsModule,
        HistoryModule,
        ImportModule,
        AccessModule,
        TelemetryModule,
        SettingsModule,
      ],
    };
  }
}
