import { Module } from '@nestjs/common';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { UploadsController } from './uploads.controller';
import { UploadsService } from './uploads.service';

@Module({ imports: [ArtifactsModule], controllers: [UploadsController], providers: [UploadsService] })
export class UploadsModule {}
