import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const SHA256_RE = /^[0-9a-f]{64}$/;
const TEMP_SUFFIX = '.part';

/**
 * Content-addressed files under the storage root:
 *   <root>/blobs/<aa>/<bb>/<sha256>   one file per distinct content, written once, never modified
 *   <root>/tmp/<uuid>.part            uploads in progress (same filesystem, so the final rename is atomic)
 * Only names this class computes are ever used as paths: client names never reach the filesystem.
 */
export class BlobStore {
  readonly blobsDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  /** Bytes available to this process on the storage's filesystem (null when the platform cannot tell). */
  async freeBytes(): Promise<number | null> {
    try {
      const s = await statfs(this.root);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return null;
    }
  }

  pathOf(sha256: string): string {
    if (!SHA256_RE.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return join(this.blobsDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /** A write stream to a new temp file, created exclusively (mode 600) for one upload. */
  createTemp(): { path: string; stream: WriteStream } {
    const path = join(this.tmpDir, `${randomUUID()}${TEMP_SUFFIX}`);
    const stream = createWriteStream(path, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 });
    return { path, stream };
  }

  /** Makes a written file durable (the write stream has closed; fsync through a new descriptor is equivalent on Linux). */
  async fsyncFile(path: string): Promise<void> {
    const h = await open(path, 'r+');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  }

  async removeTemp(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /**
   * Moves a complete, fsynced temp file to its content address and makes the rename durable (directory
   * fsync). If the content is already stored the rename replaces it with identical bytes, which also
   * repairs a copy that verification found corrupt.
   */
  async commitTemp(tempPath: string, sha256: string): Promise<void> {
    const final = this.pathOf(sha256);
    const dir = join(this.blobsDir, sha256.slice(0, 2), sha256.slice(2, 4));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await rename(tempPath, final);
    await fsyncDir(dir);
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

  /** Re-hashes a stored blob; null when the file is missing. */
  async hash(sha256: string): Promise<{ sha256: string; size: number } | null> {
    const h = createHash('sha256');
    let size = 0;
    try {
      await pipeline(createReadStream(this.pathOf(sha256), { highWaterMark: 1024 * 1024 }), async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) {
          size += chunk.length;
          h.update(chunk);
        }
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return { sha256: h.digest('hex'), size };
  }

  /** Startup: temp files are uploads a crash interrupted; none of them is referenced by metadata. */
  async removeAllTemp(): Promise<number> {
    const names = await readdir(this.tmpDir).catch(() => [] as string[]);
    for (const n of names) await rm(join(this.tmpDir, n), { force: true, recursive: true });
    return names.length;
  }

  async listTemp(): Promise<string[]> {
    return readdir(this.tmpDir).catch(() => [] as string[]);
  }

  /** Every stored content hash (walks blobs/aa/bb/). */
  async *listBlobs(): AsyncGenerator<string> {
    for (const a of await readdir(this.blobsDir).catch(() => [] as string[])) {
      for (const b of await readdir(join(this.blobsDir, a)).catch(() => [] as string[])) {
        for (const name of await readdir(join(this.blobsDir, a, b)).catch(() => [] as string[])) {
          if (SHA256_RE.test(name)) yield name;
        }
      }
    }
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
