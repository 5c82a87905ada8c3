import { DynamicModule, Module } from '@nestjs/common';
import { ServiceConfigModule } from '@opsdesk/platform';
import { natsServers } from '@opsdesk/config';
import { AccessTokenVerifier, ContextSigner, RevocationStore, batchedRpcContextSigner } from '@opsdesk/authn';
import { MessagingModule, NATS_HANDLES, isNatsUsable, type NatsHandles } from '@opsdesk/messaging';
import { HealthModule } from '@opsdesk/observability';
import { AuthModule } from './auth/auth.module';
import { CommonModule } from './common/common.module';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config';
import { SecurityModule } from './security/security.module';
import { UsersModule } from './users/users.module';
import { HostsModule } from './hosts/hosts.module';
import { SettingsModule } from './settings/settings.module';
import { AuditModule } from './audit/audit.module';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { EdgeModule } from './edge/edge.module';

@Module({})
export class AppModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceConfigModule.forRoot(GATEWAY_CONFIG, config),
        MessagingModule.forRoot({
          service: 'gateway',
          servers: natsServers(config.NATS_URL),
          credentials: { user: config.NATS_USER, pass: config.NATS_PASSWORD },
          stream: config.EVENTS_STREAM,
          streamReplicas: config.NATS_STREAM_REPLICAS,
          eventPrefix: config.EVENTS_SUBJECT_PREFIX,
          rpcPrefix: config.RPC_SUBJECT_PREFIX,
          requestTimeoutMs: config.REQUEST_TIMEOUT * 1000,
          // every RPC carries a caller context signed with the gateway's key (docs/SECURITY.md); the contexts of
          // requests sent in the same event-loop turn share one signature over their Merkle root
          signRpcContext: batchedRpcContextSigner(new ContextSigner('gateway', config.GATEWAY_CONTEXT_PRIVATE_KEY)),
        }),
        SecurityModule,
        CommonModule,
        HealthModule.forRoot({
          inject: [NATS_HANDLES, RevocationStore, AccessTokenVerifier],
          useFactory: (nats: NatsHandles, store: RevocationStore, verifier: AccessTokenVerifier) => [
            { name: 'nats', check: () => isNatsUsable(nats.nc) },
            { name: 'revocations', check: async () => store.ready },
            // access-token public keys loaded from auth (always true with an HS* JWT_ALGORITHM)
            { name: 'jwks', check: async () => verifier.ready },
          ],
        }),
        AuthModule,
        UsersModule,
        HostsModule,
        SettingsModule,
        AuditModule,
        ArtifactsModule,
        EdgeModule,
      ],
    };
  }
}
