import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DataSource } from 'typeorm';
import { NATS_PROVISION_USER, createTestEnv, natsServiceEnv, serviceEnv, testNatsLogin, waitFor, type TestDatabase, type TestLogins } from '@opsdesk/testing';
import { provisionNatsFromEnv } from '@opsdesk/messaging';
import { applyRuntimeGrants, runMigrations } from '@opsdesk/database';
import { createOpsDeskClient } from '@opsdesk/client';
import type { Role } from '@opsdesk/contracts';

export const ADMIN_EMAIL = 'admin@e2e.test';
export const ADMIN_PASSWORD = 'E2e-Admin-Passw0rd!';

const SERVICES_DIR = join(__dirname, '..', '..', 'services');

/**
 * Every service follows one convention, so the stack needs no per-service code:
 *   services/<name>/src/bootstrap.ts            exports bootstrapFromEnv(env, options)
 *   services/<name>/src/database/data-source.ts exports createDataSource(url)   (services with a schema)
 * After a service boots, its URL is put into the environment as <NAME>_URL for the ones booted after it.
 */
interface ServiceModule {
  bootstrapFromEnv(env: NodeJS.ProcessEnv, opts?: Record<string, unknown>): Promise<NestFastifyApplication>;
}
interface DataSourceModule {
  createDataSource(url: string): DataSource;
}

export interface Stack {
  /** DATABASE_URL is the migrator's; each service is booted with its own login (serviceEnv) */
  env: NodeJS.ProcessEnv;
  /** db.url is the admin (superuser) connection: for tests' own inspection, never given to a service */
  db: TestDatabase;
  logins: TestLogins;
  /** running internal services by name (auth, inventory, audit, artifacts) */
  apps: Record<string, NestFastifyApplication>;
  gateways: NestFastifyApplication[];
  /** base URL of the first gateway */
  url: string;
  urls: string[];
  /** the gateways' internal ports (/healthz, /readyz, /metrics; the public port serves neither /readyz nor /metrics) */
  internalUrl: string;
  internalUrls: string[];
  /** stops and boots one service again (same env; options e.g. fault-injection hooks) */
  restart(name: string, opts?: Record<string, unknown>): Promise<NestFastifyApplication>;
  stopService(name: string): Promise<void>;
  startService(name: string, opts?: Record<string, unknown>): Promise<NestFastifyApplication>;
  stop(): Promise<void>;
}

export function urlOf(app: NestFastifyApplication): string {
  const addr = app.getHttpServer().address();
  if (!addr || typeof addr === 'string') throw new Error('app is not listening');
  return `http://127.0.0.1:${addr.port}`;
}

/** The internal port of a gateway (probes, metrics). */
export function gatewayInternalUrl(app: NestFastifyApplication): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- found by convention, like the services
  return (require(join(SERVICES_DIR, 'gateway', 'src', 'bootstrap')) as { internalUrlOf(a: NestFastifyApplication): string }).internalUrlOf(app);
}

export function serviceModule(name: string): ServiceModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- services are found by convention at run time
  return require(join(SERVICES_DIR, name, 'src', 'bootstrap')) as ServiceModule;
}

/**
 * Applies the migrations of the given services (or of every service with a schema), then the runtime logins'
 * grants, as `npm run migrate` does: `url` is the migrator's login.
 */
export async function migrate(url: string, names?: string[]): Promise<void> {
  for (const name of names ?? ['auth', 'inventory', 'audit', 'artifacts']) {
    const file = join(SERVICES_DIR, name, 'src', 'database', 'data-source.ts');
    if (!existsSync(file)) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- found by convention
    const mod = require(file.replace(/\.ts$/, '')) as DataSourceModule;
    await runMigrations(mod.createDataSource(url));
  }
  await applyRuntimeGrants(url);
}

/** auth's `npm run seed:admin` in-process (ADMIN_EMAIL / ADMIN_PASSWORD from env). */
export async function seedAdmin(env: NodeJS.ProcessEnv): Promise<unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- found by convention, like the services
  const mod = require(join(SERVICES_DIR, 'auth', 'src', 'seed-admin')) as { seedAdmin(env: NodeJS.ProcessEnv): Promise<unknown> };
  return mod.seedAdmin(env);
}

