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

  /** Signature, algorithm, kid, iss, aud, exp; throws JwtVerificationError. */
  verify(token: string): Promise<Record<string, unknown>> {
    return verifyJwt(token, this.key, { issuer: JWT_ISSUER, audience: JWT_AUDIENCE });
  }
}

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
