import { Global, Module } from '@nestjs/common';
import { InternalTokens } from '@opsdesk/auth';
import { InternalAuthGuard } from '@opsdesk/platform';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from '../config/artifacts.config';

/** Verifies the gateway's short-lived internal tokens on the body routes (same secret as the gateway). */
@Global()
@Module({
  providers: [
    { provide: InternalTokens, inject: [ARTIFACTS_CONFIG], useFactory: (c: ArtifactsConfig) => new InternalTokens(c.INTERNAL_TOKEN_SECRET ?? c.JWT_SECRET) },
    InternalAuthGuard,
  ],
  exports: [InternalTokens, InternalAuthGuard],
})
export class InternalAuthModule {}
