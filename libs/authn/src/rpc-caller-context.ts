import { createHash } from 'node:crypto';
import { rpcAudience, type RpcCallerClaims, type RpcContext } from '@opsdesk/contracts';
import { ContextDomains, type ContextRefusal, type ContextSigner, type ContextVerifier } from './context-keys';

/** A signed RPC context lives this long: long enough for NATS and a queue, far too short to collect and reuse. */
export const RPC_CONTEXT_TTL_MS = 60_000;

/**
 * SHA-256 of the request data as JSON. The receiver recomputes it from the data it parsed: JSON that
 * went through JSON.stringify once serialises identically again, so a signed context cannot be lifted
 * onto another request body.
 */
export function rpcDataDigest(data: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(data ?? null))
    .digest('base64url');
}

/** What RpcClient calls to sign each outgoing request (see libs/messaging RpcClientOptions.signContext). */
export type RpcContextSigningFn = (pattern: string, data: unknown, ctx: RpcContext) => string;

function rpcClaims(pattern: string, data: unknown, ctx: RpcContext): Omit<RpcCallerClaims, 'iss' | 'iat' | 'exp'> {
  return {
    aud: rpcAudience(pattern),
    pat: pattern,
    dig: rpcDataDigest(data),
    request_id: ctx.request_id,
    actor: ctx.actor,
    principal: ctx.principal ?? null,
  };
}

export function rpcContextSigner(signer: ContextSigner, ttlMs = RPC_CONTEXT_TTL_MS): RpcContextSigningFn {
  return (pattern, data, ctx) => signer.sign(ContextDomains.RPC, rpcClaims(pattern, data, ctx), ttlMs);
}

/**
 * The signer for a busy caller (the gateway): the contexts of the requests sent within one turn of the event loop
 * share one Ed25519 signature over their Merkle root (ContextSigner.signBatched), and the receiving service
 * verifies that signature once per batch. Same claims, same checks, one signature and one verification per batch
 * instead of per request.
 */
export function batchedRpcContextSigner(signer: ContextSigner, ttlMs = RPC_CONTEXT_TTL_MS): (pattern: string, data: unknown, ctx: RpcContext) => Promise<string> {
  return (pattern, data, ctx) => signer.signBatched(ContextDomains.RPC, rpcClaims(pattern, data, ctx), ttlMs);
}

export type RpcContextRefusal = ContextRefusal | 'wrong_audience' | 'wrong_pattern' | 'data_mismatch' | 'actor_mismatch';

export type VerifiedRpcContext =
  | { ok: true; claims: RpcCallerClaims; ctx: RpcContext }
  | { ok: false; reason: RpcContextRefusal; claims?: Partial<RpcCallerClaims> };

/**
 * Verifies the signed context of an RPC received by `service` on `pattern` with `data`: signature by a
 * trusted issuer, not expired, addressed to this service and pattern, over this data, and the actor is
 * the principal (a signer never vouches for one user acting as another).
 */
export function verifyRpcCallerContext(
  verifier: ContextVerifier,
  req: { service: string; pattern: string; token: unknown; data: unknown },
): VerifiedRpcContext {
  const v = verifier.verify<RpcCallerClaims>(ContextDomains.RPC, typeof req.token === 'string' ? req.token : req.token == null ? null : String(req.token));
  if (!v.ok) return v;
  const c = v.claims;
  if (c.aud !== req.service) return { ok: false, reason: 'wrong_audience', claims: c };
  if (c.pat !== req.pattern) return { ok: false, reason: 'wrong_pattern', claims: c };
  if (c.dig !== rpcDataDigest(req.data)) return { ok: false, reason: 'data_mismatch', claims: c };
  if ((c.actor?.user_id ?? null) !== (c.principal?.user_id ?? null)) return { ok: false, reason: 'actor_mismatch', claims: c };
  return { ok: true, claims: c, ctx: { actor: c.actor ?? null, request_id: c.request_id ?? null, principal: c.principal ?? null } };
}
