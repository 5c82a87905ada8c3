import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { AppError, ArtifactsErrors } from '@opsdesk/contracts';
import type { BlobStore } from '../storage/blob-store';
import { SNIFF_BYTES } from './content-type';

export interface ReceivedFile {
  /** complete, durable temp upload (BlobStore name); the caller commits or removes it */
  tempName: string;
  size: number;
  sha256: string;
  /** first bytes, for content type detection */
  head: Buffer;
  /** the name the client gave (raw; never a path) */
  clientName: string | null;
  fields: Record<string, string>;
}

export class UploadAborted extends Error {
  constructor(reason: string) {
    super(`upload aborted: ${reason}`);
    this.name = 'UploadAborted';
  }
}

/** A handle on one upload being received, so shutdown can abort it (its temp upload is removed). */
export interface ReceivingUpload {
  done: Promise<ReceivedFile>;
  /** stops receiving and removes the temp upload; `cut` also closes the connection (shutdown: nobody will answer) */
  abort(err: Error, cut?: boolean): void;
}

const CHUNK = 1024 * 1024;

/**
 * Counts, hashes and samples the bytes on their way to disk, and fails the moment the limit is passed, so
 * an oversized upload never reaches storage beyond MAX_ARTIFACT_SIZE_MB.
 */
class MeterStream extends Transform {
  size = 0;
  private readonly hash = createHash('sha256');
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;

  constructor(private readonly maxBytes: number) {
    super({ highWaterMark: CHUNK });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      cb(new AppError(ArtifactsErrors.TOO_LARGE, `The file is larger than the limit of ${this.maxBytes} bytes`, undefined, { max_bytes: this.maxBytes }));
      return;
    }
    this.hash.update(chunk);
    if (this.headLength < SNIFF_BYTES) {
      const part = chunk.subarray(0, SNIFF_BYTES - this.headLength);
      this.headChunks.push(Buffer.from(part));
      this.headLength += part.length;
    }
    cb(null, chunk);
  }

  result(): { size: number; sha256: string; head: Buffer } {
    return { size: this.size, sha256: this.hash.digest('hex'), head: Buffer.concat(this.headChunks) };
  }
}

/**
 * Receives a multipart/form-data upload without buffering the file: the `file` part is streamed to a temp
 * upload in the blob store (hashed and size-checked on the way), fields (`kind`, `description`) are collected whether they come
 * before or after the file. On any failure the temp upload is removed before the promise rejects, and the
 * rest of the request body is read and discarded so the connection stays usable for the answer.
 */
export function receiveMultipart(req: IncomingMessage, store: BlobStore, maxBytes: number): ReceivingUpload {
  let abortFn: (err: Error) => void = () => undefined;
  const done = new Promise<ReceivedFile>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        // the raw name is kept for display (never used as a path); busboy would otherwise cut it to a basename
        preservePath: true,
        highWaterMark: 256 * 1024,
        fileHwm: CHUNK,
        limits: { files: 1, fields: 10, parts: 12, fieldSize: 16 * 1024, fieldNameSize: 100, headerPairs: 20 },
      });
    } catch (err) {
      req.resume();
      reject(new AppError(ArtifactsErrors.INVALID_UPLOAD, `Expected a multipart/form-data body: ${(err as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let fileStream: Readable | null = null;
    let fileWork: Promise<Omit<ReceivedFile, 'fields'>> | null = null;
    let tempName: string | null = null;
    let settled = false;

    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      // stop parsing and discard the rest of the body (the answer goes out on this connection)
      req.unpipe(bb);
      req.resume();
      fileStream?.destroy(err);
      const cleanup = async () => {
        await fileWork?.catch(() => undefined);
        if (tempName) await store.removeTemp(tempName).catch(() => undefined);
      };
      void cleanup().then(() => reject(err));
    };
    abortFn = fail;

    bb.on('file', (name: string, stream: Readable, info: busboy.FileInfo) => {
      if (name !== 'file' || fileWork) {
        stream.resume();
        fail(new AppError(ArtifactsErrors.INVALID_UPLOAD, 'Exactly one file part, named "file", is expected'));
        return;
      }
      fileStream = stream;
      fileWork = (async () => {
        const temp = store.createTemp();
        tempName = temp.name;
        const meter = new MeterStream(maxBytes);
        await pipeline(stream, meter, temp.stream);
        // durable before anything refers to it (fsync; the S3 upload completed): the commit and the metadata come after this
        await temp.finish();
        return { tempName: temp.name, ...meter.result(), clientName: info.filename ?? null };
      })();
      fileWork.catch((err: Error) => fail(err));
    });
    bb.on('field', (name: string, value: string, info: busboy.FieldInfo) => {
      if (info.nameTruncated || info.valueTruncated) {
        fail(new AppError(ArtifactsErrors.INVALID_UPLOAD, `Field ${name.slice(0, 100)} is too long`, [{ field: name.slice(0, 100), message: 'is too long' }]));
        return;
      }
      fields[name] = value;
    });
    const limit = (what: string) => () => fail(new AppError(ArtifactsErrors.INVALID_UPLOAD, `Too many ${what} in the form`));
    bb.on('partsLimit', limit('parts'));
    bb.on('filesLimit', limit('files'));
    bb.on('fieldsLimit', limit('fields'));
    bb.on('error', (err: Error) => fail(new AppError(ArtifactsErrors.INVALID_UPLOAD, `Malformed multipart body: ${err.message}`)));
    bb.on('close', () => {
      if (settled) return;
      if (!fileWork) {
        fail(new AppError(ArtifactsErrors.FILE_REQUIRED, 'The form has no file part named "file"', [{ field: 'file', message: 'is required' }]));
        return;
      }
      fileWork.then(
        (file) => {
          if (settled) return;
          settled = true;
          resolve({ ...file, fields });
        },
        (err: Error) => fail(err),
      );
    });
    // the client (or the gateway) went away before the body was complete
    req.on('close', () => {
      if (!req.complete) fail(new UploadAborted('request closed before the body was complete'));
    });
    req.pipe(bb);
  });
  return {
    done,
    abort: (err, cut = false) => {
      abortFn(err);
      if (cut) req.destroy();
    },
  };
}
