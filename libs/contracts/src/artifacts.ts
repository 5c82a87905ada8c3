import { z } from 'zod';

/**
 * Artifacts contracts: RPC patterns (`artifacts.<op>`, sent under the RPC prefix), request/response schemas and
 * payload types shared by services/artifacts and the gateway. No Nest or DB imports here.
 *
 * Small JSON operations (list, metadata, delete, verify) travel over NATS RPC; bodies (upload, download) only
 * over the artifacts service's internal HTTP port (SPEC §2), at the paths in ArtifactsInternalPaths.
 */
export const ArtifactsRpc = {
  LIST: 'artifacts.list',
  GET: 'artifacts.get',
  DELETE: 'artifacts.delete',
  VERIFY: 'artifacts.verify',
  /** data {} -> ArtifactLimitsView (GET /api/settings/runtime shows them) */
  LIMITS: 'artifacts.limits',
} as const;

/** Internal HTTP routes of the artifacts service (never exposed publicly; the gateway signs an internal token per path). */
export const ArtifactsInternalPaths = {
  upload: (hostId: string) => `/internal/hosts/${hostId}/artifacts`,
  download: (artifactId: string) => `/internal/artifacts/${artifactId}/download`,
} as const;

/** Error codes; their HTTP statuses are in the one table, http-status.ts. A refusal for lack of permission is ErrorCodes.FORBIDDEN, as everywhere. */
export const ArtifactsErrors = {
  NOT_FOUND: 'ARTIFACTS.NOT_FOUND',
  HOST_NOT_FOUND: 'ARTIFACTS.HOST_NOT_FOUND',
  TOO_LARGE: 'ARTIFACTS.TOO_LARGE',
  FILE_REQUIRED: 'ARTIFACTS.FILE_REQUIRED',
  INVALID_UPLOAD: 'ARTIFACTS.INVALID_UPLOAD',
  RANGE_NOT_SATISFIABLE: 'ARTIFACTS.RANGE_NOT_SATISFIABLE',
  /** the stored blob failed verification: it is never served as good */
  INTEGRITY_CONFLICT: 'ARTIFACTS.INTEGRITY_CONFLICT',
  INVENTORY_UNAVAILABLE: 'ARTIFACTS.INVENTORY_UNAVAILABLE',
  /** the uploader's artifacts would exceed ARTIFACT_QUOTA_MB_PER_USER (507, before anything is written) */
  QUOTA_EXCEEDED: 'ARTIFACTS.QUOTA_EXCEEDED',
  /** the artifact storage would fall below ARTIFACT_MIN_FREE_MB (507, before anything is written) */
  STORAGE_FULL: 'ARTIFACTS.STORAGE_FULL',
  /** the uploader already has ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER uploads in flight on this replica (429) */
  TOO_MANY_UPLOADS: 'ARTIFACTS.TOO_MANY_UPLOADS',
} as const;

/** `binary`: executables and core files (the original's type); served like every kind, never inline */
export const ArtifactKinds = ['log', 'config', 'crash_dump', 'support_bundle', 'binary', 'other'] as const;
export type ArtifactKind = (typeof ArtifactKinds)[number];
export const artifactKindSchema = z.enum(ArtifactKinds);

/** The non-file fields of a multipart upload (the file part is named `file`). */
export const uploadFieldsSchema = z.object({
  kind: artifactKindSchema,
  description: z.string().trim().max(2000).optional().transform((v) => (v ? v : null)),
});
export type UploadFields = z.infer<typeof uploadFieldsSchema>;

const isoTime = z.string().datetime({ offset: true, message: 'must be an ISO 8601 date-time with offset' });

export const listArtifactsSchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().max(500).optional(),
    skip: z.coerce.number().int().min(0).max(100000).optional(),
    host_id: z.string().uuid({ message: 'must be a UUID' }).optional(),
    kind: artifactKindSchema.optional(),
    uploaded_by: z.string().uuid({ message: 'must be a UUID' }).optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256').optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
  })
  .strict();
export type ListArtifactsRequest = z.infer<typeof listArtifactsSchema>;

export const artifactIdSchema = z.object({ id: z.string().uuid({ message: 'must be a UUID' }) });

/** Public artifact metadata (snake_case, SPEC §4). */
export interface ArtifactView {
  id: string;
  host_id: string;
  /** the client's name, kept for display only (never used as a path); control characters removed */
  original_name: string;
  /** the safe name used for downloads (Content-Disposition) */
  filename: string;
  kind: ArtifactKind;
  description: string | null;
  size: number;
  sha256: string;
  /** detected from the content's magic bytes, not from the client's claim */
  content_type: string;
  uploaded_by: string;
  uploaded_by_email: string | null;
  uploaded_at: string;
  last_verified_at: string | null;
  /** null: never verified; false: the stored blob did not match sha256 when last checked */
  last_verify_ok: boolean | null;
}

export interface VerifyResult {
  artifact_id: string;
  ok: boolean;
  expected_sha256: string;
  /** null when the blob is missing */
  actual_sha256: string | null;
  expected_size: number;
  actual_size: number | null;
  verified_at: string;
}

/** Upload limits of the artifacts service (non-secret; shown by GET /api/settings/runtime). */
export interface ArtifactLimitsView {
  max_artifact_size_mb: number;
  max_artifact_size_bytes: number;
}
