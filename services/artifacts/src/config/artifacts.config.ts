import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import {
  ConfigError,
  artifactsContextPrivateKeyEnvShape,
  boolEnv,
  commonEnvShape,
  databaseEnvShape,
  findRepoRoot,
  gatewayContextPublicKeyEnvShape,
  intEnv,
  loadConfigOrExit,
  parseConfig,
  portEnv,
} from '@opsdesk/config';
import { z } from 'zod';
import { defaultInstanceId } from '../storage/temp-owner';

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
  /** where blobs live: `fs` (files under ARTIFACT_STORAGE_PATH, the default) or `s3` (an S3-compatible bucket) */
  ARTIFACT_STORAGE_DRIVER: z.enum(['fs', 's3'], { message: 'must be fs or s3' }).default('fs'),
  /** blob store root of the fs driver (blobs/ and tmp/ live below it, on one filesystem so renames are atomic) */
  ARTIFACT_STORAGE_PATH: z.string().min(1).default('.opsdesk/artifacts'),
  /** total size of the artifacts one user may have uploaded (0: no quota) */
  ARTIFACT_QUOTA_MB_PER_USER: intEnv(10_240, 0, 1024 * 1024 * 1024),
  /** free space the artifact storage keeps: an upload that would go below it is refused before writing (fs driver) */
  ARTIFACT_MIN_FREE_MB: intEnv(1024, 0, 1024 * 1024 * 1024),
  /** uploads one user may have in flight at once (per replica) */
  ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER: intEnv(3, 1, 1000),
  /** how often blobs no artifact references any more are collected (they are also collected right after deletes) */
  ARTIFACT_GC_INTERVAL_SECONDS: intEnv(300, 1, 86400),
  /**
   * Crash leftovers (another replica's temp uploads, stored objects with no metadata row) are removed only once
   * older than this; also the period of that sweep. Live uploads refresh their temps several times per period.
   */
  ARTIFACT_ORPHAN_GRACE_SECONDS: intEnv(3600, 1, 30 * 86400),
  /** this replica's name in its temp uploads; unique per replica (default: the host name, unique per pod/container) */
  ARTIFACT_INSTANCE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dots, _ or -').optional(),
  /** S3 driver: endpoint URL of an S3-compatible store (MinIO, Ceph RGW); unset means AWS S3 in S3_REGION */
  S3_ENDPOINT: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be an http:// or https:// URL (http://host:port)')
    .optional(),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)')
    .optional(),
  S3_REGION: z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be a region name such as us-east-1').default('us-east-1'),
  /** path-style URLs (http://host/bucket/key): MinIO, Ceph RGW and most self-hosted stores need it */
  S3_FORCE_PATH_STYLE: boolEnv(false),
  /** key prefix inside the bucket, so several deployments can share one */
  S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, "must be '' or path segments ending in / (letters, digits, . _ -)")
    .default(''),
  /** static credentials; unset: the AWS SDK's default chain (AWS_* variables, web identity, instance profile) */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** the secret key read from a file (a mounted secret) instead of S3_SECRET_ACCESS_KEY */
  S3_SECRET_ACCESS_KEY_FILE: z.string().min(1).optional(),
};

/** CopyObject (the commit to the content address) copies at most 5 GiB in one request. */
const S3_MAX_OBJECT_MB = 5 * 1024;

type ParsedEnv = z.infer<z.ZodObject<typeof artifactsEnvShape>>;

export interface S3Settings {
  endpoint?: string;
  region: string;
  bucket: string;
  /** key prefix inside the bucket ('' or ending in '/') */
  prefix: string;
  forcePathStyle: boolean;
  /** absent: the SDK's default chain (AWS_* variables, web identity, instance profile) */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export type ArtifactsConfig = ReturnType<typeof loadArtifactsConfig>;
export const ARTIFACTS_CONFIG = Symbol('ARTIFACTS_CONFIG');

/**
 * Rules across variables (one clear line naming the variable, like parseConfig's): the s3 driver needs a bucket,
 * credentials come as a pair, the secret from one place. A relative ARTIFACT_STORAGE_PATH is resolved against
 * the repository root (development), else the cwd.
 */
function complete(c: ParsedEnv) {
  const p = c.ARTIFACT_STORAGE_PATH;
  const root = findRepoRoot() ?? process.cwd();
  let s3: S3Settings | null = null;
  if (c.ARTIFACT_STORAGE_DRIVER === 's3') {
    if (!c.S3_BUCKET) throw new ConfigError('S3_BUCKET', 'is required when ARTIFACT_STORAGE_DRIVER=s3');
    if (c.MAX_ARTIFACT_SIZE_MB > S3_MAX_OBJECT_MB)
      throw new ConfigError('MAX_ARTIFACT_SIZE_MB', `must be at most ${S3_MAX_OBJECT_MB} with ARTIFACT_STORAGE_DRIVER=s3 (one server-side copy commits an upload)`);
    if (c.S3_SECRET_ACCESS_KEY && c.S3_SECRET_ACCESS_KEY_FILE) throw new ConfigError('S3_SECRET_ACCESS_KEY_FILE', 'must not be set together with S3_SECRET_ACCESS_KEY');
    let secret = c.S3_SECRET_ACCESS_KEY;
    if (c.S3_SECRET_ACCESS_KEY_FILE) {
      try {
        secret = readFileSync(c.S3_SECRET_ACCESS_KEY_FILE, 'utf8').trim();
      } catch (err) {
        throw new ConfigError('S3_SECRET_ACCESS_KEY_FILE', `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      if (!secret) throw new ConfigError('S3_SECRET_ACCESS_KEY_FILE', 'names an empty file');
    }
    if (c.S3_ACCESS_KEY_ID && !secret) throw new ConfigError('S3_SECRET_ACCESS_KEY', 'is required with S3_ACCESS_KEY_ID (or S3_SECRET_ACCESS_KEY_FILE)');
    if (!c.S3_ACCESS_KEY_ID && secret) throw new ConfigError('S3_ACCESS_KEY_ID', 'is required with a secret access key');
    s3 = {
      endpoint: c.S3_ENDPOINT,
      region: c.S3_REGION,
      bucket: c.S3_BUCKET,
      prefix: c.S3_PREFIX,
      forcePathStyle: c.S3_FORCE_PATH_STYLE,
      credentials: c.S3_ACCESS_KEY_ID && secret ? { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: secret } : undefined,
    };
  }
  return {
    ...c,
    ARTIFACT_STORAGE_PATH: isAbsolute(p) ? p : resolve(join(root, p)),
    maxBytes: c.MAX_ARTIFACT_SIZE_MB * 1024 * 1024,
    instanceId: c.ARTIFACT_INSTANCE_ID ?? defaultInstanceId(),
    s3,
  };
}

export function loadArtifactsConfig(env: NodeJS.ProcessEnv = process.env) {
  return complete(parseConfig(artifactsEnvShape, env));
}

export function loadArtifactsConfigOrExit() {
  const parsed = loadConfigOrExit(artifactsEnvShape);
  try {
    return complete(parsed);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG, as loadConfigOrExit
    }
    throw err;
  }
}
