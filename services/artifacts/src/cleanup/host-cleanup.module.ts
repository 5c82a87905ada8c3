import { Module } from '@nestjs/common';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { HostCleanupService } from './host-cleanup.service';

@Module({ imports: [ArtifactsModule], providers: [HostCleanupService] })
export class HostCleanupModule {}
