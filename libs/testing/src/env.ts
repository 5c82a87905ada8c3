import { createTestDatabase, provisionTestLogins, type TestDatabase, type TestLogins } from './database';
import { generateAccessTokenKey } from './keys';
import { natsIsolation, TEST_NATS_URL } from './nats';
import { testAuditSigningKey } from './audit-key';
import { contextKeyEnv } from './context-keys';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-production-use-0123456789';

export interface TestEnv {
  db: TestDatabase;
  /** DATABASE_URL is the migrator's (migrations, seeds); a service gets its own login via serviceEnv */
  env: NodeJS.ProcessEnv;
  logins: TestLogins;
}

/** The suite's environment as one service sees it: DATABASE_URL is that service's own login, nobody else's. */
export function serviceEnv(t: { env: NodeJS.ProcessEnv; logins: TestLogins }, service: string): NodeJS.ProcessEnv {
  const url = (t.logins.urls as Record<string, string | undefined>)[service];
  const env = { ...t.env };
  // The gateway has no database: it gets no database URL at all.
  if (url) env.DATABASE_URL = url;
  else delete env.DATABASE_URL;
  return env;
}

/**
 * Environment for one isolated suite: its own database, stream, subject prefixes and KV bucket on the
 * shared NATS (or on `natsUrl`), ports chosen by the OS, fast Argon2 parameters are NOT used: tests run
 * the production hashing settings.
 */
export async function createTestEnv(label: string, extra: NodeJS.ProcessEnv = {}, natsUrl = TEST_NATS_URL, pgAdminUrl?: string): Promise<TestEnv> {
  // pgAdminUrl: a suite's own Postgres cluster (one it may stop), else the shared one
  const db = await createTestDatabase(label, pgAdminUrl);
  const logins = await provisionTestLogins(db);
  const env: NodeJS.ProcessEnv = {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: logins.urls.migrator,
    DB_POOL_SIZE: '5',
    DB_MAX_OVERFLOW: '2',
    NATS_URL: natsUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    // auth's own access-token key (EdDSA by default); only auth reads it, the gateway verifies from auth's JWKS
    JWT_PRIVATE_KEY: generateAccessTokenKey().privatePem,
    REQUEST_TIMEOUT: '10',
    GATEWAY_PORT: '0',
    GATEWAY_INTERNAL_PORT: '0',
    AUTH_PORT: '0',
    INVENTORY_PORT: '0',
    AUDIT_PORT: '0',
    ARTIFACTS_PORT: '0',
    AUDIT_SIGNING_KEY: testAuditSigningKey(),
    ...natsIsolation(label),
    ...contextKeyEnv(),
    ...extra,
  };
  return { db, env, logins };
}
