import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@opsdesk/config';
import { contextKeyEnv } from '@opsdesk/testing';
import { loadArtifactsConfig } from './artifacts.config';

describe('artifacts storage configuration', () => {
  const base: NodeJS.ProcessEnv = { ENVIRONMENT: 'development', DATABASE_URL: 'postgres://a@127.0.0.1/db', ...contextKeyEnv() };
  const s3 = { ...base, ARTIFACT_STORAGE_DRIVER: 's3', S3_BUCKET: 'opsdesk-artifacts' };

  it('defaults to the fs driver with no S3 settings, a one-hour grace and the host name as instance id', () => {
    const c = loadArtifactsConfig(base);
    expect(c.ARTIFACT_STORAGE_DRIVER).toBe('fs');
    expect(c.s3).toBeNull();
    expect(c.ARTIFACT_ORPHAN_GRACE_SECONDS).toBe(3600);
    expect(c.instanceId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  });

  it('refuses an unknown driver, and s3 without a bucket, naming the variable', () => {
    expect(() => loadArtifactsConfig({ ...base, ARTIFACT_STORAGE_DRIVER: 'nfs' })).toThrow(new ConfigError('ARTIFACT_STORAGE_DRIVER', 'must be fs or s3'));
    expect(() => loadArtifactsConfig({ ...base, ARTIFACT_STORAGE_DRIVER: 's3' })).toThrow(new ConfigError('S3_BUCKET', 'is required when ARTIFACT_STORAGE_DRIVER=s3'));
    expect(() => loadArtifactsConfig({ ...s3, S3_BUCKET: 'Not_A_Bucket' })).toThrow(ConfigError);
    expect(() => loadArtifactsConfig({ ...s3, S3_ENDPOINT: 'minio:9000' })).toThrow(/S3_ENDPOINT/);
    expect(() => loadArtifactsConfig({ ...s3, S3_PREFIX: 'no-slash' })).toThrow(/S3_PREFIX/);
    expect(() => loadArtifactsConfig({ ...base, ARTIFACT_INSTANCE_ID: 'a/b' })).toThrow(/ARTIFACT_INSTANCE_ID/);
    expect(() => loadArtifactsConfig({ ...s3, MAX_ARTIFACT_SIZE_MB: '6000' })).toThrow(/MAX_ARTIFACT_SIZE_MB must be at most 5120/);
  });

  it('takes credentials as a pair, the secret inline or from a file but not both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-s3-secret-'));
    try {
      const file = join(dir, 'secret');
      writeFileSync(file, 'from-file\n');
      const c = loadArtifactsConfig({ ...s3, S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: 'key', S3_SECRET_ACCESS_KEY_FILE: file });
      expect(c.s3).toEqual({
        endpoint: 'http://127.0.0.1:9000',
        region: 'us-east-1',
        bucket: 'opsdesk-artifacts',
        prefix: '',
        forcePathStyle: true,
        credentials: { accessKeyId: 'key', secretAccessKey: 'from-file' },
      });
      expect(loadArtifactsConfig(s3).s3?.credentials).toBeUndefined();
      expect(() => loadArtifactsConfig({ ...s3, S3_ACCESS_KEY_ID: 'key' })).toThrow(/S3_SECRET_ACCESS_KEY is required/);
      expect(() => loadArtifactsConfig({ ...s3, S3_SECRET_ACCESS_KEY: 'secret' })).toThrow(/S3_ACCESS_KEY_ID is required/);
      expect(() => loadArtifactsConfig({ ...s3, S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_SECRET_ACCESS_KEY_FILE: file })).toThrow(/S3_SECRET_ACCESS_KEY_FILE must not be set/);
      expect(() => loadArtifactsConfig({ ...s3, S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY_FILE: join(dir, 'missing') })).toThrow(/S3_SECRET_ACCESS_KEY_FILE cannot be read \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
