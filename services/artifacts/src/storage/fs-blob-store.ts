import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BlobStore, SHA256_RE, assertSha, type ByteRange, type StoredEntry, type TempUpload } from './blob-store';

const TEMP_SUFFIX = '.part';

/**
 * Driver `fs`: content-addressed files under the storage root (one volume, possibly shared by replicas):
 *   <root>/blobs/<aa>/<bb>/<sha256>                   one file per distinct content, never modified
 *   <root>/tmp/<instance>~<pid>~<boot>~<uuid>.part    uploads in progress (same filesystem: the rename is atomic)
 * A temp's mtime is its liveness: writes refresh it, and the heartbeat refreshes the temps of uploads that
 * stall, so another replica's sweep sees them as young.
 */
export class FsBlobStore extends BlobStore {
  readonly driver = 'fs' as const;
  readonly blobsDir: string;
  readonly tmpDir: string;

  constructor(
    readonly root: string,
    instance: string,
  ) {
    super(instance);
    this.blobsDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  async freeBytes(): Promise<number | null> {
    try {
      const s = await statfs(this.root);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return null;
    }
  }

  pathOf(sha256: string): string {
    assertSha(sha256);
    return join(this.blobsDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  private tempPath(name: string): string {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new Error(`not a temp name: ${name}`);
    return join(this.tmpDir, name);
  }

  createTemp(): TempUpload {
    const name = `${this.tempName(randomUUID())}${TEMP_SUFFIX}`;
    const path = this.tempPath(name);
    this.active.add(name);
    // created exclusively, mode 600, for this one upload
    const stream = createWriteStream(path, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 });
    return {
      name,
      stream,
      // durable before anything refers to it (the write stream has closed; fsync through a new descriptor is
      // equivalent on Linux): the rename and the metadata come after this
      finish: () => fsyncPath(path, 'r+'),
    };
  }

  async removeTemp(name: string): Promise<void> {
    try {
      await rm(this.tempPath(name), { force: true, recursive: true });
    } finally {
      this.active.delete(name);
    }
  }

  /** rename + directory fsync: the content address appears whole or not at all, and survives a crash. */
  async commitTemp(name: string, sha256: string): Promise<void> {
    const final = this.pathOf(sha256);
    const dir = join(this.blobsDir, sha256.slice(0, 2), sha256.slice(2, 4));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await rename(this.tempPath(name), final);
    await fsyncPath(dir, 'r');
  }

  async exists(sha256: string): Promise<boolean> {
    return stat(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  async remove(sha256: string): Promise<void> {
    await unlink(this.pathOf(sha256)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable | null> {
    let fh;
    try {
      fh = await open(this.pathOf(sha256), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    // the stream owns the descriptor from here (autoClose); 256 KiB reads = the download meter's held-back chunk
    return fh.createReadStream(range ? { start: range.start, end: range.end, highWaterMark: 256 * 1024 } : { highWaterMark: 256 * 1024 });
  }

  async *listTemp(): AsyncGenerator<StoredEntry> {
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      const s = await stat(join(this.tmpDir, name)).catch(() => null);
      if (s) yield { name, modifiedAt: s.mtime };
    }
  }

  async *listBlobs(): AsyncGenerator<StoredEntry> {
    for (const a of await readdir(this.blobsDir).catch(() => [] as string[])) {
      for (const b of await readdir(join(this.blobsDir, a)).catch(() => [] as string[])) {
        for (const name of await readdir(join(this.blobsDir, a, b)).catch(() => [] as string[])) {
          if (!SHA256_RE.test(name)) continue;
          const s = await stat(join(this.blobsDir, a, b, name)).catch(() => null);
          if (s) yield { name, modifiedAt: s.mtime };
        }
      }
    }
  }

  async touchActive(): Promise<void> {
    const now = new Date();
    for (const name of this.active) await utimes(this.tempPath(name), now, now).catch(() => undefined);
  }

  /** Nothing is held half-done outside tmp/ on a filesystem. */
  async abortAbandoned(): Promise<number> {
    return 0;
  }
}

async function fsyncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const h = await open(path, flags);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
