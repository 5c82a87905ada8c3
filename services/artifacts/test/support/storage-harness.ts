import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/**
 * The artifact storage of one test suite, for either driver, and what the tests look at in it.
 * - fs: a fresh temp directory (ARTIFACT_STORAGE_PATH).
 * - s3: s3rver (an S3 server in Node speaking the S3 REST protocol over HTTP, with SigV4 checked) started on a
 *   free 127.0.0.1 port with its own temp directory and one bucket; the service reaches it through the real
 *   AWS SDK, exactly as it would reach MinIO or AWS. No SDK mocks.
 */
export type StorageDriverName = 'fs' | 's3';
export const STORAGE_DRIVERS: StorageDriverName[] = ['fs', 's3'];

export interface StorageHarness {
  driver: StorageDriverName;
  /** merged into the artifacts service's environment */
  env: Record<string, string>;
  /** content hashes stored (blobs/aa/bb/<sha256>) */
  blobNames(): Promise<string[]>;
  /** temp uploads present (files in tmp/, or completed temp objects; an S3 multipart upload in progress is not an object) */
  tempNames(): Promise<string[]>;
  hasBlob(sha256: string): Promise<boolean>;
  /** writes bytes at a content address, bypassing the service (corruption, crash leftovers) */
  writeBlob(sha256: string, bytes: Buffer): Promise<void>;
  writeTemp(name: string, bytes: Buffer): Promise<void>;
  /** every stored name relative to the storage root / bucket prefix */
  allNames(): Promise<string[]>;
  close(): Promise<void>;
}

const blobRel = (sha: string) => `blobs/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`;

export async function startStorage(driver: StorageDriverName, label: string): Promise<StorageHarness> {
  return driver === 'fs' ? startFs(label) : startS3(label);
}

function walk(root: string, dir = root): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(root, p) : [relative(root, p)];
  });
}

async function startFs(label: string): Promise<StorageHarness> {
  const root = mkdtempSync(join(tmpdir(), `opsdesk-${label}-fs-`));
  return {
    driver: 'fs',
    env: { ARTIFACT_STORAGE_DRIVER: 'fs', ARTIFACT_STORAGE_PATH: root },
    blobNames: async () => walk(join(root, 'blobs')).map((p) => p.slice(p.lastIndexOf('/') + 1)),
    tempNames: async () => (existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : []),
    hasBlob: async (sha) => existsSync(join(root, blobRel(sha))),
    writeBlob: async (sha, bytes) => {
      mkdirSync(dirname(join(root, blobRel(sha))), { recursive: true });
      writeFileSync(join(root, blobRel(sha)), bytes);
    },
    writeTemp: async (name, bytes) => writeFileSync(join(root, 'tmp', name), bytes),
    allNames: async () => {
      // directories too: nothing but blobs/ and tmp/ may appear at the top
      const top = readdirSync(root).filter((n) => statSync(join(root, n)).isDirectory());
      return [...top.map((n) => `${n}/`), ...walk(root)].sort();
    },
    close: async () => rmSync(root, { recursive: true, force: true }),
  };
}

async function startS3(label: string): Promise<StorageHarness> {
  const dir = mkdtempSync(join(tmpdir(), `opsdesk-${label}-s3rver-`));
  const bucket = `opsdesk-${label.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 63);
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  // s3rver's fixed account; signatures are checked (a wrong secret is refused)
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const keys = async (prefix = ''): Promise<string[]> => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  };
  return {
    driver: 's3',
    env: {
      ARTIFACT_STORAGE_DRIVER: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    blobNames: async () => (await keys('blobs/')).map((k) => k.slice(k.lastIndexOf('/') + 1)),
    tempNames: async () => (await keys('tmp/')).map((k) => k.slice('tmp/'.length)),
    hasBlob: async (sha) => (await keys(blobRel(sha))).includes(blobRel(sha)),
    writeBlob: async (sha, bytes) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: blobRel(sha), Body: bytes }));
    },
    writeTemp: async (name, bytes) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `tmp/${name}`, Body: bytes }));
    },
    allNames: async () => (await keys()).sort(),
    close: async () => {
      const all = await keys().catch(() => [] as string[]);
      if (all.length) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: all.map((Key) => ({ Key })) } })).catch(() => undefined);
      client.destroy();
      await server.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A metric of an artifacts service, summed over its labels (from its internal /metrics); 0 when absent. */
export async function metricValue(serviceUrl: string, name: string): Promise<number> {
  const text = await fetch(`${serviceUrl}/metrics`).then((r) => r.text());
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

/** Upload bodies the service is receiving right now. */
export const uploadsInProgress = (serviceUrl: string) => metricValue(serviceUrl, 'opsdesk_artifact_uploads_in_progress');
