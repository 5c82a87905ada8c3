/**
 * Access-token keys (SPEC §7 "Trust inside the system"): auth alone signs access tokens; everyone else
 * verifies them with the public keys auth publishes as a JWK Set (RFC 7517), each with a key id (`kid`,
 * the RFC 7638 thumbprint of the public key) so a rotated-out key keeps verifying its tokens until they expire.
 */

/** Accepted values of JWT_ALGORITHM: EdDSA (Ed25519, asymmetric, the default) or a shared HMAC secret (weaker). */
export const JwtAlgorithms = ['EdDSA', 'HS256', 'HS384', 'HS512'] as const;
export type JwtAlgorithm = (typeof JwtAlgorithms)[number];
export type HmacJwtAlgorithm = Exclude<JwtAlgorithm, 'EdDSA'>;

export const isHmacAlgorithm = (alg: JwtAlgorithm): alg is HmacJwtAlgorithm => alg !== 'EdDSA';

/**
 * RPC pattern (subject `<rpc prefix>.auth.jwks`) answering the published key set. Public data: it carries no
 * secret and takes no caller context. Kept out of AuthRpc so this file owns everything about token keys.
 */
export const AUTH_JWKS_PATTERN = 'auth.jwks';

/** An Ed25519 public key as a JWK (RFC 8037). */
export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  /** base64url of the 32-byte public key */
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

export interface JwkSet {
  /** empty with an HMAC JWT_ALGORITHM: a shared secret is never published */
  keys: Ed25519PublicJwk[];
}
