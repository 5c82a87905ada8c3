import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export interface BlobMismatch {
  sha256: string;
  size: number;
}

/**
 * Counts the bytes of a download and, for a whole-file download, checks the content against its sha256
 * while it streams. The last chunk is held back until the hash is known: a blob that turns out corrupt
 * fails the stream before its final bytes, so the client sees a broken transfer (Content-Length not
 * reached), never a complete response with wrong content.
 */
export class DownloadMeter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private held: Buffer | null = null;

  constructor(
    private readonly verify: { sha256: string; size: number; onMismatch: (actual: BlobMismatch) => void } | null,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (!this.verify) {
      cb(null, chunk);
      return;
    }
    this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    cb(null, previous ?? undefined);
  }

  override _flush(cb: TransformCallback): void {
    if (this.verify) {
      const actual = this.hash.digest('hex');
      if (actual !== this.verify.sha256 || this.bytes !== this.verify.size) {
        this.verify.onMismatch({ sha256: actual, size: this.bytes });
        cb(new Error('stored blob does not match its sha256'));
        return;
      }
      if (this.held) this.push(this.held);
    }
    cb();
  }
}
