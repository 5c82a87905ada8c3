import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createTestEnv, waitFor, type TestDatabase } from '@opsdesk/testing';
import { runMigrations } from '@opsdesk/database';
import { loadAuthConfig } from '../../services/auth/src/config/auth.config';
import { bootstrapAuth } from '../../services/auth/src/bootstrap';
import { createDataSource as authDataSource } from '../../services/auth/src/database/data-source';
import { seedAdmin } from '../../services/auth/src/seed-admin';
import { loadGatewayConfig } from '../../services/gateway/src/config/gateway.config';
import { bootstrapGateway } from '../../services/gateway/src/bootstrap';
import type { AuthAppOverrides } from '../../services/auth/src/app.module';

export const ADMIN_EMAIL = 'admin@e2e.test';
export const ADMIN_PASSWORD = 'E2e-Admin-Passw0rd!';

export interface Stack {
  env: NodeJS.ProcessEnv;
  db: TestDatabase;
  auth: NestFastifyApplication;
  gateways: NestFastifyApplication[];
  /** base URL of the first gateway */
  url: string;
  urls: string[];
  stop(): Promise<void>;
  restartAuth(overrides?: AuthAppOverrides): Promise<void>;
}

function urlOf(app: NestFastifyApplication): string {
  const addr = app.getHttpServer().address();
  if (!addr || typeof addr === 'string') throw new Error('app is not listening');
  return `http://127.0.0.1:${addr.port}`;
}

/**
 * Boots the real system in-process for one suite: migrations on its own database, the seeded admin,
 * the auth service and one or more gateway replicas on free ports, wired by its own JetStream stream,
 * subject prefixes and KV bucket on the real NATS.
 */
export async function startStack(label: string, opts: { gateways?: number; env?: NodeJS.ProcessEnv; authOverrides?: AuthAppOverrides; natsUrl?: string } = {}): Promise<Stack> {
  const { db, env } = await createTestEnv(label, { ADMIN_EMAIL, ADMIN_PASSWORD, TRUST_PROXY: 'true', ...opts.env }, opts.natsUrl);
  await runMigrations(authDataSource(db.url));
  await seedAdmin(env);
  let auth = await bootstrapAuth(loadAuthConfig(env), { quiet: true, ...opts.authOverrides });
  const gateways: NestFastifyApplication[] = [];
  for (let i = 0; i < (opts.gateways ?? 1); i++) gateways.push(await bootstrapGateway(loadGatewayConfig(env), { quiet: true }));
  const urls = gateways.map(urlOf);
  return {
    env,
    db,
    get auth() {
      return auth;
    },
    gateways,
    url: urls[0],
    urls,
    async restartAuth(overrides?: AuthAppOverrides) {
      await auth.close();
      auth = await bootstrapAuth(loadAuthConfig(env), { quiet: true, ...overrides });
    },
    async stop() {
      for (const g of gateways) await g.close().catch(() => undefined);
      await auth.close().catch(() => undefined);
      await db.drop().catch(() => undefined);
    },
  };
}

/** Logs in through the gateway (each call from its own fake client IP so rate limits stay per test). */
export async function login(url: string, email: string, password: string, ip = randomIp()): Promise<{ access: string; refresh: string }> {
  const res = await request(url).post('/api/auth/login').set('X-Forwarded-For', ip).send({ email, password });
  if (res.status !== 200) throw new Error(`login ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { access: res.body.access_token, refresh: res.body.refresh_token };
}

let ipCounter = 1;
/** Documentation range addresses (TEST-NET-3): only ever a header value, never a connection target. */
export function randomIp(): string {
  ipCounter++;
  return `203.0.113.${ipCounter % 250}`;
}

export async function createUser(url: string, adminToken: string, email: string, role: string, password = 'Us3r-Passw0rd!x'): Promise<{ id: string; email: string; password: string }> {
  const res = await request(url).post('/api/users').set('Authorization', `Bearer ${adminToken}`).send({ email, password, role });
  if (res.status !== 201) throw new Error(`create user failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, email, password };
}

export { waitFor };
