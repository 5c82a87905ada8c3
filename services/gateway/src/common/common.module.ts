import { Global, Module } from '@nestjs/common';
import { ContextSigner, InternalTokenIssuer } from '@opsdesk/authn';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { InternalProxy } from './internal-proxy';

/** Shared gateway services available to every feature module. */
@Global()
@Module({
  providers: [
    {
      // internal HTTP tokens are signed with the same context key as the RPC contexts (docs/SECURITY.md)
      provide: InternalTokenIssuer,
      inject: [GATEWAY_CONFIG],
      useFactory: (c: GatewayConfig) => new InternalTokenIssuer(new ContextSigner('gateway', c.GATEWAY_CONTEXT_PRIVATE_KEY)),
    },
    InternalProxy,
  ],
  exports: [InternalTokenIssuer, InternalProxy],
})
export class CommonModule {}
