import { ExecutionContext, Inject, Injectable, UnauthorizedException, createParamDecorator, type CanActivate } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ContextVerifier, INTERNAL_TOKEN_ISSUER, InternalTokens, type InternalClaims } from '@opsdesk/authn';
import type { InternalTokenLedger } from './internal-token-ledger';

/** Injection token of the service's InternalTokenLedger (ServiceConfigModule provides it with internal routes). */
export const INTERNAL_TOKEN_LEDGER = Symbol('INTERNAL_TOKEN_LEDGER');

/**
 * The internal-token verifier of `service`: tokens signed by the gateway's context key (its public key from
 * GATEWAY_CONTEXT_PUBLIC_KEY), addressed to this service. Internal HTTP routes trust no other signer.
 */
export function internalTokensFor(service: string, config: { GATEWAY_CONTEXT_PUBLIC_KEY: string }): InternalTokens {
  return new InternalTokens(ContextVerifier.fromPublicKeys({ [INTERNAL_TOKEN_ISSUER]: config.GATEWAY_CONTEXT_PUBLIC_KEY }), service);
}

/**
 * Guards an internal HTTP route (a service's own port): only the gateway, holding the context key, can
 * mint the `Authorization: Internal <token>` it requires, and each token is accepted once. Puts the verified claims
 * on the request.
 */
@Injectable()
export class InternalAuthGuard implements CanActivate {
  constructor(
    private readonly tokens: InternalTokens,
    @Inject(INTERNAL_TOKEN_LEDGER) private readonly ledger: InternalTokenLedger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<FastifyRequest & { internal?: InternalClaims }>();
    const header = req.headers.authorization ?? '';
    const m = /^Internal\s+(\S+)$/.exec(header);
    const path = (req.raw.url ?? req.url).split('?')[0];
    const claims = m ? this.tokens.verify(m[1], req.method, path) : null;
    if (!claims) throw new UnauthorizedException('Internal route: missing or invalid internal token');
    // last, so only a token good in every other respect takes its one use
    if (!(await this.ledger.claim(claims.jti, claims.exp))) throw new UnauthorizedException('Internal route: this internal token was already used');
    req.internal = claims;
    return true;
  }
}

/** The caller (principal, actor, request id) the gateway vouched for. */
export const InternalCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): InternalClaims => {
  const req = ctx.switchToHttp().getRequest<{ internal?: InternalClaims }>();
  if (!req.internal) throw new UnauthorizedException('Internal route without InternalAuthGuard');
  return req.internal;
});
