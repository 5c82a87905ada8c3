// Tracing must start before Nest, pg and http are loaded, so it comes first.
import { loadEnvFile } from '@opsdesk/config';
loadEnvFile();
import { startTracing } from '@opsdesk/observability';
startTracing('inventory');

import { loadInventoryConfigOrExit } from './config/inventory.config';
import { bootstrapInventory } from './bootstrap';

async function main(): Promise<void> {
  const config = loadInventoryConfigOrExit();
  await bootstrapInventory(config);
}

main().catch((err: unknown) => {
  process.stderr.write(`inventory failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
