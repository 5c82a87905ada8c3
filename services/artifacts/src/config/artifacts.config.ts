import { isAbsolute, join, resolve } from 'node:path';
import { artifactsContextPrivateKeyEnvShape, commonEnvShape, databaseEnvShape, findRepoRoot, gatewayContextPublicKeyEnvShape, intEnv, loadConfigOrExit, parseConfig, portEnv } from '@opsdesk/config';
import { z } from 'zod';

export const artifactsEnvShape = {
  ...commonEnvShape,
  ...databaseEnvShape,
  // verifies the gateway's signed RPC contexts and internal HTTP tokens (docs/SECURITY.md)
  ...gatewayContextPublicKeyEnvShape,
  // signs artifacts' own calls to inventory (inventory holds the public half)
  ...artifactsContextPrivateKeyEnvShape,
  ARTIFACTS_PORT: portEnv(8004),
  /** largest artifact accepted, enforced while streaming (the guide: 500) */
  MAX_ARTIFACT_SIZE_MB: intEnv(500, 1, 1024 * 1024),
  /** blob store root (blobs/ and tmp/ live below it, on one filesystem so renames are atomic) */
  ARTIFACT_STORAGE_PATH: z.string().min(1).default('.opsdesk/artifacts'),
  /** total size of the artifacts one user may have uploaded (0: no quota) */
  ARTIFACT_QUOTA_MB_PER_USER: intEnv(10_240, 0, 1024 * 1024 * 1024),
  /** free space the artifact storage keeps: an upload that would go below it is refused before writing (fs driver) */
  ARTIFACT_MIN_FREE_MB: intEnv(1024, 0, 1024 * 1024 * 1024),
  /** uploads one user may have in flight at once (per replica) */
  ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER: intEnv(3, 1, 1000),
  /** how often blobs no artifact references any more are collected (they are also collected right after deletes) */
  ARTIFACT_GC_INTERVAL_SECONDS: intEnv(300, 1, 86400),
};

export type ArtifactsConfig = ReturnType<typeof loadArtifactsConfig>;
export const ARTIFACTS_CONFIG = Symbol('ARTIFACTS_CONFIG');

/** A relative ARTIFACT_STORAGE_PATH is resolved against the repository root (development), else the cwd. */
function withResolvedStorage<T extends { ARTIFACT_STORAGE_PATH: string; MAX_ARTIFACT_SIZE_MB: number }>(c: T): T & { maxBytes: number } {
  const p = c.ARTIFACT_STORAGE_PATH;
  const root = findRepoRoot() ?? process.cwd();
  return { ...c, ARTIFACT_STORAGE_PATH: isAbsolute(p) ? p : resolve(join(root, p)), maxBytes: c.MAX_ARTIFACT_SIZE_MB * 1024 * 1024 };
}

export function loadArtifactsConfig(env: NodeJS.ProcessEnv = process.env) {
  return withResolvedStorage(parseConfig(artifactsEnvShape, env));
}

export function loadArtifactsConfigOrExit() {
  return withResolvedStorage(loadConfigOrExit(artifactsEnvShape));
}
