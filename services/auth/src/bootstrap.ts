import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrapService } from '@opsdesk/platform';
import { AppModule, type AuthAppOverrides } from './app.module';
import { loadAuthConfig, type AuthConfig } from './config/auth.config';

/** Used by main.ts and by tests that boot the service in-process. */
export function bootstrapAuth(config: AuthConfig, overrides: AuthAppOverrides & { quiet?: boolean } = {}): Promise<NestFastifyApplication> {
  return bootstrapService({
    service: 'auth',
    module: AppModule.forRoot(config, overrides),
    config,
    port: config.AUTH_PORT,
    quiet: overrides.quiet,
  });
}

/** Convention shared by every service (used by the e2e stack): boot from an environment map. */
export function bootstrapFromEnv(env: NodeJS.ProcessEnv, opts: AuthAppOverrides & { quiet?: boolean } = {}): Promise<NestFastifyApplication> {
  return bootstrapAuth(loadAuthConfig(env), opts);
}
