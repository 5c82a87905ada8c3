import { ExecutionContext, HttpException, Inject, Injectable, Optional, SetMetadata, type CanActivate } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorCodes } from '@opsdesk/contracts';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import type { AuthedRequest } from '../common/request-context';
import { RateLimiter } from './rate-limiter';

export const RATE_LIMIT_BUCKET = 'opsdesk:rate-limit';
/** Login and MFA attempts share the strict per-IP bucket. */
export const AuthAttemptLimit = () => SetMetadata(RATE_LIMIT_BUCKET, 'auth');

export class RateLimitedException extends HttpException {
  constructor(public readonly retryAfter: number, bucket: string) {
    super({ message: `Too many requests (${bucket}); retry in ${retryAfter} s`, code: ErrorCodes.RATE_LIMITED, retry_after: retryAfter }, 429);
  }
}

export type RateLimitListener = (req: AuthedRequest, bucket: string, retryAfter: number) => void;
export const RATE_LIMIT_LISTENER = Symbol('RATE_LIMIT_LISTENER');

/** Runs after authentication: per-IP for auth attempts, per user (or IP when anonymous) for the API. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly auth: RateLimiter;
  private readonly api: RateLimiter;
  listener: RateLimitListener | null = null;

  constructor(
    private readonly reflector: Reflector,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Optional() @Inject(RATE_LIMIT_LISTENER) listener?: RateLimitListener,
  ) {
    this.listener = listener ?? null;
    this.auth = new RateLimiter(config.RATE_LIMIT_AUTH_PER_MINUTE, config.RATE_LIMIT_AUTH_BURST);
    this.api = new RateLimiter(config.RATE_LIMIT_API_PER_MINUTE, config.RATE_LIMIT_API_PER_MINUTE);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const bucket = this.reflector.getAllAndOverride<string>(RATE_LIMIT_BUCKET, [context.getHandler(), context.getClass()]);
    const [limiter, key, name] =
      bucket === 'auth' ? [this.auth, `ip:${req.ip}`, 'auth attempts'] : [this.api, req.user ? `user:${req.user.user_id}` : `ip:${req.ip}`, 'api'];
    const wait = limiter.take(key);
    if (wait === 0) return true;
    this.listener?.(req, name, wait);
    throw new RateLimitedException(wait, name);
  }
}