export interface StackOptions {
  /** internal services to boot, in order (default: auth) */
  services?: string[];
  gateways?: number;
  env?: NodeJS.ProcessEnv;
  /** per-service boot options, e.g. { auth: { relay: {...} } } */
  options?: Record<string, Record<string, unknown>>;
  natsUrl?: string;
  /** admin URL of a Postgres cluster of the suite's own (one it may stop); default the shared one */
  pgAdminUrl?: string;
  /** rewrites each service's own DATABASE_URL (migrations and seeding use the real one), e.g. through a TcpProxy */
  serviceDatabaseUrl?: (url: string) => string;
}

/**
 * Boots the real system in-process for one suite: migrations on its own database, the seeded admin,
 * the internal services and one or more gateway replicas on free ports, wired by its own JetStream
 * stream, subject prefixes and KV bucket on the real NATS.
 */
export async function startStack(label: string, opts: StackOptions = {}): Promise<Stack> {
  const names = opts.services ?? ['auth'];
  const { db, env, logins } = await createTestEnv(label, { ADMIN_EMAIL, ADMIN_PASSWORD, TRUST_PROXY: '127.0.0.1', ...opts.env }, opts.natsUrl, opts.pgAdminUrl);
  await migrate(logins.urls.migrator, names);
  // like `npm run provision:nats` in production: the services' own logins may only look at the stream and bucket
  await provisionNatsFromEnv(env, testNatsLogin(NATS_PROVISION_USER));
  await seedAdmin(env);
  const apps: Record<string, NestFastifyApplication> = {};
  const start = async (name: string, o?: Record<string, unknown>) => {
    // Each service connects with its own database login and its own NATS login (SPEC §7); the rest is shared.
    const own = { ...serviceEnv({ env, logins }, name), ...natsServiceEnv(name) };
    if (opts.serviceDatabaseUrl && own.DATABASE_URL) own.DATABASE_URL = opts.serviceDatabaseUrl(own.DATABASE_URL);
    const app = await serviceModule(name).bootstrapFromEnv(own, { quiet: !process.env.E2E_LOGS, ...(opts.options?.[name] ?? {}), ...(o ?? {}) });
    apps[name] = app;
    env[`${name.toUpperCase()}_URL`] = urlOf(app);
    return app;
  };
  for (const name of names) await start(name);
  const gateways: NestFastifyApplication[] = [];
  for (let i = 0; i < (opts.gateways ?? 1); i++) gateways.push(await serviceModule('gateway').bootstrapFromEnv({ ...serviceEnv({ env, logins }, 'gateway'), ...natsServiceEnv('gateway') }, { quiet: !process.env.E2E_LOGS }));
  const urls = gateways.map(urlOf);
  const internalUrls = gateways.map(gatewayInternalUrl);
  const stopService = async (name: string) => {
    await apps[name]?.close().catch(() => undefined);
    delete apps[name];
  };
  return {
    env,
    db,
    logins,
    apps,
    gateways,
    url: urls[0],
    urls,
    internalUrl: internalUrls[0],
    internalUrls,
    stopService,
    startService: start,
    async restart(name, o) {
      await stopService(name);
      return start(name, o);
    },
    async stop() {
      for (const g of gateways) await g.close().catch(() => undefined);
      for (const name of Object.keys(apps).reverse()) await stopService(name);
      await db.drop().catch(() => undefined);
    },
  };
}

/** Logs in through the gateway (each call from its own client IP so the per-IP limit stays per test). */
export async function login(url: string, email: string, password: string, ip = randomIp()): Promise<{ access: string; refresh: string }> {
  const { data, error, response } = await createOpsDeskClient({ baseUrl: url }).POST('/api/auth/login', { body: { email, password }, headers: { 'X-Forwarded-For': ip } });
  if (!data) throw new Error(`login ${email} failed: ${response.status} ${JSON.stringify(error)}`);
  return { access: data.access_token, refresh: data.refresh_token };
}

let ipCounter = 1;
/** Documentation-range addresses (TEST-NET-3): only ever a header value, never a connection target. */
export function randomIp(): string {
  ipCounter++;
  return `203.0.113.${ipCounter % 250}`;
}

export async function createUser(
  url: string,
  adminToken: string,
  email: string,
  role: Role,
  password = 'Us3r-Passw0rd!x',
): Promise<{ id: string; email: string; password: string; token: string }> {
  const { data, error, response } = await createOpsDeskClient({ baseUrl: url, token: adminToken }).POST('/api/users', { body: { email, password, role } });
  if (!data) throw new Error(`create user failed: ${response.status} ${JSON.stringify(error)}`);
  const { access } = await login(url, email, password);
  return { id: data.id, email, password, token: access };
}

export const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

export { waitFor };
