import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { PUBLIC_ROUTE_METADATA, type Permission } from '@opsdesk/contracts';
import type { Principal } from './principal';

export const IS_PUBLIC = PUBLIC_ROUTE_METADATA;
export const PERMISSION = 'opsdesk:permission';
export const SESSION_ONLY = 'opsdesk:session-only';

/** Route needs no authentication (login, refresh, health, docs). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Route needs this capability (SPEC §3); routes without one need any authenticated user. */
export const RequirePermission = (permission: Permission): MethodDecorator & ClassDecorator => SetMetadata(PERMISSION, permission);

/**
 * Route needs a login session: personal API tokens are refused whatever their scope (SPEC §3: a token can
 * never manage tokens, passwords or MFA, so a leaked token cannot mint more tokens or lock its owner out).
 */
export const SessionOnly = (): MethodDecorator & ClassDecorator => SetMetadata(SESSION_ONLY, true);

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<{ user?: Principal }>();
  if (!req.user) throw new Error('CurrentPrincipal used on a public route');
  return req.user;
});
