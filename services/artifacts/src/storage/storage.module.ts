import { Global, Module } from '@nestjs/common';
import { registerStorageMetrics } from '@opsdesk/observability';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from '../config/artifacts.config';
import { BlobCollector } from './blob-collector.service';
import { BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';

/** The blob store selected by ARTIFACT_STORAGE_DRIVER, and its collector, shared by the other features. */
export function createBlobStore(c: ArtifactsConfig): BlobStore {
  if (c.ARTIFACT_STORAGE_DRIVER === 's3') {
    const s3 = c.s3;
    if (!s3) throw new Error('ARTIFACT_STORAGE_DRIVER=s3 without S3 settings'); // validated at load; unreachable
    // loaded for this driver only: the AWS SDK adds ~0.4 s to every start of an fs deployment
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose (see above)
    const { S3BlobStore } = require('./s3-blob-store') as typeof import('./s3-blob-store');
    return new S3BlobStore({ ...s3, instance: c.instanceId });
  }
  // free and total bytes of the filesystem under the blobs (OpsDeskArtifactStorageLow); a bucket has no such limit
  registerStorageMetrics('artifacts', c.ARTIFACT_STORAGE_PATH);
  return new FsBlobStore(c.ARTIFACT_STORAGE_PATH, c.instanceId);
}

@Global()
@Module({
  providers: [{ provide: BlobStore, inject: [ARTIFACTS_CONFIG], useFactory: createBlobStore }, BlobCollector],
  exports: [BlobStore, BlobCollector],
})
export class StorageModule {}
