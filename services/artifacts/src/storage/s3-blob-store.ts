import { randomUUID } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Settings } from '../config/artifacts.config';
import { BlobStore, SHA256_RE, assertSha, type ByteRange, type StoredEntry, type TempUpload } from './blob-store';

/** The validated S3 settings (config/artifacts.config.ts) and this replica's instance id. */
export interface S3StoreOptions extends S3Settings {
  instance: string;
}

/** Parts are buffered in memory while they upload: PART_SIZE × (QUEUE_SIZE + 1) per upload at most. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/**
 * Driver `s3`: any S3-compatible store (AWS S3, MinIO, Ceph RGW). Keys:
 *   <prefix>blobs/<aa>/<bb>/<sha256>                  one object per distinct content (metadata sha256)
 *   <prefix>tmp/<instance>~<pid>~<boot>~<uuid>        an upload, streamed with a multipart upload
 * The body is streamed with `@aws-sdk/lib-storage` (multipart above one part, parts in flight bounded) while
 * the receiver hashes it; once complete it is copied server-side to its content address inside the metadata
 * transaction and the temp object is deleted. An upload in progress is invisible to object listings (S3 shows
 * a multipart upload only once completed), so no sweep can take it; a completed temp lives for the commit only.
 */
export class S3BlobStore extends BlobStore {
  readonly driver = 's3' as const;
  readonly client: S3Client;
  private readonly uploads = new Map<string, Upload>();
  private listUploadsUnsupported = false;

  constructor(readonly opts: S3StoreOptions) {
    super(opts.instance);
    const config: S3ClientConfig = {
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      credentials: opts.credentials,
      // Integrity is ours (SHA-256 over the stream, kept in Postgres and checked on read). The SDK's default
      // flexible checksums send aws-chunked trailers that several S3-compatible servers do not understand.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    };
    this.client = new S3Client(config);
  }

  private get bucket(): string {
    return this.opts.bucket;
  }

  blobKey(sha256: string): string {
    assertSha(sha256);
    return `${this.opts.prefix}blobs/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }

  tempKey(name: string): string {
    if (!/^[A-Za-z0-9._~-]+$/.test(name)) throw new Error(`not a temp name: ${name}`);
    return `${this.opts.prefix}tmp/${name}`;
  }

  async init(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const e = err as Error & { $metadata?: { httpStatusCode?: number } };
      throw new Error(`S3 bucket "${this.bucket}" is not reachable at ${this.opts.endpoint ?? 'AWS'} (${e.name}${e.$metadata?.httpStatusCode ? ` ${e.$metadata.httpStatusCode}` : ''}: ${e.message})`);
    }
  }

  /** An object store has no free-space figure: the floor (ARTIFACT_MIN_FREE_MB) does not apply. */
  async freeBytes(): Promise<number | null> {
    return null;
  }

  createTemp(): TempUpload {
    const name = this.tempName(randomUUID());
    const body = new PassThrough({ highWaterMark: 1024 * 1024 });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.tempKey(name), Body: body, ContentType: 'application/octet-stream' },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      // a failed or aborted upload aborts its multipart upload, so its parts do not linger
      leavePartsOnError: false,
    });
    this.active.add(name);
    this.uploads.set(name, upload);
    const done = upload.done();
    // observed by finish(); a body that fails first rejects it while nobody awaits it yet
    done.catch(() => undefined);
    return {
      name,
      stream: body,
      finish: async () => {
        await done;
        this.uploads.delete(name);
      },
    };
  }

  async removeTemp(name: string): Promise<void> {
    try {
      const upload = this.uploads.get(name);
      if (upload) {
        this.uploads.delete(name);
        await upload.abort().catch(() => undefined);
      }
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.tempKey(name) }));
    } finally {
      this.active.delete(name);
    }
  }

  /** Server-side copy to the content address (a new write of identical bytes repairs a corrupt copy). */
  async commitTemp(name: string, sha256: string): Promise<void> {
    const source = `${this.bucket}/${this.tempKey(name)}`.split('/').map(encodeURIComponent).join('/');
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: this.blobKey(sha256),
        CopySource: source,
        MetadataDirective: 'REPLACE',
        Metadata: { sha256 },
        ContentType: 'application/octet-stream',
      }),
    );
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobKey(sha256) }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async remove(sha256: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.blobKey(sha256) }));
  }

  /** A Range is passed through to the store as one explicit `bytes=start-end` (never a suffix form). */
  async read(sha256: string, range?: ByteRange): Promise<Readable | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(sha256), Range: range ? `bytes=${range.start}-${range.end}` : undefined }));
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async *list(prefix: string): AsyncGenerator<{ key: string; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }));
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, modifiedAt: o.LastModified ?? new Date() };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *listTemp(): AsyncGenerator<StoredEntry> {
    const prefix = `${this.opts.prefix}tmp/`;
    for await (const o of this.list(prefix)) yield { name: o.key.slice(prefix.length), modifiedAt: o.modifiedAt };
  }

  async *listBlobs(): AsyncGenerator<StoredEntry> {
    for await (const o of this.list(`${this.opts.prefix}blobs/`)) {
      const name = o.key.slice(o.key.lastIndexOf('/') + 1);
      if (SHA256_RE.test(name) && o.key === this.blobKey(name)) yield { name, modifiedAt: o.modifiedAt };
    }
  }

  /** Uploads in progress are not listed as objects: nothing to keep fresh. */
  async touchActive(): Promise<void> {}

  /**
   * Multipart uploads left by a writer known to be dead are aborted (their parts cost storage). Stores that do
   * not list multipart uploads (s3rver) answer NotImplemented: then a bucket lifecycle rule
   * (AbortIncompleteMultipartUpload) is the only cleanup, as docs/OPERATIONS.md says.
   */
  async abortAbandoned(mayAbort: (name: string, initiated: Date) => boolean): Promise<number> {
    if (this.listUploadsUnsupported) return 0;
    const prefix = `${this.opts.prefix}tmp/`;
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId) continue;
          const name = u.Key.slice(prefix.length);
          if (this.active.has(name) || !mayAbort(name, u.Initiated ?? new Date())) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
          aborted++;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      const e = err as Error & { $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotImplemented' || e.name === 'MethodNotAllowed' || e.$metadata?.httpStatusCode === 501 || e.$metadata?.httpStatusCode === 405) {
        this.listUploadsUnsupported = true;
        return aborted;
      }
      throw err;
    }
    return aborted;
  }

  override async close(): Promise<void> {
    for (const u of this.uploads.values()) await u.abort().catch(() => undefined);
    this.uploads.clear();
    this.client.destroy();
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
