import { generateKeyPairSync } from 'node:crypto';

/**
 * A fresh Ed25519 checkpoint key for one suite, in the AUDIT_SIGNING_KEY format (base64 PKCS#8 DER): suites
 * never share a signing key, and none is derived from another secret.
 */
export function testAuditSigningKey(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
}
