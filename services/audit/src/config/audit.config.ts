import { ConfigError, commonEnvShape, databaseEnvShape, gatewayContextPublicKeyEnvShape, intEnv, jwtEnvShape, parseConfig, portEnv } from '@opsdesk/config';
import { z } from 'zod';
import { parsePublicKeyList, parseSigningKey } from '../chain/checkpoint-keys';

/** A zod refinement running one of the key parsers: its error becomes the config error's detail. */
const keyCheck = (parse: (v: string) => unknown) => (v: string, ctx: z.RefinementCtx) => {
  try {
    parse(v);
  } catch (err) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
  }
};

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
   * Ed25519 private key that signs checkpoints, base64 of PKCS#8 DER. Required everywhere and never derived
   * from another secret (whoever held that secret could forge checkpoints); `npm start` generates one in
   * development, test suites generate one each.
   */
  AUDIT_SIGNING_KEY: z.string().superRefine(keyCheck(parseSigningKey)),
  /** public keys of earlier signing keys (comma-separated base64 SPKI DER): checkpoints they signed stay verifiable */
  AUDIT_PREVIOUS_PUBLIC_KEYS: z.string().superRefine(keyCheck(parsePublicKeyList)).optional(),
  /**
   * NOLOGIN role the service's pooled connections switch to (SET ROLE): INSERT and SELECT only on the
   * audit tables. The migrations (run as the schema owner) create it and its grants. `none` disables it.
   */
  AUDIT_DB_ROLE: z.string().regex(/^([a-z_][a-z0-9_]*)$/, 'must be a role name or none').default('opsdesk_audit_writer'),
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
