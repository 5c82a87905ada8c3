import { ConfigError, commonEnvShape, ed25519KeyEnv, databaseEnvShape, gatewayContextPublicKeyEnvShape, intEnv, jwtEnvShape, parseConfig, portEnv } from '@opsdesk/config';
export const auditEnvShape = {
  ...commonEnvShape,
  ...databaseEnvShape,
  ...jwtEnvShape,
  // verifies the gateway's signed RPC contexts and internal HTTP tokens (docs/SECURITY.md)
  ...gatewayContextPublicKeyEnvShape,
  AUDIT_PORT: portEnv(8003),
  /** a signed checkpoint every N records ... */
  AUDIT_CHECKPOINT_EVERY: intEnv(1000, 1, 10_000_000),
  /** ... and at least every M minutes while new records arrive */
  AUDIT_CHECKPOINT_MINUTES: intEnv(5, 1, 24 * 60),
  /**
   * Ed25519 private key that signs checkpoints, base64 of PKCS#8 DER (or PEM). Required everywhere and never derived
   * from another secret (whoever held that secret could forge checkpoints); `npm start` generates one in
   * development, test suites generate one each.
   */
  AUDIT_SIGNING_KEY: ed25519KeyEnv('private'),
  /** public keys of earlier signing keys (comma-separated base64 SPKI DER or PEM): checkpoints they signed stay verifiable */
  AUDIT_PREVIOUS_PUBLIC_KEYS: ed25519KeyEnv('public-list').optional(),
};

export type AuditConfig = ReturnType<typeof loadAuditConfig>;
export const AUDIT_CONFIG = Symbol('AUDIT_CONFIG');

export function loadAuditConfig(env: NodeJS.ProcessEnv = process.env) {
  // checked first for a message that says what to put there (parseConfig's own would be just "is required")
  if (!env.AUDIT_SIGNING_KEY) {
    throw new ConfigError('AUDIT_SIGNING_KEY', 'is required: an Ed25519 private key, base64 of PKCS#8 DER (npm start generates one; see docs/audit.md)');
  }
  return parseConfig(auditEnvShape, env);
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
