import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { newBootId, tempPrefix, type TempOwner } from './temp-owner';

export const SHA256_RE = /^[0-9a-f]{64}$/;

export type StorageDriver = 'fs' | 's3';

/** One upload being written to temporary storage (its content address is known only at the end). */
export interface TempUpload {
  /** the temp's name (a file name under tmp/, or a key suffix under tmp/ in the bucket) */
  name: string;
  /** the metered body is piped into this */
  stream: Writable;
  /** after `stream` finished: the bytes are durable (fsync; the S3 upload completed) */
  finish(): Promise<void>;
}

/** A stored entry as a sweep sees it. */
export interface StoredEntry {
  name: string;
  modifiedAt: Date;
}

/** Inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Blob storage behind one interface (driver `fs` or `s3`). Content addressed: one stored object per distinct
 * SHA-256, written once; reference counts live in Postgres (artifacts.blobs). Uploads go to a temp name that
 * carries its writer (see temp-owner.ts), then are committed to their content address inside the metadata
 * transaction. Only names this code computes reach storage: client file names never do.
 */
export abstract class BlobStore {
  abstract readonly driver: StorageDriver;
  /** this start's identity, written into every temp name */
  readonly owner: TempOwner;
  /** temps this start is writing or committing right now: never swept */
  protected readonly active = new Set<string>();

  constructor(instance: string) {
    this.owner = { instance, pid: process.pid, boot: newBootId() };
  }

  protected tempName(uuid: string): string {
    return `${tempPrefix(this.owner)}${uuid}`;
  }

  isActive(name: string): boolean {
    return this.active.has(name);
  }

  /** Creates what the store needs (directories) or checks it is reachable (bucket); throws with a clear message. */
  abstract init(): Promise<void>;
  /** Bytes still available for the free-space floor; null when the store has no such notion (S3). */
  abstract freeBytes(): Promise<number | null>;
  abstract createTemp(): TempUpload;
  /** Removes a temp (aborting it when still being written); no error when already gone. */
  abstract removeTemp(name: string): Promise<void>;
  /** Makes a finished temp the content at `sha256` (replacing identical bytes, which repairs a corrupt copy). */
  abstract commitTemp(name: string, sha256: string): Promise<void>;
  abstract exists(sha256: string): Promise<boolean>;
  abstract remove(sha256: string): Promise<void>;
  /** The stored bytes (or one range of them); null when the blob is missing. */
  abstract read(sha256: string, range?: ByteRange): Promise<Readable | null>;
  abstract listTemp(): AsyncIterable<StoredEntry>;
  /** Every stored content object; `name` is its sha256. */
  abstract listBlobs(): AsyncIterable<StoredEntry>;
  /** Heartbeat: marks this start's temps in progress as alive for other replicas' sweeps. */
  abstract touchActive(): Promise<void>;
  /** Uploads the store itself holds half-done (S3 multipart) whose writer is known to be dead; aborts them. */
  abstract abortAbandoned(mayAbort: (name: string, initiated: Date) => boolean): Promise<number>;
  /** Releases clients and timers. */
  async close(): Promise<void> {}

  /** Re-reads a stored blob and hashes it; null when it is missing. */
  async hash(sha256: string): Promise<{ sha256: string; size: number } | null> {
    const src = await this.read(sha256);
    if (!src) return null;
    const h = createHash('sha256');
    let size = 0;
    await pipeline(src, async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        size += chunk.length;
        h.update(chunk);
      }
    });
    return { sha256: h.digest('hex'), size };
  }
}

export function assertSha(sha256: string): void {
  if (!SHA256_RE.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
}
