import { createHash, createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  checkpointKeyId,
  checkpointMessage,
  checkpointSignatureValid,
  generateCheckpointKeyPair,
  parsePublicKey,
  parsePublicKeyDocument,
  parsePublicKeyList,
  parseSigningKey,
  publishedKey,
  signCheckpoint,
} from './checkpoint-keys';

const pair = generateCheckpointKeyPair();
const privateKey = parseSigningKey(pair.privateKey);
const publicKey = parsePublicKey(pair.publicKey);
const cp = { seq: 10, hash: 'ab'.repeat(32), created_at: '2024-01-01T00:00:00.000Z', key_id: pair.keyId };

describe('checkpoint keys', () => {
  it('derives the key id from the raw public key, and the private key yields the same public key', () => {
    const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url');
    expect(raw).toHaveLength(32);
    expect(pair.keyId).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 16));
    expect(checkpointKeyId(createPublicKey(privateKey))).toBe(pair.keyId);
  });

  it('signs with the private key and verifies with the public key only; any changed field or another key fails', () => {
    const signature = signCheckpoint(privateKey, cp);
    expect(signature).toMatch(/^[0-9a-f]{128}$/);
    expect(checkpointSignatureValid(publicKey, { ...cp, signature })).toBe(true);
    for (const changed of [{ seq: 11 }, { hash: 'cd'.repeat(32) }, { created_at: '2024-01-01T00:00:00.001Z' }, { key_id: '0'.repeat(16) }]) {
      expect(checkpointSignatureValid(publicKey, { ...cp, ...changed, signature })).toBe(false);
    }
    const other = generateCheckpointKeyPair();
    expect(checkpointSignatureValid(parsePublicKey(other.publicKey), { ...cp, signature })).toBe(false);
    // an HMAC (the old scheme) over the same message is no Ed25519 signature
    const hmac = createHmac('sha256', 'k'.repeat(32)).update(checkpointMessage(cp)).digest('hex');
    expect(checkpointSignatureValid(publicKey, { ...cp, signature: hmac })).toBe(false);
    expect(checkpointSignatureValid(publicKey, { ...cp, signature: 'zz' })).toBe(false);
  });

  it('the signed message is the canonical form with a type tag and the key id', () => {
    expect(checkpointMessage(cp)).toBe(
      `{"created_at":"2024-01-01T00:00:00.000Z","hash":"${'ab'.repeat(32)}","key_id":"${pair.keyId}","seq":10,"type":"opsdesk.audit.checkpoint.v1"}`,
    );
  });

  it('refuses what is not an Ed25519 key in the configured format, with the reason', () => {
    expect(() => parseSigningKey('k'.repeat(40))).toThrow('must be an Ed25519 private key: base64 of PKCS#8 DER, or PEM');
    expect(() => parseSigningKey('not base64!')).toThrow('must be an Ed25519 private key: base64 of PKCS#8 DER, or PEM');
    expect(() => parseSigningKey(pair.publicKey)).toThrow(/PKCS#8/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    expect(() => parseSigningKey(rsa)).toThrow('must be an Ed25519 private key (got rsa, not Ed25519)');
    expect(() => parsePublicKey(pair.privateKey)).toThrow(/Ed25519 public key/);
    expect(() => parsePublicKeyList(`${pair.publicKey}, nonsense`)).toThrow(/Ed25519 public key/);
    expect(parsePublicKeyList(undefined)).toEqual([]);
  });

  it('reads the published JSON, PEM and base64 lists; a doctored key id is refused', () => {
    const second = generateCheckpointKeyPair();
    const doc = { keys: [{ ...publishedKey(publicKey), current: true }, { ...publishedKey(parsePublicKey(second.publicKey)), current: false }] };
    expect(parsePublicKeyDocument(JSON.stringify(doc)).map(checkpointKeyId)).toEqual([pair.keyId, second.keyId]);
    expect(parsePublicKeyDocument(doc.keys.map((k) => k.public_key_pem).join('\n')).map(checkpointKeyId)).toEqual([pair.keyId, second.keyId]);
    expect(parsePublicKeyDocument(`${pair.publicKey}\n${second.publicKey}\n`).map(checkpointKeyId)).toEqual([pair.keyId, second.keyId]);
    expect(() => parsePublicKeyDocument(JSON.stringify({ keys: [{ ...doc.keys[0], key_id: second.keyId }] }))).toThrow(/does not match/);
    expect(() => parsePublicKeyDocument('{"keys":[]}')).toThrow(/keys/);
  });
});
