import { randomBytes } from 'node:crypto';
import { DIST_SERVICES, DistSystem } from '@opsdesk/testing';

export { type ExitRecord, type Instance } from '@opsdesk/testing';
export const SERVICES = DIST_SERVICES;
export type ServiceName = (typeof SERVICES)[number];
/** the fault suite's system: the shared launcher's (libs/testing/src/dist-system.ts) */
export type System = DistSystem;

export const ADMIN_EMAIL = 'admin@reliability.test';
export const ADMIN_PASSWORD = `Rel-${randomBytes(9).toString('base64url')}-9x`;
/** seconds the gateway waits for a service; a client request still open after it (plus slack) counts as hung */
export const REQUEST_TIMEOUT_S = 5;

export interface SystemOptions {
  /** a 3-node NATS cluster (deploy/nats) and an R3 events stream instead of one nats-server */
  cluster?: boolean;
}

/**
 * The real system as `npm start` runs it (every service a supervised child process from dist/), on a Postgres
 * and a nats-server (or cluster) of its own that the faults stop, kill and freeze. What is particular to the
 * fault suite is only the environment: the load's rates and concurrency above any per-user limit.
 */
export function startSystem(opts: SystemOptions = {}): Promise<System> {
  return DistSystem.start({
    infra: opts.cluster ? 'own-cluster' : 'own',
    admin: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    env: {
      LOG_LEVEL: process.env.RELIABILITY_LOG_LEVEL ?? 'warn',
      DB_POOL_SIZE: '5',
      DB_MAX_OVERFLOW: '2',
      REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S),
      // the load logs in from many X-Forwarded-For addresses and acts far above a person's rate
      TRUST_PROXY: '127.0.0.1',
      RATE_LIMIT_AUTH_PER_MINUTE: '100000',
      RATE_LIMIT_AUTH_BURST: '100000',
      RATE_LIMIT_API_PER_MINUTE: '1000000',
      // one load user uploads from many workers at once: the per-user in-flight cap (3) would answer 429
      ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER: '1000',
      PROMETHEUS_URL: 'http://127.0.0.1:9',
    },
  });
}
