import { generateKeyPairSync } from 'node:crypto';
import { contextKeyEnv } from '@opsdesk/testing';
import { generateCheckpointKeyPair } from '../chain/checkpoint-keys';
import { loadAuditConfig } from './audit.config';

const base = { ENVIRONMENT: 'development', GATEWAY_CONTEXT_PUBLIC_KEY: contextKeyEnv().GATEWAY_CONTEXT_PUBLIC_KEY as string, DATABASE_URL: 'postgres://u@127.0.0.1:5432/db', JWT_SECRET: 'j'.repeat(40) };
const pair = generateCheckpointKeyPair();

describe('audit config: the checkpoint key', () => {
  it('takes an Ed25519 private key (base64 PKCS#8 DER) and earlier public keys', () => {
    const previous = generateCheckpointKeyPair();
    const config = loadAuditConfig({ ...base, AUDIT_SIGNING_KEY: pair.privateKey, AUDIT_PREVIOUS_PUBLIC_KEYS: `${previous.publicKey}, ${pair.publicKey}` });
    expect(config.AUDIT_SIGNING_KEY).toBe(pair.privateKey);
  });

  it('is required in every environment, never derived from JWT_SECRET', () => {
    for (const ENVIRONMENT of ['development', 'test', 'production']) {
      expect(() => loadAuditConfig({ ...base, ENVIRONMENT })).toThrow(
        'Invalid configuration: AUDIT_SIGNING_KEY is required: an Ed25519 private key, base64 of PKCS#8 DER (npm start generates one; see docs/audit.md)',
      );
    }
  });

  it('refuses anything else with one line naming the variable', () => {
    // the pre-Ed25519 format: any string of 32+ characters used as an HMAC key
    expect(() => loadAuditConfig({ ...base, AUDIT_SIGNING_KEY: 'an-old-hmac-checkpoint-key-0123456789' })).toThrow(
      'Invalid configuration: AUDIT_SIGNING_KEY must be an Ed25519 private key: base64 of PKCS#8 DER, or PEM',
    );
    expect(() => loadAuditConfig({ ...base, AUDIT_SIGNING_KEY: pair.publicKey })).toThrow('Invalid configuration: AUDIT_SIGNING_KEY must be an Ed25519 private key: base64 of PKCS#8 DER, or PEM');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    expect(() => loadAuditConfig({ ...base, AUDIT_SIGNING_KEY: ec })).toThrow('Invalid configuration: AUDIT_SIGNING_KEY must be an Ed25519 private key (got ec, not Ed25519)');
    expect(() => loadAuditConfig({ ...base, AUDIT_SIGNING_KEY: pair.privateKey, AUDIT_PREVIOUS_PUBLIC_KEYS: `${pair.publicKey},${pair.privateKey}` })).toThrow(
      'Invalid configuration: AUDIT_PREVIOUS_PUBLIC_KEYS must be an Ed25519 public key: base64 of SPKI DER, or PEM',
    );
  });
});
