import { DynamicModule, Module } from '@nestjs/common';
import type { MessagingModule } from '@opsdesk/messaging';
import { ServiceConfigModule, serviceInfrastructure } from '@opsdesk/platform';
import { AUTH_CONFIG, type AuthConfig } from './config/auth.config';
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
        ServiceConfigModule.forRoot(AUTH_CONFIG, config),
        ...serviceInfrastructure({
          service: 'auth',
          schema: AUTH_SCHEMA,
          config,
          entities: authEntities,
          migrations: authMigrations,
          relay: overrides.relay,
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
