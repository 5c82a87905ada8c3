import { commonEnvShape, databaseEnvShape, gatewayContextPublicKeyEnvShape, intEnv, jwtEnvShape, loadConfigOrExit, parseConfig, portEnv } from '@opsdesk/config';
import { z } from 'zod';

export const authEnvShape = {
  ...commonEnvShape,
  ...databaseEnvShape,
  ...jwtEnvShape,
  // verifies the gateway's signed RPC caller contexts (docs/SECURITY.md)
  ...gatewayContextPublicKeyEnvShape,
  AUTH_PORT: portEnv(8001),
  /** consecutive failed logins before the account locks */
  LOCKOUT_THRESHOLD: intEnv(5, 1, 100),
  LOCKOUT_MINUTES: intEnv(15, 1, 24 * 60),
  /** key for MFA secrets at rest; derived from JWT_SECRET when unset */
  MFA_ENCRYPTION_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  // OWASP Argon2id minimum: 19 MiB, t=2, p=1
  ARGON2_MEMORY_KIB: intEnv(19456, 8192, 1048576),
  ARGON2_TIME_COST: intEnv(2, 1, 10),
  ARGON2_PARALLELISM: intEnv(1, 1, 16),
  ADMIN_EMAIL: z.string().email().default('admin@opsdesk.local'),
  ADMIN_PASSWORD: z.string().optional(),
};

export type AuthConfig = ReturnType<typeof loadAuthConfig>;
export const AUTH_CONFIG = Symbol('AUTH_CONFIG');

export function loadAuthConfig(env: NodeJS.ProcessEnv = process.env) {
  return parseConfig(authEnvShape, env);
}

export function loadAuthConfigOrExit() {
  return loadConfigOrExit(authEnvShape);
}
