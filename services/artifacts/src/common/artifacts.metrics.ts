import { counter, gauge, histogram } from '@opsdesk/observability';

const SIZE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Artifact metrics; `opsdesk_artifact_uploads_total` is the name the deployment guide's alert uses. */
export const ArtifactMetrics = {
  uploads: () => counter('opsdesk_artifact_uploads_total', 'Artifacts uploaded (stored and recorded)'),
  uploadFailures: () => counter('opsdesk_artifact_upload_failures_total', 'Uploads refused or aborted, by reason', ['reason']),
  uploadBytes: () => counter('opsdesk_artifact_upload_bytes_total', 'Bytes received in artifact uploads'),
  downloads: () => counter('opsdesk_artifact_downloads_total', 'Artifact downloads started, by kind (full, partial)', ['kind']),
  downloadBytes: () => counter('opsdesk_artifact_download_bytes_total', 'Bytes sent in artifact downloads'),
  uploadDuration: () => histogram('opsdesk_artifact_upload_duration_seconds', 'Upload duration, body received to metadata committed', [], SIZE_BUCKETS),
  downloadDuration: () => histogram('opsdesk_artifact_download_duration_seconds', 'Download duration, first to last byte', [], SIZE_BUCKETS),
  verifications: () => counter('opsdesk_artifact_verifications_total', 'Blob verifications by result', ['result']),
  storageBytes: () => gauge('opsdesk_artifact_storage_bytes', 'Bytes of distinct blobs stored (deduplicated)'),
  blobs: () => gauge('opsdesk_artifact_blobs', 'Distinct blobs stored'),
  blobsCollected: () => counter('opsdesk_artifact_blobs_collected_total', 'Unreferenced blobs removed from storage'),
  storageSwept: () => counter('opsdesk_artifact_storage_swept_total', 'Crash leftovers removed from storage, by what (temp, multipart, orphan)', ['what']),
  storageSweeps: () => counter('opsdesk_artifact_storage_sweeps_total', 'Storage sweeps completed (temps, abandoned multipart uploads, orphan blobs)'),
  uploadsInProgress: () => gauge('opsdesk_artifact_uploads_in_progress', 'Upload bodies being received by this replica'),
};
