import { ConfigError, commonEnvShape, databaseEnvShape, intEnv, internalTokenEnvShape, jwtEnvShape, parseConfig, portEnv } from '@opsdesk/config';
import { z } from 'zod';

export const auditEnvShape = {
  ...commonEnvShape,
  ...databaseEnvShape,
  ...jwtEnvShape,
  ...internalTokenEnvShape,
  AUDIT_PORT: portEnv(8003),
  /** a signed checkpoint every N records ... */
  AUDIT_CHECKPOINT_EVERY: intEnv(1000, 1, 10_000_000),
  /** ... and at least every M minutes while new records arrive */
  AUDIT_CHECKPOINT_MINUTES: intEnv(5, 1, 24 * 60),
  /** HMAC-SHA256 key for checkpoints; derived from JWT_SECRET in development, required in production */
  AUDIT_SIGNING_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
};

export type AuditConfig = ReturnType<typeof loadAuditConfig>;
export const AUDIT_CONFIG = Symbol('AUDIT_CONFIG');

export function loadAuditConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = parseConfig(auditEnvShape, env);
  // Without an explicit key, anyone holding JWT_SECRET could re-sign checkpoints: refused in production.
  if (config.ENVIRONMENT === 'production' && !config.AUDIT_SIGNING_KEY) {
    throw new ConfigError('AUDIT_SIGNING_KEY', 'is required in production');
  }
  return config;
}

export function loadAuditConfigOrExit(env: NodeJS.ProcessEnv = process.env): AuditConfig {
  try {
    return loadAuditConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG, like loadConfigOrExit
    }
    throw err;
  }
}
