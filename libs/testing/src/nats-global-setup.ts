// jest globalSetup (jest.config.js): one private nats-server WITH authorisation for the whole run, so every
// suite talks to NATS under the production permission model (nats-auth.ts). Its URL and the generated
// passwords reach the test workers through the environment (TEST_NATS_URL, TEST_NATS_CREDENTIALS).
import { startOwnNatsServer, type OwnNatsServer } from './nats';
import { testNatsPasswords } from './nats-auth';

const KEY = '__opsdeskTestNats';

export default async function setup(): Promise<void> {
  testNatsPasswords(); // generated here, before the workers start, so all of them share the same ones
  const server = await startOwnNatsServer();
  process.env.TEST_NATS_URL = server.url;
  (globalThis as Record<string, unknown>)[KEY] = server;
}

export async function teardown(): Promise<void> {
  const server = (globalThis as Record<string, unknown>)[KEY] as OwnNatsServer | undefined;
  await server?.cleanup();
}
