import type { KeyObject } from 'node:crypto';
import { UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import { API_TOKEN_PREFIX, JWT_AUDIENCE, JWT_ISSUER, isRole, type AccessTokenClaims, type HmacJwtAlgorithm, type JwkSet } from '@opsdesk/contracts';
import type { JwksCache } from './jwks-cache';
import { verifyJwt, type JwtVerifyKey } from './jwt';
import type { Principal } from './principal';
import type { RevocationStore } from './revocation-store';

/**
 * What a verifier of access tokens holds: with EdDSA only auth's public keys (a JWKS cache, no secret at
 * all), with HS* the shared secret (the weaker mode: whoever verifies can also mint).
 */
export class AccessTokenVerifier {
  private constructor(
    private readonly key: JwtVerifyKey,
    private readonly cache: JwksCache | null,
  ) {}

  static fromJwks(cache: JwksCache): AccessTokenVerifier {
    return new AccessTokenVerifier({ alg: 'EdDSA', resolve: (kid) => cache.keyFor(kid) }, cache);
  }

  static hmac(alg: HmacJwtAlgorithm, secret: string): AccessTokenVerifier {
    return new AccessTokenVerifier({ alg, secret }, null);
  }

  get algorithm(): JwtVerifyKey['alg'] {
    return this.key.alg;
  }

  /** false until the first key set is loaded (EdDSA); always true with HS* */
  get ready(): boolean {
    return this.cache ? this.cache.ready : true;
  }

  /** the public keys in use (empty with HS*: a shared secret is never published) */
  jwks(): JwkSet {
    return this.cache ? this.cache.jwks() : { keys: [] };
  }

  async refresh(): Promise<void> {
    await this.cache?.refresh();
  }

  stop(): void {
    this.cache?.stop();
  }

  /**
   * Signature, algorithm, kid, iss, aud, exp; throws JwtVerificationError.
   * A token verified before is not verified again while it lives (the Ed25519 check was the largest single
   * cost of an authenticated request, docs/PERFORMANCE.md): a hit still needs the same token string, the
   * same key still published under its kid (a key dropped from the JWKS ends its tokens at once) and an
   * unexpired `exp`. Revocation is not cached here: the strategy checks it on every request.
   */
  async verify(token: string): Promise<Record<string, unknown>> {
    const nowSec = Date.now() / 1000;
    const hit = this.recent.get(token);
    if (hit && nowSec < hit.exp && (await this.currentKey(hit.kid)) === hit.key) return { ...hit.claims };
    if (hit) this.recent.delete(token);
    const claims = await verifyJwt(token, this.key, { issuer: JWT_ISSUER, audience: JWT_AUDIENCE });
    const kid = this.key.alg === 'EdDSA' ? (JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as { kid: string }).kid : null;
    if (this.recent.size >= VERIFIED_CACHE_MAX) this.recent.delete(this.recent.keys().next().value as string); // oldest first
    this.recent.set(token, { claims: { ...claims }, exp: claims.exp as number, kid, key: await this.currentKey(kid) });
    return claims;
  }

  private readonly recent = new Map<string, { claims: Record<string, unknown>; exp: number; kid: string | null; key: KeyObject | string | null }>();

  private async currentKey(kid: string | null): Promise<KeyObject | string | null> {
    return this.key.alg === 'EdDSA' ? (kid === null ? null : await this.key.resolve(kid)) : this.key.secret;
  }
}

/** verified access tokens remembered per verifier (one per active session at a time is typical) */
const VERIFIED_CACHE_MAX = 10_000;

export interface JwtStrategyOptions {
  verifier: AccessTokenVerifier;
}

/**
 * Access-token verification by the AccessTokenVerifier (only the configured algorithm, known kid,
 * issuer, audience, expiry), then the revocation store refuses logged-out sessions and users cut off by
 * deactivation or a role change.
 */
export function createJwtStrategy(opts: JwtStrategyOptions, revocations: RevocationStore) {
  class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
    async validate(req: { headers: Record<string, string | undefined> }): Promise<Principal | null> {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m || m[1].startsWith(API_TOKEN_PREFIX)) return null; // no bearer JWT: authentication required
      revocations.assertLoaded();
      let raw: Record<string, unknown>;
      try {
        raw = await opts.verifier.verify(m[1]);
      } catch {
        // one answer whatever the reason, so the response does not teach a forger which check failed
        throw new UnauthorizedException('Invalid or expired access token');
      }
      const claims = raw as unknown as AccessTokenClaims;
      if (
        typeof claims.sub !== 'string' ||
        typeof claims.sid !== 'string' ||
        typeof claims.email !== 'string' ||
        typeof claims.iat_ms !== 'number' ||
        !isRole(claims.role)
      ) {
        throw new UnauthorizedException('Malformed token');
      }
      if (revocations.isSessionRevoked(claims.sid)) throw new UnauthorizedException('Session has ended');
      if (revocations.isUserCutOff(claims.sub, claims.iat_ms)) throw new UnauthorizedException('Token no longer valid');
      return { kind: 'jwt', user_id: claims.sub, email: claims.email, role: claims.role, sid: claims.sid };
    }
  }
  return JwtStrategy;
}
