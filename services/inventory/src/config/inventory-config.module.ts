import { DynamicModule, Global, Module } from '@nestjs/common';
import { InternalTokens } from '@opsdesk/auth';
import { internalTokensFor } from '@opsdesk/platform';
import { INVENTORY_CONFIG, type InventoryConfig } from './inventory.config';

/** Config and the internal-token verifier (CSV import/export arrive on the internal HTTP port). */
@Global()
@Module({})
export class InventoryConfigModule {
  static forRoot(config: InventoryConfig): DynamicModule {
    return {
      module: InventoryConfigModule,
      providers: [
        { provide: INVENTORY_CONFIG, useValue: config },
        { provide: InternalTokens, useFactory: () => internalTokensFor('inventory', config) },
      ],
      exports: [INVENTORY_CONFIG, InternalTokens],
    };
  }
}
