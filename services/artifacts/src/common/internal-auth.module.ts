import { Global, Module } from '@nestjs/common';
import { InternalTokens } from '@opsdesk/auth';
import { InternalAuthGuard, internalTokensFor } from '@opsdesk/platform';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from '../config/artifacts.config';

/** Verifies the gateway's short-lived internal tokens on the body routes (signed by the gateway's context key). */
@Global()
@Module({
  providers: [
    { provide: InternalTokens, inject: [ARTIFACTS_CONFIG], useFactory: (c: ArtifactsConfig) => internalTokensFor('artifacts', c) },
    InternalAuthGuard,
  ],
  exports: [InternalTokens, InternalAuthGuard],
})
export class InternalAuthModule {}
