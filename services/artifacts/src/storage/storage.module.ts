import { Global, Module } from '@nestjs/common';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from '../config/artifacts.config';
import { BlobCollector } from './blob-collector.service';
import { BlobStore } from './blob-store';

/** The blob store (files under ARTIFACT_STORAGE_PATH) and its collector, shared by the other features. */
@Global()
@Module({
  providers: [{ provide: BlobStore, inject: [ARTIFACTS_CONFIG], useFactory: (c: ArtifactsConfig) => new BlobStore(c.ARTIFACT_STORAGE_PATH) }, BlobCollector],
  exports: [BlobStore, BlobCollector],
})
export class StorageModule {}
