import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrapService } from '@opsdesk/platform';
import { AppModule, type InventoryAppOverrides } from './app.module';
import { loadInventoryConfig, type InventoryConfig } from './config/inventory.config';

/** Used by main.ts and by tests that boot the service in-process. */
export function bootstrapInventory(config: InventoryConfig, overrides: InventoryAppOverrides & { quiet?: boolean } = {}): Promise<NestFastifyApplication> {
  return bootstrapService({
    service: 'inventory',
    module: AppModule.forRoot(config, overrides),
    config,
    port: config.INVENTORY_PORT,
    quiet: overrides.quiet,
    configure: (app) => {
      // CSV uploads are streamed by the import route (req.raw), never parsed or buffered by Fastify.
      const fastify = app.getHttpAdapter().getInstance();
      fastify.addContentTypeParser(['text/csv', 'application/csv', 'text/plain', 'multipart/form-data'], (_req, _payload, done) => done(null));
    },
  });
}

/** Convention shared by every service (used by the e2e stack): boot from an environment map. */
export function bootstrapFromEnv(env: NodeJS.ProcessEnv, opts: InventoryAppOverrides & { quiet?: boolean } = {}): Promise<NestFastifyApplication> {
  return bootstrapInventory(loadInventoryConfig(env), opts);
}
