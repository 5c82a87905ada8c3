import { DynamicModule, Module } from '@nestjs/common';
import type { MessagingModule } from '@opsdesk/messaging';
import { ServiceConfigModule, serviceInfrastructure } from '@opsdesk/platform';
import { AccessModule } from './access/access.module';
import { INVENTORY_CONFIG, type InventoryConfig } from './config/inventory.config';
import { INVENTORY_SCHEMA } from './database/data-source';
import { inventoryMigrations } from './database/migrations';
import { HistoryModule } from './history/history.module';
import { HostsModule } from './hosts/hosts.module';
import { CsvModule } from './csv/csv.module';
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
        ServiceConfigModule.forRoot(INVENTORY_CONFIG, config, { internalRoutesOf: 'inventory' }),
        ...serviceInfrastructure({
          service: 'inventory',
          schema: INVENTORY_SCHEMA,
          config,
          migrations: inventoryMigrations,
          relay: overrides.relay,
        }),
        HostsModule,
        HistoryModule,
        CsvModule,
        AccessModule,
        TelemetryModule,
        SettingsModule,
      ],
    };
  }
}
