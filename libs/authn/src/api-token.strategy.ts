import { createHash } from 'node:crypto';
import { UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import { API_TOKEN_PREFIX, type VerifiedPrincipal } from '@opsdesk/contracts';
import type { Principal } from './principal';
import type { RevocationStore } from './revocation-store';

export type ApiTokenVerifier = (token: string) => Promise<VerifiedPrincipal | null>;

interface CacheEntry {
  principal: VerifiedPrincipal;
  at: number;
}

/**
 * `Authorization: Bearer odp_…`: verified by the auth service, cached briefly (keyed by the token's hash,
 * never the token) so scripts do not cost an RPC per request. A revocation or user cut-off seen in the
 * revocation store overrides the cache at once.
 */
export function createApiTokenStrategy(verify: ApiTokenVerifier, revocations: RevocationStore, cacheMs = 30_000) {
  const cache = new Map<string, CacheEntry>();
  class ApiTokenStrategy extends PassportStrategy(Strategy, 'api-token') {
    async validate(req: { headers: Record<string, string | undefined> }): Promise<Principal | null> {
      const header = req.headers.authorization ?? '';
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m || !m[1].startsWith(API_TOKEN_PREFIX)) return null; // not ours: let the JWT strategy try
      revocations.assertLoaded();
      const key = createHash('sha256').update(m[1]).digest('hex');
      let entry = cache.get(key);
      if (entry && Date.now() - entry.at > cacheMs) entry = undefined;
      if (!entry) {
        const principal = await verify(m[1]);
        if (!principal) throw new UnauthorizedException('Invalid, expired or revoked API token');
        entry = { principal, at: Date.now() };
        if (cache.size > 10_000) cache.clear();
        cache.set(key, entry);
      }
      const p = entry.principal;
      if (revocations.isTokenRevoked(p.token_id) || revocations.isUserCutOff(p.user_id, entry.at) || new Date(p.expires_at) < new Date()) {
        cache.delete(key);
        throw new UnauthorizedException('Invalid, expired or revoked API token');
      }
      return { kind: 'api_token', user_id: p.user_id, email: p.email, role: p.role, token_id: p.token_id, scope: p.scope };
    }
  }
  return ApiTokenStrategy;
}
