import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { GatewayConfig } from '../config/gateway.config';
import type { AuthedRequest } from '../common/request-context';
import { EDGE_RATE_LIMITED, RateLimitGuard, RateLimitedException } from './rate-limit.guard';

/** The guard with a one-request API budget and the bucket a route's metadata would name. */
const CONFIG = {
  RATE_LIMIT_AUTH_PER_MINUTE: 5,
  RATE_LIMIT_AUTH_BURST: 5,
  RATE_LIMIT_AUTH_IP_PER_MINUTE: 30,
  RATE_LIMIT_AUTH_ACCOUNT_FAILURES_PER_MINUTE: 10,
  RATE_LIMIT_API_PER_MINUTE: 1,
} as GatewayConfig;

function guardFor(bucket: string | undefined, listener: jest.Mock) {
  const reflector = { getAllAndOverride: () => bucket } as unknown as Reflector;
  return new RateLimitGuard(reflector, CONFIG, listener);
}

function contextOf(req: Partial<AuthedRequest>): ExecutionContext {
  return {
    getHandler: () => undefined,
    getClass: () => undefined,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
}

const user = { user_id: 'u1' } as AuthedRequest['user'];

describe('RateLimitGuard: the edge ticket bucket', () => {
  it('charges the caller’s API bucket, and a refusal is only marked on the request: no 429, no event', () => {
    const listener = jest.fn();
    const guard = guardFor('edge', listener);
    const first: Partial<AuthedRequest> = { user, ip: '192.0.2.1' };
    expect(guard.canActivate(contextOf(first))).toBe(true);
    expect((first as Record<symbol, unknown>)[EDGE_RATE_LIMITED]).toBeUndefined();
    const second: Partial<AuthedRequest> = { user, ip: '192.0.2.1' };
    expect(guard.canActivate(contextOf(second))).toBe(true);
    expect((second as Record<symbol, unknown>)[EDGE_RATE_LIMITED]).toBe(true);
    expect(listener).not.toHaveBeenCalled();
  });

  it('shares the bucket with the API routes: the request nginx then sends to the gateway gets the 429 and its event', () => {
    const listener = jest.fn();
    let bucket: string | undefined = 'edge';
    const reflector = { getAllAndOverride: () => bucket } as unknown as Reflector;
    const guard = new RateLimitGuard(reflector, CONFIG, listener);
    // the ticket took the only token
    expect(guard.canActivate(contextOf({ user, ip: '192.0.2.1' }))).toBe(true);
    // the fallback request on the gateway's own route (no bucket metadata: the API limit) is refused and reported once
    bucket = undefined;
    expect(() => guard.canActivate(contextOf({ user, ip: '192.0.2.1' }))).toThrow(RateLimitedException);
    expect(listener).toHaveBeenCalledTimes(1);
  });
});
