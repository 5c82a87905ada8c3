// Tracing must start before Nest, pg and http are loaded, so it comes first, from its own entry point (the
// observability package's index loads Nest); @opsdesk/config loads neither.
import { loadEnvFile } from '@opsdesk/config';
loadEnvFile();
import { startTracing } from '@opsdesk/observability/tracing';
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
