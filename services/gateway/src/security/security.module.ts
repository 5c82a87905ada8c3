import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import {
  AccessTokenVerifier,
  AuthenticationGuard,
  JwksCache,
  DENIED_LISTENER,
  PermissionsGuard,
  RevocationStore,
  createApiTokenStrategy,
  createJwtStrategy,
} from '@opsdesk/authn';
import { AUTH_JWKS_PATTERN, AuthRpc } from '@opsdesk/contracts';
import { NATS_HANDLES, RpcCallError, RpcClient, type NatsHandles } from '@opsdesk/messaging';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { SecurityEventReporter } from '../events/security-event-reporter';
import { GatewayEventsModule } from '../events/events.module';
import { deniedEvent, rateLimitedEvent } from '../events/security-events';
import type { AuthedRequest } from '../common/request-context';
import { RATE_LIMIT_LISTENER, RateLimitGuard, type RateLimitListener } from './rate-limit.guard';
import type { DeniedListener } from '@opsdesk/authn';

@Injectable()
class RevocationStoreLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(RevocationStore) private readonly store: RevocationStore,
    @Inject(AccessTokenVerifier) private readonly verifier: AccessTokenVerifier,
  ) {}
  onApplicationShutdown(): void {
    this.store.stop();
    this.verifier.stop();
  }
}

/**
 * Access-token verification. EdDSA (default): auth's public keys only, fetched over RPC (`auth.jwks`) at
 * boot and cached; the gateway's configuration has no signing key, so it cannot mint an access token.
 * HS*: the shared JWT_SECRET (the weaker, guide-compatible mode).
 */
async function accessTokenVerifier(config: GatewayConfig, rpc: RpcClient): Promise<AccessTokenVerifier> {
  if (config.JWT_ALGORITHM !== 'EdDSA') return AccessTokenVerifier.hmac(config.JWT_ALGORITHM, config.JWT_SECRET);
  const log = new Logger('JwksCache');
  const cache = new JwksCache({
    fetch: () => rpc.call(AUTH_JWKS_PATTERN, {}, { actor: null, request_id: null }, 5000),
    refreshIntervalMs: config.JWKS_REFRESH_SECONDS * 1000,
    onError: (err) => log.warn(`access-token keys (JWKS) not refreshed: ${err instanceof Error ? err.message : String(err)}`),
  });
  // one attempt before serving (auth is normally up first); readiness stays false until a set is loaded
  await cache.start();
  return AccessTokenVerifier.fromJwks(cache);
}

/**
 * Authentication (API token, then JWT), rate limits and RBAC, applied to every route in that order.
 * Routes opt out of authentication with @Public().
 */
@Global()
@Module({
  imports: [PassportModule, GatewayEventsModule],
  providers: [
    {
      provide: RevocationStore,
      inject: [GATEWAY_CONFIG, NATS_HANDLES],
      useFactory: async (config: GatewayConfig, nats: NatsHandles) => {
        const store = new RevocationStore((config.JWT_EXPIRATION_HOURS + 1) * 3600_000);
        await store.start(nats.js, config.REVOCATION_BUCKET);
        return store;
      },
    },
    {
      provide: AccessTokenVerifier,
      inject: [GATEWAY_CONFIG, RpcClient],
      useFactory: accessTokenVerifier,
    },
    RevocationStoreLifecycle,
    {
      provide: 'JWT_STRATEGY',
      inject: [AccessTokenVerifier, RevocationStore],
      useFactory: (verifier: AccessTokenVerifier, store: RevocationStore) => new (createJwtStrategy({ verifier }, store))(),
    },
    {
      provide: 'API_TOKEN_STRATEGY',
      inject: [GATEWAY_CONFIG, RevocationStore, RpcClient],
      useFactory: (config: GatewayConfig, store: RevocationStore, rpc: RpcClient) =>
        new (createApiTokenStrategy(
          async (token) => {
            try {
              return await rpc.call(AuthRpc.TOKENS_VERIFY, { token }, { actor: null, request_id: null });
            } catch (err) {
              if (err instanceof RpcCallError && err.code === 'AUTH.INVALID_TOKEN') return null;
              throw err;
            }
          },
          store,
          config.API_TOKEN_CACHE_SECONDS * 1000,
        ))(),
    },
    // every 403 and 429 is counted and audited, aggregated per (source IP, route, reason) and window
    {
      provide: DENIED_LISTENER,
      inject: [SecurityEventReporter],
      useFactory: (events: SecurityEventReporter): DeniedListener => (principal, permission, req) => {
        events.report(deniedEvent(req as AuthedRequest, { permission, principal }), permission);
      },
    },
    {
      provide: RATE_LIMIT_LISTENER,
      inject: [SecurityEventReporter],
      useFactory: (events: SecurityEventReporter): RateLimitListener => (req, bucket) => {
        events.report(rateLimitedEvent(req, bucket), bucket);
      },
    },
    RateLimitGuard,
    { provide: APP_GUARD, useClass: AuthenticationGuard },
    { provide: APP_GUARD, useExisting: RateLimitGuard },
    { provide: APP_GUARD, useClass: PermissionsGuard },
  ],
  exports: [RevocationStore, RateLimitGuard, AccessTokenVerifier],
})
export class SecurityModule {}
