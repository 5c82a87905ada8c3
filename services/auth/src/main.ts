// Tracing must start before Nest, pg and http are loaded, so it comes first, from its own entry point (the
// observability package's index loads Nest); @opsdesk/config loads neither.
import { loadEnvFile } from '@opsdesk/config';
loadEnvFile();
import { startTracing } from '@opsdesk/observability/tracing';
startTracing('auth');

import { loadAuthConfigOrExit } from './config/auth.config';
import { bootstrapAuth } from './bootstrap';

async function main(): Promise<void> {
  const config = loadAuthConfigOrExit();
  await bootstrapAuth(config);
}

main().catch((err: unknown) => {
  process.stderr.write(`auth failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
