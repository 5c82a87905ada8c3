import { createHash, createHmac, createPublicKey, sign as edSign, timingSafeEqual, verify as edVerify, type KeyObject } from 'node:crypto';
import type { Ed25519PublicJwk, HmacJwtAlgorithm } from '@opsdesk/contracts';

/**
 * Compact JWS (RFC 7515) for access tokens, on node:crypto alone: jsonwebtoken 9 (behind @nestjs/jwt and
 * passport-jwt) has no EdDSA. Deliberately small and strict: exactly one algorithm is accepted (the
 * configured one: `alg: none`, HS/EdDSA swaps and public-key-as-HMAC-secret confusion all fail on the
 * header before any key is touched), EdDSA tokens must name a known `kid`, `crit` is refused, the
 * signature must be canonical base64url, and `exp` is mandatory.
 */

const HMAC_HASH: Record<HmacJwtAlgorithm, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
const B64URL = /^[A-Za-z0-9_-]+$/;

export type AccessTokenSigningKey = { alg: 'EdDSA'; kid: string; privateKey: KeyObject } | { alg: HmacJwtAlgorithm; secret: string };

export type JwtFailure = 'malformed' | 'algorithm' | 'unknown_key' | 'signature' | 'expired' | 'not_yet_valid' | 'issuer' | 'audience';

export class JwtVerificationError extends Error {
  constructor(public readonly reason: JwtFailure) {
    super(`access token refused: ${reason}`);
    this.name = 'JwtVerificationError';
  }
}

/** Resolves the public key for a `kid`; null when unknown. */
export type PublicKeyResolver = (kid: string) => KeyObject | null | Promise<KeyObject | null>;

export type JwtVerifyKey = { alg: 'EdDSA'; resolve: PublicKeyResolver } | { alg: HmacJwtAlgorithm; secret: string };

export interface JwtVerifyOptions {
  issuer: string;
  audience: string;
  /** seconds; only for clock skew between auth and verifiers */
  clockToleranceSec?: number;
  nowMs?: number;
}

const b64json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export function signJwt(payload: Record<string, unknown>, key: AccessTokenSigningKey): string {
  const header = key.alg === 'EdDSA' ? { alg: 'EdDSA', typ: 'JWT', kid: key.kid } : { alg: key.alg, typ: 'JWT' };
  const input = `${b64json(header)}.${b64json(payload)}`;
  const signature =
    key.alg === 'EdDSA'
      ? edSign(null, Buffer.from(input, 'ascii'), key.privateKey)
      : createHmac(HMAC_HASH[key.alg], key.secret).update(input).digest();
  return `${input}.${signature.toString('base64url')}`;
}

function decodeJson(part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new JwtVerificationError('malformed');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JwtVerificationError('malformed');
  return value as Record<string, unknown>;
}

/** Verifies signature and registered claims; returns the payload. Throws JwtVerificationError. */
export async function verifyJwt(token: string, key: JwtVerifyKey, opts: JwtVerifyOptions): Promise<Record<string, unknown>> {
  const parts = token.split('.');
  if (parts.length !== 3 || !B64URL.test(parts[0]) || !B64URL.test(parts[1])) throw new JwtVerificationError('malformed');
  const header = decodeJson(parts[0]);
  // Only the configured algorithm: the header never chooses how the token is checked.
  if (header.alg !== key.alg) throw new JwtVerificationError('algorithm');
  if (header.crit !== undefined) throw new JwtVerificationError('malformed'); // no extension is understood
  const sigText = parts[2];
  if (!B64URL.test(sigText)) throw new JwtVerificationError('signature');
  const signature = Buffer.from(sigText, 'base64url');
  // a non-canonical encoding (spare bits set) would let one signature be written several ways
  if (signature.toString('base64url') !== sigText) throw new JwtVerificationError('signature');
  const input = Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii');

  if (key.alg === 'EdDSA') {
    if (typeof header.kid !== 'string' || header.kid === '') throw new JwtVerificationError('unknown_key');
    const publicKey = await key.resolve(header.kid);
    if (!publicKey) throw new JwtVerificationError('unknown_key');
    if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'ed25519') throw new JwtVerificationError('unknown_key');
    if (signature.length !== 64 || !edVerify(null, input, publicKey, signature)) throw new JwtVerificationError('signature');
  } else {
    const expected = createHmac(HMAC_HASH[key.alg], key.secret).update(input).digest();
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw new JwtVerificationError('signature');
  }

  const claims = decodeJson(parts[1]);
  const now = (opts.nowMs ?? Date.now()) / 1000;
  const tolerance = opts.clockToleranceSec ?? 0;
  if (typeof claims.exp !== 'number' || now >= claims.exp + tolerance) throw new JwtVerificationError('expired');
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now + tolerance)) throw new JwtVerificationError('not_yet_valid');
  if (claims.iss !== opts.issuer) throw new JwtVerificationError('issuer');
  const aud = claims.aud;
  if (!(aud === opts.audience || (Array.isArray(aud) && aud.includes(opts.audience)))) throw new JwtVerificationError('audience');
  return claims;
}

// ---- keys ----------------------------------------------------------------------------------------------

/**
 * A key given in the environment: a PEM (literal `\n` sequences allowed, as .env files often carry them),
 * that PEM base64-encoded, or the base64 of the DER (PKCS8 for private keys, SPKI for public keys).
 */
// The Ed25519 key readers live in libs/config (one reader for every key in configuration); re-exported here
// because token signing and verification are where they are used most.
export { parseEd25519PrivateKey, parseEd25519PublicKey, parseEd25519PublicKeyList } from '@opsdesk/config';

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key: the key id. */
export function ed25519Thumbprint(key: KeyObject): string {
  const x = rawX(key);
  // required members in lexicographic order, no whitespace (RFC 7638 §3.2, RFC 8037 §2)
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

function rawX(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 key');
  return jwk.x;
}

export function ed25519PublicJwk(key: KeyObject): Ed25519PublicJwk {
  return { kty: 'OKP', crv: 'Ed25519', x: rawX(key), kid: ed25519Thumbprint(key), alg: 'EdDSA', use: 'sig' };
}

/**
 * A published JWK back to a public key. The kid must be the key's thumbprint, so an entry cannot claim
 * another key's id.
 */
export function publicKeyFromJwk(jwk: unknown): { kid: string; key: KeyObject } {
  const j = jwk as Partial<Ed25519PublicJwk> | null;
  if (!j || j.kty !== 'OKP' || j.crv !== 'Ed25519' || typeof j.x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(j.x)) throw new Error('not an Ed25519 JWK');
  if (j.alg !== undefined && j.alg !== 'EdDSA') throw new Error('JWK alg is not EdDSA');
  if (j.use !== undefined && j.use !== 'sig') throw new Error('JWK use is not sig');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: j.x }, format: 'jwk' });
  const kid = ed25519Thumbprint(key);
  if (j.kid !== kid) throw new Error('JWK kid is not the key thumbprint');
  return { kid, key };
}
