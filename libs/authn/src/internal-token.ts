import { randomUUID } from 'node:crypto';
import type { Actor } from '@opsdesk/contracts';
import { ContextDomains, type ContextSigner, type ContextVerifier } from './context-keys';
import type { Principal } from './principal';

/**
 * Short-lived internal identity for HTTP calls from the gateway to an internal service port (artifact
 * bodies, CSV import/export, audit export: things that must stream and never travel over NATS).
 * Same scheme as the signed RPC context (docs/SECURITY.md): an Ed25519 signature by the gateway's context
 * key over a JSON body, verified with the gateway's public key, in its own signing domain so an RPC
 * context can never pass as an internal token or the reverse. Services hold no secret that could mint
 * one. Sent as `Authorization: Internal <token>`.
 */
export interface InternalClaims {
  principal: Principal;
  actor: Actor;
  request_id: string;
  /** the service the token is for: one service cannot replay a token it received against another */
  aud: string;
  /** method and path the token was minted for: a token cannot be replayed against another route */
  method: string;
  path: string;
  /** the token's own id: the receiving service accepts each id once (libs/platform InternalTokenLedger) */
  jti: string;
  iss: string;
  iat: number;
  exp: number;
}

export const INTERNAL_TOKEN_TTL_MS = 60_000;
/** Only the gateway calls internal HTTP routes. */
export const INTERNAL_TOKEN_ISSUER = 'gateway';

/** Gateway side: mints internal tokens with the gateway's context key. */
export class InternalTokenIssuer {
  constructor(private readonly signer: ContextSigner) {}

  sign(claims: Omit<InternalClaims, 'exp' | 'iat' | 'iss' | 'jti'>, ttlMs = INTERNAL_TOKEN_TTL_MS): string {
    return this.signer.sign(ContextDomains.INTERNAL_HTTP, { ...claims, method: claims.method.toUpperCase(), jti: randomUUID() }, ttlMs);
  }
}

/** Service side: verifies internal tokens with the gateway's public key(s). */
export class InternalTokens {
  constructor(
    private readonly verifier: ContextVerifier,
    /** this service's name: tokens addressed to another service are refused */
    private readonly audience: string,
  ) {}

  /**
   * Returns the claims, or null when the token is malformed, forged, expired, for another service or route. That it
   * is used only once is the caller's to check (InternalAuthGuard, with the service's ledger).
   */
  verify(token: string, method: string, path: string): InternalClaims | null {
    const v = this.verifier.verify<InternalClaims>(ContextDomains.INTERNAL_HTTP, token);
    if (!v.ok) return null;
    const c = v.claims;
    // No secret is compared here (the signature check is the only gate), so plain comparisons leak nothing.
    if (c.iss !== INTERNAL_TOKEN_ISSUER || c.aud !== this.audience) return null;
    if (c.method !== method.toUpperCase() || c.path !== path) return null;
    if (!c.principal || typeof c.principal.user_id !== 'string' || c.actor?.user_id !== c.principal.user_id) return null;
    // without an id a token could not be held to one use
    if (typeof c.jti !== 'string' || c.jti.length < 16) return null;
    return c;
  }
}
