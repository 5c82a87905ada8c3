import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import {
  AuthenticationGuard,
  DENIED_LISTENER,
  PermissionsGuard,
  RevocationStore,
  createApiTokenStrategy,
  createJwtStrategy,
} from '@opsdesk/auth';
import { RpcPatterns, type VerifiedPrincipal } from '@opsdesk/contracts';
import { NATS_HANDLES, RpcCallError, RpcClient, type NatsHandles } from '@opsdesk/messaging';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { GatewayEventPublisher } from '../events/gateway-event.publisher';
import { GatewayEventsModule } from '../events/events.module';
import { deniedEvent, rateLimitedEvent } from '../events/security-events';
import type { AuthedRequest } from '../common/request-context';
import { RATE_LIMIT_LISTENER, RateLimitGuard, type RateLimitListener } from './rate-limit.guard';
import type { DeniedListener } from '@opsdesk/auth';

@Injectable()
class RevocationStoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(RevocationStore) private readonly store: RevocationStore) {}
  onApplicationShutdown(): void {
    this.store.stop();
  }
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
    RevocationStoreLifecycle,
    {
      provide: 'JWT_STRATEGY',
      inject: [GATEWAY_CONFIG, RevocationStore],
      useFactory: (config: GatewayConfig, store: RevocationStore) =>
        new (createJwtStrategy({ secret: config.JWT_SECRET, algorithm: config.JWT_ALGORITHM }, store))(),
    },
    {
      provide: 'API_TOKEN_STRATEGY',
      inject: [GATEWAY_CONFIG, RevocationStore, RpcClient],
      useFactory: (config: GatewayConfig, store: RevocationStore, rpc: RpcClient) =>
        new (createApiTokenStrategy(
          async (token) => {
            try {
              return await rpc.call<VerifiedPrincipal>(RpcPatterns.Auth.TOKENS_VERIFY, { token }, { actor: null, request_id: null });
            } catch (err) {
              if (err instanceof RpcCallError && err.code === 'AUTH.INVALID_TOKEN') return null;
              throw err;
            }
          },
          store,
          config.API_TOKEN_CACHE_SECONDS * 1000,
        ))(),
    },
    // every 403 and 429 becomes an event (gateway.request.denied, gateway.rate.limited)
    {
      provide: DENIED_LISTENER,
      inject: [GatewayEventPublisher],
      useFactory: (events: GatewayEventPublisher): DeniedListener => (principal, permission, req) => {
        events.emit(deniedEvent(req as AuthedRequest, { permission, principal }));
      },
    },
    {
      provide: RATE_LIMIT_LISTENER,
      inject: [GatewayEventPublisher],
      useFactory: (events: GatewayEventPublisher): RateLimitListener => (req, bucket, retryAfter) => {
        events.emit(rateLimitedEvent(req, bucket, retryAfter));
      },
    },
    RateLimitGuard,
    { provide: APP_GUARD, useClass: AuthenticationGuard },
    { provide: APP_GUARD, useExisting: RateLimitGuard },
    { provide: APP_GUARD, useClass: PermissionsGuard },
  ],
  exports: [RevocationStore, RateLimitGuard],
})
export class SecurityModule {}
