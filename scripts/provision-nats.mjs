// `npm run provision:nats`: creates (or brings up to date) the events stream and the revocation KV bucket
// with the `provision` NATS login (NATS_USER=provision, NATS_PASSWORD). The services' own logins may only
// look at them (libs/contracts/src/nats-permissions.ts), so a deployment runs this once per release,
// next to the migrations (docker-compose `migrate`, the Helm migration job). Idempotent. `npm start` does
// it itself for its own nats-server.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { loadEnvFile } = require(join(root, 'dist/libs/config/src/index.js'));
loadEnvFile();
const { provisionNatsFromEnv } = require(join(root, 'dist/libs/messaging/src/nats.js'));

const env = process.env;
// a broker that cannot be reached is one clear line, not a process waiting forever
const timer = setTimeout(() => {
  console.error(`provision:nats: NATS at ${env.NATS_URL ?? 'nats://127.0.0.1:4222'} did not answer within 60 s`);
  process.exit(1);
}, 60_000);
timer.unref();
provisionNatsFromEnv(env)
  .then(() => {
    console.log(`provision:nats: stream ${env.EVENTS_STREAM || 'OPSDESK_EVENTS'} and bucket ${env.REVOCATION_BUCKET || 'OPSDESK_REVOCATIONS'} are in place`);
    process.exit(0);
  })
  .catch((err) => {
    console.error(`provision:nats failed: ${err.message}`);
    process.exit(1);
  });
