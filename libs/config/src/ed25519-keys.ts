import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { z } from 'zod';

/**
 * The one reader of Ed25519 keys given in configuration: access-token keys (auth), caller-context keys (gateway,
 * artifacts and every callee), audit checkpoint keys. A key may be PEM (with real or `\n`-escaped line breaks),
 * base64 of that PEM, or base64 of DER (PKCS#8 private, SPKI public); public keys may be a comma-separated list
 * during a rotation. Errors are short reasons; the config check names the variable.
 */
const UNREADABLE = {
  private: 'must be an Ed25519 private key: base64 of PKCS#8 DER, or PEM',
  public: 'must be an Ed25519 public key: base64 of SPKI DER, or PEM',
};

function keySource(text: string, kind: 'private' | 'public'): { pem: string } | { der: Buffer } {
  const t = text.trim().replace(/\\n/g, '\n');
  if (t.startsWith('-----BEGIN ')) return { pem: t };
  if (!/^[A-Za-z0-9+/=_-]+$/.test(t.replace(/\s+/g, ''))) throw new Error(UNREADABLE[kind]);
  const raw = Buffer.from(t.replace(/\s+/g, ''), 'base64');
  const asText = raw.toString('utf8').trim();
  return asText.startsWith('-----BEGIN ') ? { pem: asText } : { der: raw };
}

function decode(kind: 'private' | 'public', make: () => KeyObject): KeyObject {
  let key: KeyObject;
  try {
    key = make();
  } catch {
    throw new Error(UNREADABLE[kind]); // node:crypto's decoder errors say nothing useful to an operator
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`must be an Ed25519 ${kind} key (got ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519)`);
  return key;
}

/** Parses an Ed25519 private key; throws with a message that completes "VARIABLE …". */
export function parseEd25519PrivateKey(text: string): KeyObject {
  const src = keySource(text, 'private');
  return decode('private', () => ('pem' in src ? createPrivateKey(src.pem) : createPrivateKey({ key: src.der, format: 'der', type: 'pkcs8' })));
}

/** Parses an Ed25519 public key; a private key is refused (public keys are the only thing to share). */
export function parseEd25519PublicKey(text: string): KeyObject {
  const src = keySource(text, 'public');
  if ('pem' in src && /PRIVATE KEY-----/.test(src.pem)) throw new Error('must be a public key, not a private key');
  return decode('public', () => ('pem' in src ? createPublicKey(src.pem) : createPublicKey({ key: src.der, format: 'der', type: 'spki' })));
}

/** Comma-separated public keys; empty or unset gives []. */
export function parseEd25519PublicKeyList(text: string | undefined): KeyObject[] {
  if (!text || !text.trim()) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseEd25519PublicKey);
}

/**
 * A config variable holding an Ed25519 key: `private`, or `public-list` (comma-separated, at least one; a list
 * so a new key can be rolled out before the old one is retired). Validated by parsing; the message is the
 * parser's. Optional-ness is the caller's (`.optional()`).
 */
export function ed25519KeyEnv(kind: 'private' | 'public-list') {
  return z.string().superRefine((v, ctx) => {
    try {
      if (kind === 'private') parseEd25519PrivateKey(v);
      else if (parseEd25519PublicKeyList(v).length === 0) throw new Error('must name at least one Ed25519 public key');
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: err instanceof Error ? err.message : String(err) });
    }
  });
}

/** A fresh Ed25519 pair in the one-line form configuration takes: base64 of PKCS#8 DER / SPKI DER. */
export function generateEd25519KeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}
