import { loadEnvFile } from '@opsdesk/config';
loadEnvFile();
import { startTracing } from '@opsdesk/observability/tracing';
startTracing('gateway');

import { loadGatewayConfigOrExit } from './config/gateway.config';
import { bootstrapGateway } from './bootstrap';

async function main(): Promise<void> {
  const config = loadGatewayConfigOrExit();
  await bootstrapGateway(config);
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
