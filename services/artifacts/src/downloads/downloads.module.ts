import { Module } from '@nestjs/common';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { DownloadsController } from './downloads.controller';
import { DownloadsService } from './downloads.service';

@Module({ imports: [ArtifactsModule], controllers: [DownloadsController], providers: [DownloadsService] })
export class DownloadsModule {}
