import { DynamicModule, Global, Module } from '@nestjs/common';
import { InternalTokens } from '@opsdesk/auth';
import { internalTokensFor } from '@opsdesk/platform';
import { AUDIT_CONFIG, type AuditConfig } from './audit.config';

/** The validated config, plus the internal-token verifier the export routes need. */
@Global()
@Module({})
export class AuditConfigModule {
  static forRoot(config: AuditConfig): DynamicModule {
    return {
      module: AuditConfigModule,
      providers: [
        { provide: AUDIT_CONFIG, useValue: config },
        { provide: InternalTokens, useValue: internalTokensFor('audit', config) },
      ],
      exports: [AUDIT_CONFIG, InternalTokens],
    };
  }
}
