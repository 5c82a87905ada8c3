import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical';
import { parseEd25519PrivateKey, parseEd25519PublicKey, parseEd25519PublicKeyList } from '@opsdesk/config';

/**
 * Checkpoint signatures (docs/audit.md, "Checkpoints"): Ed25519 over
 *
 *   canonical({type: "opsdesk.audit.checkpoint.v1", key_id, seq, hash, created_at})
 *
 * by a private key only the audit service holds (AUDIT_SIGNING_KEY). Anyone verifies with the published public
 * key (GET /api/audit/public-key), and nobody who can verify can forge: unlike the HMAC checkpoints written
 * before, where the verification key was the signing key. The type tag keeps these signatures from being valid
 * for any other message format; key_id is inside the signed text so a signature cannot be re-labelled.
 *
 * Key formats (one each, so a wrong value fails with one clear line):
 *   private key  base64 of the PKCS#8 DER encoding   (openssl genpkey -algorithm ed25519 -outform DER | base64 -w0)
 *   public key   base64 of the SPKI DER encoding     (openssl pkey -in k.der -inform DER -pubout -outform DER | base64 -w0)
 *   key id       first 16 hex digits of SHA-256 of the raw 32-byte public key
 * The offline verifier also reads PEM public keys and the JSON of GET /api/audit/public-key.
 *
 * Like canonical.ts, this file depends on node:crypto only: the offline verifier uses it as is.
 */
export const CHECKPOINT_ALG = 'ed25519';
/** Checkpoints written before Ed25519 (HMAC-SHA256 with a shared key): kept, reported, never trusted. */
export const LEGACY_HMAC_ALG = 'hmac-sha256';
export type CheckpointAlg = typeof CHECKPOINT_ALG | typeof LEGACY_HMAC_ALG;

const SIGNED_TYPE = 'opsdesk.audit.checkpoint.v1';

export interface CheckpointFields {
  seq: number;
  hash: string;
  created_at: string;
  key_id: string;
}

/** A verification key as published: id, algorithm, base64 SPKI DER and PEM. */
export interface PublishedCheckpointKey {
  key_id: string;
  alg: typeof CHECKPOINT_ALG;
  public_key: string;
  public_key_pem: string;
}

export function checkpointMessage(cp: CheckpointFields): string {
  return canonicalJson({ type: SIGNED_TYPE, key_id: cp.key_id, seq: cp.seq, hash: cp.hash, created_at: cp.created_at });
}

export function checkpointKeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

/** The 32 raw bytes of an Ed25519 public key (the JWK `x`). */
function rawPublicKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.from(String(jwk.x), 'base64url');
}

/** AUDIT_SIGNING_KEY -> private key; the one reader of configured keys (libs/config ed25519-keys.ts). */
export const parseSigningKey = parseEd25519PrivateKey;
/** One public key: base64 SPKI DER, or PEM. */
export const parsePublicKey = parseEd25519PublicKey;
/** AUDIT_PREVIOUS_PUBLIC_KEYS: comma-separated public keys. */
export const parsePublicKeyList = parseEd25519PublicKeyList;

/**
 * What the offline verifier is given as --public-key: the JSON of GET /api/audit/public-key ({keys: [...]}),
 * one or more PEM public keys, or base64 SPKI DER keys separated by commas or newlines.
 */
export function parsePublicKeyDocument(text: string): KeyObject[] {
  const value = text.trim();
  if (value.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(value);
    } catch {
      throw new Error('not valid JSON');
    }
    const keys = (doc as { keys?: unknown }).keys;
    if (!Array.isArray(keys) || keys.length === 0) throw new Error('JSON without a "keys" array (expected the body of GET /api/audit/public-key)');
    return keys.map((k: unknown) => {
      const pk = (k as { public_key?: unknown }).public_key;
      if (typeof pk !== 'string') throw new Error('a key without "public_key"');
      const key = parsePublicKey(pk);
      const claimed = (k as { key_id?: unknown }).key_id;
      // the id is derived from the key: a document claiming another id for it is damaged or doctored
      if (claimed !== undefined && claimed !== checkpointKeyId(key)) throw new Error(`key_id ${String(claimed)} does not match its public key`);
      return key;
    });
  }
  const pems = value.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g);
  if (pems) return pems.map(parsePublicKey);
  return value
    .split(/[,\s]+/)
    .filter(Boolean)
    .map(parsePublicKey);
}

export function publishedKey(publicKey: KeyObject): PublishedCheckpointKey {
  return {
    key_id: checkpointKeyId(publicKey),
    alg: CHECKPOINT_ALG,
    public_key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    public_key_pem: String(publicKey.export({ format: 'pem', type: 'spki' })),
  };
}

/** Ed25519 signature of a checkpoint, hex (128 digits). */
export function signCheckpoint(privateKey: KeyObject, cp: CheckpointFields): string {
  return sign(null, Buffer.from(checkpointMessage(cp), 'utf8'), privateKey).toString('hex');
}

export function checkpointSignatureValid(publicKey: KeyObject, cp: CheckpointFields & { signature: string }): boolean {
  if (typeof cp.signature !== 'string' || !/^[0-9a-f]{128}$/.test(cp.signature)) return false;
  return verify(null, Buffer.from(checkpointMessage(cp), 'utf8'), publicKey, Buffer.from(cp.signature, 'hex'));
}

/** A fresh key pair in the configuration formats (tests, `npm start` in development). */
export function generateCheckpointKeyPair(): { privateKey: string; publicKey: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    keyId: checkpointKeyId(publicKey),
  };
}
