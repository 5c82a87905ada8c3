import { ExecutionContext, HttpException, Inject, Injectable, Optional, SetMetadata, type CanActivate } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { ErrorCodes } from '@opsdesk/contracts';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import type { AuthedRequest } from '../common/request-context';
import { RateLimiter } from './rate-limiter';

export const RATE_LIMIT_BUCKET = 'opsdesk:rate-limit';
/** Login, password and MFA attempts: the auth-attempt limits (per IP and account, per IP, per account). */
export const AuthAttemptLimit = () => SetMetadata(RATE_LIMIT_BUCKET, 'auth');
/**
 * The edge's artifact tickets (services/gateway/src/edge): charged to the caller's API bucket like the upload or
 * download they stand for, but a refusal is not answered or reported here: the ticket is refused quietly and nginx
 * sends the request itself to the gateway, whose API limit answers the 429 and reports it (once).
 */
export const EdgeTicketLimit = () => SetMetadata(RATE_LIMIT_BUCKET, 'edge');
/** Set on a ticket request the API limit refused (see EdgeTicketLimit). */
export const EDGE_RATE_LIMITED = Symbol('opsdesk.edge.rate-limited');

export class RateLimitedException extends HttpException {
  constructor(public readonly retryAfter: number, bucket: string) {
    super({ message: `Too many requests (${bucket}); retry in ${retryAfter} s`, code: ErrorCodes.RATE_LIMITED, retry_after: retryAfter }, 429);
  }
}

export type RateLimitListener = (req: AuthedRequest, bucket: string, retryAfter: number) => void;
export const RATE_LIMIT_LISTENER = Symbol('RATE_LIMIT_LISTENER');

/** The account an auth attempt is about: the principal's (password, MFA) or the login's claimed email. */
export function attemptAccount(req: AuthedRequest): string | null {
  if (req.user) return `user:${req.user.user_id}`;
  const body = req.body as { email?: unknown } | undefined;
  if (body && typeof body.email === 'string') return `email:${body.email.trim().toLowerCase().slice(0, 254)}`;
  return null;
}

/** A login that carries a second factor (the account-failure limit lets those through, see below). */
function hasSecondFactor(req: AuthedRequest): boolean {
  const body = req.body as { totp_code?: unknown } | undefined;
  return !!body && typeof body.totp_code === 'string' && body.totp_code.length > 0;
}

/**
 * Runs after authentication. API: per user (or IP when anonymous). Auth attempts (login, password, MFA):
 * - per (IP, account): the guide's 5/min burst 5, so colleagues behind one NAT'd address do not share it;
 * - per IP: a wider bucket, so one address cannot spray many accounts;
 * - per account, across every IP, counting failed attempts (a success gives its token back): spraying one account
 *   from many addresses stops here. When it is empty, attempts without a second factor are refused, but a login
 *   carrying a TOTP / recovery code still reaches auth: an attacker who fails on purpose cannot keep an MFA user
 *   (an admin) out.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly authPerAccountIp: RateLimiter;
  private readonly authPerIp: RateLimiter;
  private readonly authAccountFailures: RateLimiter;
  private readonly api: RateLimiter;
  listener: RateLimitListener | null = null;

  constructor(
    private readonly reflector: Reflector,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Optional() @Inject(RATE_LIMIT_LISTENER) listener?: RateLimitListener,
  ) {
    this.listener = listener ?? null;
    this.authPerAccountIp = new RateLimiter(config.RATE_LIMIT_AUTH_PER_MINUTE, config.RATE_LIMIT_AUTH_BURST);
    this.authPerIp = new RateLimiter(config.RATE_LIMIT_AUTH_IP_PER_MINUTE, config.RATE_LIMIT_AUTH_IP_PER_MINUTE);
    this.authAccountFailures = new RateLimiter(config.RATE_LIMIT_AUTH_ACCOUNT_FAILURES_PER_MINUTE, config.RATE_LIMIT_AUTH_ACCOUNT_FAILURES_PER_MINUTE);
    this.api = new RateLimiter(config.RATE_LIMIT_API_PER_MINUTE, config.RATE_LIMIT_API_PER_MINUTE);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const bucket = this.reflector.getAllAndOverride<string>(RATE_LIMIT_BUCKET, [context.getHandler(), context.getClass()]);
    if (bucket === 'auth') return this.authAttempt(req, context.switchToHttp().getResponse<FastifyReply>());
    if (bucket === 'edge') {
      if (this.api.take(req.user ? `user:${req.user.user_id}` : `ip:${req.ip}`) !== 0) (req as AuthedRequest & { [EDGE_RATE_LIMITED]?: true })[EDGE_RATE_LIMITED] = true;
      return true;
    }
    return this.check(req, 'api', this.api.take(req.user ? `user:${req.user.user_id}` : `ip:${req.ip}`));
  }

  private authAttempt(req: AuthedRequest, reply: FastifyReply): boolean {
    const account = attemptAccount(req) ?? 'none';
    const failuresKey = `acct:${account}`;
    // The account's token is taken up front (a burst of concurrent attempts cannot all slip past an empty bucket)
    // and given back if the attempt succeeds; an attempt with a second factor is never refused here, only charged.
    const secondFactor = hasSecondFactor(req);
    if (!secondFactor) this.check(req, 'auth attempts (account)', this.authAccountFailures.take(failuresKey));
    const refundAccount = () => {
      if (!secondFactor) this.authAccountFailures.refund(failuresKey);
    };
    try {
      this.check(req, 'auth attempts', this.authPerAccountIp.take(`ipacct:${req.ip}|${account}`));
      this.check(req, 'auth attempts (address)', this.authPerIp.take(`ip:${req.ip}`));
    } catch (err) {
      refundAccount(); // refused by another limit: auth never saw it
      throw err;
    }
    reply.raw.once('finish', () => {
      const status = reply.raw.statusCode;
      const failed = status >= 400 && status < 500 && status !== 429;
      if (!failed) refundAccount();
      else if (secondFactor) this.authAccountFailures.take(failuresKey);
    });
    return true;
  }

  private check(req: AuthedRequest, name: string, wait: number): true {
    if (wait === 0) return true;
    this.listener?.(req, name, wait);
    throw new RateLimitedException(wait, name);
  }
}
