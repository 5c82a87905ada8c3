import { Injectable, Logger, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { NatsContext } from '@nestjs/microservices';
import { IS_PUBLIC, PERMISSION, verifyRpcCallerContext, type ContextVerifier, type RpcContextRefusal } from '@opsdesk/authn';
import {
  AppError,
  ErrorCodes,
  roleHas,
  rpcDeniedEventType,
  type Actor,
  type NewEvent,
  type Permission,
  type RpcCallerClaims,
  type RpcRequest,
} from '@opsdesk/contracts';
import { Metrics } from '@opsdesk/observability';

export const RPC_CALLERS_METADATA = 'opsdesk:rpc-callers';
/** The caller every RPC handler accepts. */
export const GATEWAY_CALLER = 'gateway';

/**
 * Besides the gateway, these services may call the handler with contexts signed by their own context key
 * (`<SERVICE>_CONTEXT_PUBLIC_KEY` in the receiver's config). They still pass on the gateway-verified
 * principal, so the handler's permission is checked against the end user's role as usual.
 */
export const RpcCallers = (...issuers: string[]): MethodDecorator & ClassDecorator => SetMetadata(RPC_CALLERS_METADATA, issuers);

export type RpcDenialReason = RpcContextRefusal | 'caller_not_allowed' | 'principal_required' | 'forbidden';

export interface RpcCallerGuardOptions {
  /** this service's name: contexts addressed to another service are refused */
  service: string;
  /** NATS subject prefix; the pattern is the subject without it */
  subjectPrefix: string;
  verifier: ContextVerifier;
  /** writes the `<service>.rpc.denied` event through the service's outbox (absent: the refusal is only logged) */
  audit?: (event: NewEvent) => Promise<void>;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

const MAX_TEXT = 200;
const text = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, MAX_TEXT) : null);

/** What an unverified caller claimed, kept short and shaped, for the audit trail only. */
function claimedActor(a: unknown): Actor | null {
  if (!a || typeof a !== 'object') return null;
  const o = a as Record<string, unknown>;
  return { user_id: text(o.user_id), email: text(o.email), ip: text(o.ip), user_agent: text(o.user_agent) };
}

function claimedPrincipal(p: unknown): { user_id: string | null; role: string | null } | null {
  if (!p || typeof p !== 'object') return null;
  const o = p as Record<string, unknown>;
  return { user_id: text(o.user_id), role: text(o.role) };
}

/**
 * The one place a service decides whether to trust an RPC (SPEC §7 "Trust inside the system"), registered
 * by createServiceApp for every @MessagePattern handler:
 *  1. the payload's `auth` must be a caller context signed by a trusted key (the gateway's, or a service's
 *     listed with @RpcCallers on this handler), unexpired, addressed to this service and this pattern, over
 *     this very data;
 *  2. unless the handler is @Public (login, refresh, API-token verification), it must name a principal;
 *  3. the handler's @RequirePermission is checked against the signed role with the SPEC §3 table
 *     (libs/contracts roles.ts): defence in depth behind the gateway's own RBAC.
 * On success the handler sees the signed context (the unsigned `ctx` next to it is replaced). A refusal
 * answers COMMON.RPC_CONTEXT_INVALID (or AUTH.FORBIDDEN for a role that lacks the permission) and is
 * audited as `<service>.rpc.denied`.
 */
@Injectable()
export class RpcCallerGuard implements CanActivate {
  private readonly reflector = new Reflector();
  private readonly logger: Pick<Logger, 'warn' | 'error'>;
  private readonly denied = Metrics.rpcDenied();

  constructor(private readonly opts: RpcCallerGuardOptions) {
    this.logger = opts.logger ?? new Logger('RpcCallerGuard');
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'rpc') return true;
    const payload = context.switchToRpc().getData<Partial<RpcRequest> | null>();
    const subject = context.switchToRpc().getContext<NatsContext>()?.getSubject?.() ?? '';
    const prefix = `${this.opts.subjectPrefix}.`;
    const pattern = subject.startsWith(prefix) ? subject.slice(prefix.length) : subject;
    const targets = [context.getHandler(), context.getClass()];

    const v = verifyRpcCallerContext(this.opts.verifier, {
      service: this.opts.service,
      pattern,
      token: payload?.auth,
      data: payload?.data,
    });
    if (!v.ok) return this.deny(pattern, v.reason, payload, v.claims);

    const callers = [GATEWAY_CALLER, ...(this.reflector.getAllAndOverride<string[] | undefined>(RPC_CALLERS_METADATA, targets) ?? [])];
    if (!callers.includes(v.claims.iss)) return this.deny(pattern, 'caller_not_allowed', payload, v.claims);

    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) === true;
    const principal = v.claims.principal;
    if (!isPublic && !principal) return this.deny(pattern, 'principal_required', payload, v.claims);

    const permission = this.reflector.getAllAndOverride<Permission | undefined>(PERMISSION, targets);
    if (permission && (!principal || !roleHas(principal.role, permission))) {
      return this.deny(pattern, 'forbidden', payload, v.claims, { permission, verified: true });
    }

    // From here on the handler reads only what the signer vouched for.
    if (payload) payload.ctx = v.ctx;
    return true;
  }

  private async deny(
    pattern: string,
    reason: RpcDenialReason,
    payload: Partial<RpcRequest> | null,
    claims: Partial<RpcCallerClaims> | undefined,
    extra: { permission?: Permission; verified?: boolean } = {},
  ): Promise<never> {
    this.denied.inc({ pattern, reason });
    const verified = extra.verified === true;
    const event: NewEvent = {
      type: rpcDeniedEventType(this.opts.service),
      // Only a verified context names the actor; an unverified one is what an attacker claims, so it is
      // recorded as a claim in the data and never as the event's actor.
      actor: verified ? (claims?.actor ?? null) : null,
      request_id: verified ? (claims?.request_id ?? null) : null,
      subject: { entity_type: 'rpc', entity_id: pattern },
      data: {
        pattern,
        reason,
        ...(extra.permission ? { permission: extra.permission } : {}),
        ...(claims?.iss ? { issuer: text(claims.iss) } : {}),
        ...(verified
          ? { role: claims?.principal?.role ?? null }
          : {
              claimed_actor: claimedActor(claims?.actor ?? payload?.ctx?.actor),
              claimed_principal: claimedPrincipal(claims?.principal ?? payload?.ctx?.principal),
              claimed_request_id: text(claims?.request_id ?? payload?.ctx?.request_id),
              ...(claims?.aud !== undefined ? { claimed_audience: text(claims.aud) } : {}),
              ...(claims?.pat !== undefined ? { claimed_pattern: text(claims.pat) } : {}),
            }),
      },
    };
    this.logger.warn(`refused RPC ${pattern}: ${reason}${claims?.iss ? ` (issuer ${String(claims.iss).slice(0, 40)})` : ''}`);
    if (this.opts.audit) {
      // The refusal stands whether or not the audit write works; a failed write is logged loudly.
      await this.opts.audit(event).catch((err: unknown) => this.logger.error(`could not record the refused RPC ${pattern}: ${(err as Error).message}`));
    }
    if (reason === 'forbidden') throw new AppError(ErrorCodes.FORBIDDEN, `Role may not ${pattern}`);
    throw new AppError(ErrorCodes.RPC_CONTEXT_INVALID, 'RPC refused: the caller context is missing or invalid');
  }
}
