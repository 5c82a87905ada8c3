import { Global, Logger, Module } from '@nestjs/common';
import { AUTH_CONFIG, type AuthConfig } from '../config/auth.config';
import { AccessTokenKeys } from './access-token-keys';
import { JwksController } from './jwks.controller';

@Global()
@Module({
  providers: [
    {
      provide: AccessTokenKeys,
      inject: [AUTH_CONFIG],
      useFactory: (config: AuthConfig) => {
        const keys = new AccessTokenKeys(config);
        if (keys.ephemeral) {
          new Logger('AccessTokenKeys').warn(`JWT_PRIVATE_KEY not set: signing access tokens with a key generated for this process only (kid ${keys.kid})`);
        }
        return keys;
      },
    },
  ],
  controllers: [JwksController],
  exports: [AccessTokenKeys],
})
export class KeysModule {}
