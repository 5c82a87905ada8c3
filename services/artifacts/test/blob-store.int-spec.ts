import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { contextKeyEnv } from '@opsdesk/testing';
import { loadArtifactsConfig } from '../src/config/artifacts.config';
import type { BlobStore } from '../src/storage/blob-store';
import { S3BlobStore } from '../src/storage/s3-blob-store';
import { createBlobStore } from '../src/storage/storage.module';
import { STORAGE_DRIVERS, startStorage, type StorageHarness } from './support/storage-harness';

/**
 * The storage drivers on their own, against a real filesystem and a real S3 protocol server (s3rver on
 * 127.0.0.1 through the AWS SDK): the contract the service relies on, and what s3rver does not support.
 */
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MB = 1024 * 1024;

async function readAll(s: Readable | null): Promise<Buffer> {
  if (!s) throw new Error('missing');
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

describe.each(STORAGE_DRIVERS)('%s blob store', (driver) => {
  let storage: StorageHarness;
  let store: BlobStore;
  const env = (extra: Record<string, string> = {}) => ({
    ENVIRONMENT: 'development',
    DATABASE_URL: 'postgres://unused@127.0.0.1/unused',
    ...contextKeyEnv(),
    ...storage.env,
    ARTIFACT_INSTANCE_ID: 'contract',
    ...extra,
  });

  beforeAll(async () => {
    storage = await startStorage(driver, `blobstore-${driver}`);
    store = createBlobStore(loadArtifactsConfig(env()));
    await store.init();
  });

  afterAll(async () => {
    await store?.close();
    await storage?.close();
  });

  it('streams a temp upload (multipart above 8 MB for s3), commits it to its content address, serves ranges and re-hashes it', async () => {
    const content = randomBytes(20 * MB + 17);
    const h = sha(content);
    const temp = store.createTemp();
    expect(temp.name.startsWith(`contract~${process.pid}~`)).toBe(true);
    await pipeline(Readable.from(chunks(content, 256 * 1024)), temp.stream);
    await temp.finish();
    expect(await storage.tempNames()).toEqual([temp.name]);
    await store.commitTemp(temp.name, h);
    await store.removeTemp(temp.name);
    expect(await storage.tempNames()).toEqual([]);
    expect(await store.exists(h)).toBe(true);
    expect(await store.hash(h)).toEqual({ sha256: h, size: content.length });
    const range = await readAll(await store.read(h, { start: 10 * MB - 5, end: 10 * MB + 4 }));
    expect(range).toEqual(content.subarray(10 * MB - 5, 10 * MB + 5));
    if (store instanceof S3BlobStore) {
      // the SHA-256 computed while streaming is stored with the object too
      const head = await store.client.send(new HeadObjectCommand({ Bucket: store.opts.bucket, Key: store.blobKey(h) }));
      expect(head.Metadata).toMatchObject({ sha256: h });
      expect(head.ContentLength).toBe(content.length);
    }
    const listed = [];
    for await (const b of store.listBlobs()) listed.push(b.name);
    expect(listed).toEqual([h]);
    await store.remove(h);
    expect(await store.exists(h)).toBe(false);
    expect(await store.read(h)).toBeNull();
    expect(await store.hash(h)).toBeNull();
  });

  it('an upload removed while it streams leaves nothing behind', async () => {
    const temp = store.createTemp();
    const src = new Readable({ read() {} });
    const flowing = pipeline(src, temp.stream).catch((err: Error) => err);
    src.push(randomBytes(9 * MB)); // past one part: for s3 the multipart upload exists
    await new Promise((r) => setImmediate(r));
    await store.removeTemp(temp.name);
    src.destroy(new Error('client went away'));
    expect(await flowing).toBeInstanceOf(Error);
    await expect(temp.finish()).rejects.toThrow();
    expect(await storage.tempNames()).toEqual([]);
    expect(store.isActive(temp.name)).toBe(false);
  });

  it('tells what it cannot do: no free-space figure for s3; abandoned multipart uploads are best effort', async () => {
    const free = await store.freeBytes();
    if (driver === 's3') expect(free).toBeNull();
    else expect(free).toBeGreaterThan(0);
    // s3rver does not implement ListMultipartUploads: the driver answers 0 rather than failing the sweep
    expect(await store.abortAbandoned(() => true)).toBe(0);
  });

  it('refuses to start on unusable storage, naming it', async () => {
    const broken = createBlobStore(loadArtifactsConfig(env(driver === 's3' ? { S3_BUCKET: 'no-such-bucket' } : { ARTIFACT_STORAGE_PATH: '/dev/null/artifacts' })));
    await expect(broken.init()).rejects.toThrow(driver === 's3' ? /S3 bucket "no-such-bucket" is not reachable at http:\/\/127\.0\.0\.1:\d+ \(NotFound 404/ : /ENOTDIR/);
    await broken.close();
  });
});

function* chunks(b: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}
