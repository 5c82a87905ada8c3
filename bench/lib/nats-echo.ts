/**
 * Bare NATS request/reply responder in its own process (gateway-hop scenario): answers every request on
 * <subject> with a fixed body of the real RPC answer's size. `node nats-echo.js <nats-url> <subject> <file>`.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'nats';

const [url, subject, file] = process.argv.slice(2);
const body = readFileSync(file);
void connect({ servers: url, name: 'bench-echo' }).then(async (nc) => {
  nc.subscribe(subject, { callback: (_err, msg) => msg.respond(body) });
  await nc.flush();
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => void nc.close().then(() => process.exit(0)));
});
