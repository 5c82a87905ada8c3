import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { generateEd25519KeyPair, parseEd25519PrivateKey, parseEd25519PublicKeyList } from '@opsdesk/config';

/**
 * Ed25519 keys for caller contexts (signed RPC contexts and internal HTTP tokens).
 *
 * Why asymmetric: with a shared secret every service able to check a context could also mint one, so
 * holding any one service (or its environment) would mean holding them all. Here only the signer (the
 * gateway; a service for its own outgoing calls) holds a private key, receivers hold public keys.
 *
 * Key text is base64 DER (PKCS#8 private, SPKI public: one line, fits an env variable) or PEM.
 * Public keys may be a comma-separated list, so a new key can be rolled out before the old one is retired.
 */
export interface ContextKeyPair {
  privateKey: string;
  publicKey: string;
}

export function generateContextKeyPair(): ContextKeyPair {
  return generateEd25519KeyPair();
}

/** Parses a private key (the one reader of configured keys, libs/config ed25519-keys.ts). */
export function parseContextPrivateKey(text: string): KeyObject {
  return parseEd25519PrivateKey(text);
}

/** Parses one or more (comma-separated) public keys; at least one. */
export function parseContextPublicKeys(text: string): KeyObject[] {
  const keys = parseEd25519PublicKeyList(text);
  if (keys.length === 0) throw new Error('must name at least one public key');
  return keys;
}

export function publicKeyOf(privateKey: string | KeyObject): string {
  const key = typeof privateKey === 'string' ? parseContextPrivateKey(privateKey) : privateKey;
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64');
}

/**
 * Signing domains: the same key signs RPC contexts and internal HTTP tokens, so every signature covers
 * its domain too and one can never be passed off as the other.
 */
export const ContextDomains = {
  RPC: 'opsdesk-rpc-context.v1',
  INTERNAL_HTTP: 'opsdesk-internal-http.v1',
} as const;
export type ContextDomain = (typeof ContextDomains)[keyof typeof ContextDomains];

/** Longest lifetime a receiver accepts, whatever the signer wrote (a context is meant to live for seconds). */
export const MAX_CONTEXT_LIFETIME_MS = 5 * 60_000;
/** Clock skew tolerated for `iat` in the future. */
export const CONTEXT_CLOCK_SKEW_MS = 30_000;

interface SignedClaims {
  iss: string;
  iat: number;
  exp: number;
}

/** Holds one private key and signs claims as `issuer`: `<base64url JSON>.<base64url Ed25519 signature>`. */
export class ContextSigner {
  private readonly key: KeyObject;

  constructor(
    readonly issuer: string,
    privateKey: string | KeyObject,
  ) {
    this.key = typeof privateKey === 'string' ? parseContextPrivateKey(privateKey) : privateKey;
  }

  sign<C extends object>(domain: ContextDomain, claims: C, ttlMs: number): string {
    const iat = Date.now();
    const body = Buffer.from(JSON.stringify({ ...claims, iss: this.issuer, iat, exp: iat + ttlMs })).toString('base64url');
    const sig = sign(null, Buffer.from(`${domain}.${body}`), this.key).toString('base64url');
    return `${body}.${sig}`;
  }
}

export type ContextRefusal = 'missing' | 'malformed' | 'unknown_issuer' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'lifetime_too_long';

export type VerifiedContext<C> = { ok: true; claims: C & SignedClaims } | { ok: false; reason: ContextRefusal; claims?: Partial<C & SignedClaims> };

/** Checks signatures against the public keys of each trusted issuer (several keys each, for rotation). */
export class ContextVerifier {
  constructor(private readonly keys: ReadonlyMap<string, readonly KeyObject[]>) {}

  /** Builds the trust map from issuer -> public key text (comma-separated lists allowed). */
  static fromPublicKeys(byIssuer: Record<string, string | undefined>): ContextVerifier {
    const map = new Map<string, KeyObject[]>();
    for (const [issuer, text] of Object.entries(byIssuer)) if (text) map.set(issuer, parseContextPublicKeys(text));
    return new ContextVerifier(map);
  }

  issuers(): string[] {
    return [...this.keys.keys()];
  }

  verify<C extends object>(domain: ContextDomain, token: string | undefined | null, now = Date.now()): VerifiedContext<C> {
    if (!token) return { ok: false, reason: 'missing' };
    if (typeof token !== 'string' || token.length > 16_384) return { ok: false, reason: 'malformed' };
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed' };
    const body = token.slice(0, dot);
    const sig = Buffer.from(token.slice(dot + 1), 'base64url');
    let claims: C & SignedClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as C & SignedClaims;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!claims || typeof claims !== 'object' || typeof claims.iss !== 'string' || typeof claims.exp !== 'number' || typeof claims.iat !== 'number') {
      return { ok: false, reason: 'malformed' };
    }
    const keys = this.keys.get(claims.iss);
    // Claims of a refused context are returned only for the audit trail: nothing in them is trusted.
    if (!keys) return { ok: false, reason: 'unknown_issuer', claims };
    const message = Buffer.from(`${domain}.${body}`);
    if (sig.length !== 64 || !keys.some((k) => verify(null, message, k, sig))) return { ok: false, reason: 'bad_signature', claims };
    if (claims.exp <= now) return { ok: false, reason: 'expired', claims };
    if (claims.iat > now + CONTEXT_CLOCK_SKEW_MS) return { ok: false, reason: 'not_yet_valid', claims };
    if (claims.exp - claims.iat > MAX_CONTEXT_LIFETIME_MS) return { ok: false, reason: 'lifetime_too_long', claims };
    return { ok: true, claims };
  }
}
