import { createHmac, hkdfSync } from 'node:crypto';
import type { Actor } from '@opsdesk/contracts';
import type { Principal } from './principal';

/**
 * Short-lived internal identity for HTTP calls from the gateway to an internal service port (artifact
 * bodies, CSV import/export, audit export: things that must stream and never travel over NATS).
 * HMAC-SHA256 over a JSON body with a key derived (HKDF) from the shared secret, so a leaked internal token
 * is useless as an API token and vice versa. Sent as `Authorization: Internal <token>`.
 */
export interface InternalClaims {
  principal: Principal;
  actor: Actor;
  request_id: string;
  /** method and path the token was minted for: a token cannot be replayed against another route */
  method: string;
  path: string;
  exp: number;
}

export const INTERNAL_TOKEN_TTL_MS = 60_000;

export class InternalTokens {
  private readonly key: Buffer;

  constructor(sharedSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', Buffer.from(sharedSecret, 'utf8'), Buffer.alloc(0), 'opsdesk:internal-http', 32));
  }

  sign(claims: Omit<InternalClaims, 'exp'>, ttlMs = INTERNAL_TOKEN_TTL_MS): string {
    const body = Buffer.from(JSON.stringify({ ...claims, exp: Date.now() + ttlMs })).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** Returns the claims, or null when the token is malformed, forged, expired or minted for another route. */
  verify(token: string, method: string, path: string): InternalClaims | null {
    const [body, mac] = token.split('.');
    if (!body || !mac || mac !== this.mac(body)) return null;
    let claims: InternalClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as InternalClaims;
    } catch {
      return null;
    }
    if (typeof claims.exp !== 'number' || claims.exp < Date.now()) return null;
    if (claims.method !== method.toUpperCase() || claims.path !== path) return null;
    return claims;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
