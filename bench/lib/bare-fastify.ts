/**
 * The ceiling of an HTTP hop on this machine (gateway-hop scenario): a bare Fastify server in its own process
 * that answers GET /api/hosts/:id with a fixed JSON body of the real response's size — no auth, no Nest, no
 * NATS, no database. `node bare-fastify.js <port> <body-json-file>`; prints "ready" once listening.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [port, file] = process.argv.slice(2);
const body = readFileSync(file);
const app = Fastify({ logger: false });
app.get('/api/hosts/:id', (_req, reply) => {
  void reply.type('application/json').send(body);
});
app.listen({ port: Number(port), host: '127.0.0.1' }).then(
  () => process.stdout.write('ready\n'),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
