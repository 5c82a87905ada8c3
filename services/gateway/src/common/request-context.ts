import type { FastifyRequest } from 'fastify';
import { untrustedText, type Actor, type RpcContext } from '@opsdesk/contracts';
import type { Principal } from '@opsdesk/authn';

export type AuthedRequest = FastifyRequest & { user?: Principal };

export function actorOf(req: AuthedRequest): Actor {
  const ua = req.headers['user-agent'];
  return {
    user_id: req.user?.user_id ?? null,
    email: req.user?.email ?? null,
    ip: req.ip ?? null,
    // attacker-chosen: bounded and sanitised before it reaches the audit trail
    user_agent: typeof ua === 'string' ? untrustedText(ua, 200) : null,
  };
}

/**
 * What travels with every RPC: who asks (user, ip, user agent), with which role, and for which request.
 * The RpcClient signs it, so services can re-check the role (docs/SECURITY.md "RPC caller context").
 */
export function rpcContext(req: AuthedRequest): RpcContext {
  const principal = req.user ? { user_id: req.user.user_id, role: req.user.role } : null;
  return { actor: actorOf(req), request_id: String(req.id), principal };
}
