import { ExecutionContext, ForbiddenException, HttpException, Inject, Injectable, Optional, UnauthorizedException, type CanActivate } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ErrorCodes, roleHas, scopeHas, type Permission } from '@opsdesk/contracts';
import { IS_PUBLIC, PERMISSION, SESSION_ONLY } from './decorators';
import type { Principal } from './principal';

/** Authenticates every route except @Public() ones: personal API token first, then JWT. */
@Injectable()
export class AuthenticationGuard extends AuthGuard(['api-token', 'jwt']) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    return super.canActivate(context);
  }

  override handleRequest<T = Principal>(err: unknown, user: T | false): T {
    // 401s, and the 503 of a revocation store that is not loaded (fail closed), pass through as they are
    if (err instanceof HttpException) throw err;
    if (err || !user) throw new UnauthorizedException('Authentication required');
    return user;
  }
}

export type DeniedListener = (principal: Principal, permission: Permission, request: unknown) => void;
export const DENIED_LISTENER = Symbol('DENIED_LISTENER');

/** The 403s PermissionsGuard throws: already reported through DENIED_LISTENER, so nobody reports them again. */
const reportedDenials = new WeakSet<object>();

/** Whether an error is a refusal PermissionsGuard has reported itself. */
export function isReportedDenial(err: unknown): boolean {
  return typeof err === 'object' && err !== null && reportedDenials.has(err);
}

function reported<E extends object>(err: E): E {
  reportedDenials.add(err);
  return err;
}

/**
 * Whether a principal holds a permission: its role's, and for a personal API token also its scope's (no scope: the
 * narrowest, read). PermissionsGuard's rule, for callers that decide outside a route's decorators (the edge's
 * artifact tickets, services/gateway/src/edge).
 */
export function principalHas(principal: Principal, permission: Permission): boolean {
  if (principal.kind === 'api_token' && !scopeHas(principal.scope ?? 'read', permission)) return false;
  return roleHas(principal.role, permission);
}

/**
 * RBAC from the contracts permission table. Denials are reported (the gateway turns them into
 * `gateway.request.denied` events).
 */
@Injectable()
export class PermissionsGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Optional() @Inject(DENIED_LISTENER) private readonly onDenied?: DeniedListener,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const permission = this.reflector.getAllAndOverride<Permission>(PERMISSION, [context.getHandler(), context.getClass()]) ?? 'self';
    const req = context.switchToHttp().getRequest<{ user?: Principal }>();
    const principal = req.user;
    if (!principal) throw new UnauthorizedException('Authentication required');
    if (principal.kind === 'api_token') {
      if (this.reflector.getAllAndOverride<boolean>(SESSION_ONLY, [context.getHandler(), context.getClass()])) {
        this.onDenied?.(principal, permission, req);
        throw reported(new ForbiddenException({ message: 'API tokens cannot manage tokens, passwords or MFA: log in', code: ErrorCodes.SESSION_REQUIRED }));
      }
      // a token acts with its owner's current role AND its scope (no scope: the narrowest, read)
      if (!scopeHas(principal.scope ?? 'read', permission)) {
        this.onDenied?.(principal, permission, req);
        throw reported(new ForbiddenException(`API token scope ${principal.scope ?? 'read'} lacks permission ${permission}`));
      }
    }
    if (roleHas(principal.role, permission)) return true;
    this.onDenied?.(principal, permission, req);
    throw reported(new ForbiddenException(`Role ${principal.role} lacks permission ${permission}`));
  }
}
