// Tracing must start before Nest, pg and http are loaded, so it comes first, from its own entry point (the
// observability package's index loads Nest); @opsdesk/config loads neither.
import { loadEnvFile } from '@opsdesk/config';
loadEnvFile();
import { startTracing } from '@opsdesk/observability/tracing';
startTracing('audit');

import { loadAuditConfigOrExit } from './config/audit.config';
import { bootstrapAudit } from './bootstrap';

async function main(): Promise<void> {
  const config = loadAuditConfigOrExit();
  await bootstrapAudit(config);
}

main().catch((err: unknown) => {
  process.stderr.write(`audit failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
