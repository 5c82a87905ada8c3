import { generateKeyPairSync } from 'node:crypto';

export interface TestAccessTokenKey {
  /** PKCS8 PEM: what auth gets as JWT_PRIVATE_KEY */
  privatePem: string;
  /** SPKI PEM: what JWT_PREVIOUS_PUBLIC_KEYS takes */
  publicPem: string;
}

/** A fresh Ed25519 access-token key: every suite signs with its own (TEST_JWT_SECRET stays for HS* tests). */
export function generateAccessTokenKey(): TestAccessTokenKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}
