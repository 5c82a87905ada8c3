// The test suites run against nats-server WITH authorisation (SPEC §7): one private server for the whole
// jest run (nats-global-setup.ts) or a suite's own (startOwnNatsServer), both configured from the same
// permission model as production (libs/messaging/src/nats-permissions.ts).
// Relative imports only: jest's globalSetup loads this file without the @opsdesk/* module mapping.
import { randomBytes } from 'node:crypto';
// eslint-disable-next-line @nx/enforce-module-boundaries -- jest's globalSetup loads this file without the @opsdesk/* mapping
import {
  NATS_PROVISION_USER,
  NATS_SERVICES,
  natsInboxPrefix,
  natsPasswordVariable,
  natsPermissionSet,
  renderNatsAuthorization,
  type NatsNames,
} from '../../contracts/src/nats-permissions';

export { NATS_PROVISION_USER };

/** The harness's own login (publishes raw events, reads streams, inspects state): everything, tests only. */
export const TEST_NATS_ADMIN_USER = 'opsdesk-test';

/**
 * One shared server holds every suite, each under its own prefixes (`t_<id>.rpc`, `t_<id>.opsdesk`,
 * stream `T_<ID>`, bucket `T_<ID>_REV`): the service permissions are the production ones with the
 * varying first token, stream and bucket as `*`. The exact production names are checked by
 * e2e/nats-authorisation.e2e-spec.ts on a server of its own.
 */
export const TEST_NATS_NAMES: NatsNames = { rpcPrefix: '*.rpc', eventPrefix: '*.opsdesk', stream: '*', bucket: '*' };

const CREDENTIALS_ENV = 'TEST_NATS_CREDENTIALS';

/**
 * The passwords of the test logins (service names, `provision`, the harness admin), generated once per
 * jest run and handed to the workers through the environment.
 */
export function testNatsPasswords(): Record<string, string> {
  const raw = process.env[CREDENTIALS_ENV];
  if (raw) return JSON.parse(raw) as Record<string, string>;
  const passwords: Record<string, string> = {};
  for (const user of [...NATS_SERVICES, NATS_PROVISION_USER, TEST_NATS_ADMIN_USER]) passwords[user] = `p${randomBytes(18).toString('base64url')}`; // a letter first: NATS_PASSWORD_PATTERN
  process.env[CREDENTIALS_ENV] = JSON.stringify(passwords);
  return passwords;
}

/**
 * The test logins' passwords as the deploy configs (deploy/nats/*.conf) read them: one NATS_PASSWORD_<LOGIN>
 * variable per login (natsPasswordVariable), for a nats-server started on those configs.
 */
export function testNatsPasswordEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(testNatsPasswords()).map(([user, pass]) => [natsPasswordVariable(user), pass]));
}

/** nats-server config for a test server: JetStream, loopback, the permission model and the admin login. */
export function testNatsServerConfig(port: number, storeDir: string, names: NatsNames = TEST_NATS_NAMES): string {
  const passwords = testNatsPasswords();
  const users = [
    ...natsPermissionSet(names),
    { user: TEST_NATS_ADMIN_USER, publish: ['>'], subscribe: ['>'], allowResponses: false },
  ];
  return [
    `listen: 127.0.0.1:${port}`,
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    renderNatsAuthorization(users, (u) => JSON.stringify(passwords[u])),
  ].join('\n');
}

/** Connection options of a test login (user, password, its inbox prefix). */
export function testNatsLogin(user: string): { user: string; pass: string; inboxPrefix: string } {
  const pass = testNatsPasswords()[user];
  if (!pass) throw new Error(`no test NATS login ${user}`);
  return { user, pass, inboxPrefix: natsInboxPrefix(user) };
}

/** The harness admin's connection options, for raw `connect()` calls in tests. */
export function testNatsAdmin(): { user: string; pass: string; inboxPrefix: string } {
  return testNatsLogin(TEST_NATS_ADMIN_USER);
}

/** The harness admin as a NatsCredentials (connectNats, RpcClient). */
export function testNatsAdminCredentials(): { user: string; pass: string } {
  const { user, pass } = testNatsAdmin();
  return { user, pass };
}

/** NATS_USER / NATS_PASSWORD for one service: overlay it on a suite's env when booting that service. */
export function natsServiceEnv(service: string): NodeJS.ProcessEnv {
  const { user, pass } = testNatsLogin(service);
  return { NATS_USER: user, NATS_PASSWORD: pass };
}
