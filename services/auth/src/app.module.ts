import { DynamicModule, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isDatabaseUsable } from '@opsdesk/database';
import { MessagingModule, NATS_HANDLES, isNatsUsable, type NatsHandles } from '@opsdesk/messaging';
import { HealthModule } from '@opsdesk/observability';
import { DatabaseModule } from '@opsdesk/platform';
import { natsServers } from '@opsdesk/config';
import type { AuthConfig } from './config/auth.config';
import { AuthConfigModule } from './config/auth-config.module';
import { AUTH_SCHEMA } from './database/data-source';
import { authEntities } from './database/entities';
import { authMigrations } from './database/migrations';
import { LoginModule } from './login/login.module';
import { MfaModule } from './mfa/mfa.module';
import { RevocationModule } from './revocation/revocation.module';
import { ApiTokensModule } from './tokens/api-tokens.module';
import { UsersModule } from './users/users.module';

export interface AuthAppOverrides {
  /** tests: fault injection in the outbox relay */
  relay?: Parameters<typeof MessagingModule.forRoot>[0]['relay'];
}

@Module({})
export class AppModule {
  static forRoot(config: AuthConfig, overrides: AuthAppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AuthConfigModule.forRoot(config),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: AUTH_SCHEMA,
          entities: authEntities,
          migrations: authMigrations,
          poolSize: config.DB_POOL_SIZE,
          maxOverflow: config.DB_MAX_OVERFLOW,
        }),
        MessagingModule.forRoot({
          service: 'auth',
          servers: natsServers(config.NATS_URL),
          stream: config.EVENTS_STREAM,
          streamReplicas: config.EVENTS_STREAM_REPLICAS,
          eventPrefix: config.EVENTS_SUBJECT_PREFIX,
          rpcPrefix: config.RPC_SUBJECT_PREFIX,
          requestTimeoutMs: config.REQUEST_TIMEOUT * 1000,
          schema: AUTH_SCHEMA,
          relay: overrides.relay,
        }),
        HealthModule.forRoot({
          inject: [DataSource, NATS_HANDLES],
          useFactory: (ds: DataSource, nats: NatsHandles) => [
            { name: 'database', check: () => isDatabaseUsable(ds) },
            { name: 'nats', check: () => isNatsUsable(nats.nc) },
          ],
        }),
        RevocationModule,
        LoginModule,
        UsersModule,
        MfaModule,
        ApiTokensModule,
      ],
    };
  }
}
