/**
 * A service's entry point without OpenTelemetry (`node untraced-main.js <service>`): the same bootstrap as
 * its main.ts with the environment as config, minus startTracing. The suite boots the system both ways to
 * measure what tracing costs; `npm start` always uses main.ts.
 */
import { join } from 'node:path';

const name = process.argv[2];
// eslint-disable-next-line @typescript-eslint/no-require-imports -- services are found by convention, like e2e/support/stack.ts
const mod = require(join(__dirname, '..', '..', 'services', name, 'src', 'bootstrap')) as { bootstrapFromEnv(env: NodeJS.ProcessEnv): Promise<unknown> };
mod.bootstrapFromEnv(process.env).catch((err: unknown) => {
  process.stderr.write(`${name} failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
