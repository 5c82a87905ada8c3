import { Module } from '@nestjs/common';
import { ArtifactsController } from './artifacts.controller';

/** HTTP routes for /api/artifacts and /api/hosts/:id/artifacts (bodies streamed to the artifacts service). */
@Module({ controllers: [ArtifactsController] })
export class ArtifactsModule {}
