import { UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { API_TOKEN_PREFIX, JWT_AUDIENCE, JWT_ISSUER, isRole, type AccessTokenClaims } from '@opsdesk/contracts';
import type { Principal } from './principal';
import type { RevocationStore } from './revocation-store';

export interface JwtStrategyOptions {
  secret: string;
  algorithm: 'HS256' | 'HS384' | 'HS512';
}

/**
 * Access-token verification: only the configured HMAC algorithm is accepted (so `alg: none` and
 * algorithm confusion fail), issuer, audience and expiry are checked by passport-jwt, and the revocation
 * store refuses logged-out sessions and users cut off by deactivation or a role change.
 */
export function createJwtStrategy(opts: JwtStrategyOptions, revocations: RevocationStore) {
  class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
    constructor() {
      super({
        jwtFromRequest: (req: { headers: Record<string, string | undefined> }) => {
          const token = ExtractJwt.fromAuthHeaderAsBearerToken()(req as never);
          return token && !token.startsWith(API_TOKEN_PREFIX) ? token : null;
        },
        secretOrKey: opts.secret,
        algorithms: [opts.algorithm],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        ignoreExpiration: false,
      });
    }

    validate(claims: AccessTokenClaims): Principal {
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
