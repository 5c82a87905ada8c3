import { Global, Module } from '@nestjs/common';
import { InternalTokens } from '@opsdesk/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { InternalProxy } from './internal-proxy';

/** Shared gateway services available to every feature module. */
@Global()
@Module({
  providers: [
    {
      provide: InternalTokens,
      inject: [GATEWAY_CONFIG],
      useFactory: (c: GatewayConfig) => new InternalTokens(c.INTERNAL_TOKEN_SECRET ?? c.JWT_SECRET),
    },
    InternalProxy,
  ],
  exports: [InternalTokens, InternalProxy],
})
export class CommonModule {}
