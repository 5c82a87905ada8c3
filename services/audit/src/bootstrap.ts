import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrapService } from '@opsdesk/platform';
import { AppModule, type AuditAppOverrides } from './app.module';
import { loadAuditConfig, type AuditConfig } from './config/audit.config';

/** Used by main.ts and by tests that boot the service in-process. */
export function bootstrapAudit(config: AuditConfig, overrides: AuditAppOverrides & { quiet?: boolean } = {}): Promise<NestFastifyApplication> {
  return bootstrapService({
    service: 'audit',
    module: AppModule.forRoot(config, overrides),
    config,
    port: config.AUDIT_PORT,
    quiet: overrides.quiet,
  });
}

/** Convention shared by every service (used by the e2e stack): boot from an environment map. */
export function bootstrapFromEnv(env: NodeJS.ProcessEnv, opts: AuditAppOverrides & { quiet?: boolean } = {}): Promise<NestFastifyApplication> {
  return bootstrapAudit(loadAuditConfig(env), opts);
}
