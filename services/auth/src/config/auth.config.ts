import { ConfigError, commonEnvShape, ed25519KeyEnv, databaseEnvShape, gatewayContextPublicKeyEnvShape, intEnv, jwtEnvShape, parseConfig, portEnv } from '@opsdesk/config';
import { z } from 'zod';

/**
 * Access-token signing keys: only auth reads these (the gateway's shape has neither, so no other service
 * can mint an access token). Validated at boot by parsing them.
 */
export const accessTokenKeyEnvShape = {
  /** Ed25519 private key (PKCS8 PEM, or it base64-encoded) for JWT_ALGORITHM=EdDSA; required in staging/production */
  JWT_PRIVATE_KEY: ed25519KeyEnv('private').optional(),
  /** comma-separated public keys still published after a rotation, so tokens signed with them verify until they expire */
  JWT_PREVIOUS_PUBLIC_KEYS: ed25519KeyEnv('public-list').optional(),
};

export const authEnvShape = {
  ...commonEnvShape,
  ...databaseEnvShape,
  ...jwtEnvShape,
  ...accessTokenKeyEnvShape,
  // verifies the gateway's signed RPC caller contexts (docs/SECURITY.md)
  ...gatewayContextPublicKeyEnvShape,
  AUTH_PORT: portEnv(8001),
  /** a session ends this long after its login whatever its refreshes (refresh tokens slide only within it) */
  SESSION_ABSOLUTE_DAYS: intEnv(30, 1, 365),
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
  const config = parseConfig(authEnvShape, env);
  // An ephemeral key (development and test only) would log everyone out at each restart and differ between replicas.
  if (config.JWT_ALGORITHM === 'EdDSA' && !config.JWT_PRIVATE_KEY && (config.ENVIRONMENT === 'production' || config.ENVIRONMENT === 'staging')) {
    throw new ConfigError('JWT_PRIVATE_KEY', `is required in ${config.ENVIRONMENT} when JWT_ALGORITHM is EdDSA`);
  }
  return config;
}

export function loadAuthConfigOrExit(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  try {
    return loadAuthConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG, like loadConfigOrExit
    }
    throw err;
  }
}
