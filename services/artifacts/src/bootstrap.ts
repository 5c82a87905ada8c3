import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrapService } from '@opsdesk/platform';
import { AppModule, type ArtifactsAppOverrides } from './app.module';
import { loadArtifactsConfig, type ArtifactsConfig } from './config/artifacts.config';

/** Used by main.ts and by tests that boot the service in-process. */
export function bootstrapArtifacts(config: ArtifactsConfig, overrides: ArtifactsAppOverrides & { quiet?: boolean } = {}): Promise<NestFastifyApplication> {
  return bootstrapService({
    service: 'artifacts',
    module: AppModule.forRoot(config, overrides),
    config,
    port: config.ARTIFACTS_PORT,
    quiet: overrides.quiet,
    configure: (app) => {
      // Upload bodies are streamed by the route itself (its multipart reader on req.raw): Fastify must not parse or buffer them.
      app.getHttpAdapter().getInstance().addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null));
    },
  });
}

/** Convention shared by every service (used by the e2e stack): boot from an environment map. */
export function bootstrapFromEnv(env: NodeJS.ProcessEnv, opts: ArtifactsAppOverrides & { quiet?: boolean } = {}): Promise<NestFastifyApplication> {
  return bootstrapArtifacts(loadArtifactsConfig(env), opts);
}
