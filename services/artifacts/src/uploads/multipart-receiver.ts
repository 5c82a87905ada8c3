import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { AppError, ArtifactsErrors } from '@opsdesk/contracts';
import type { BlobStore } from '../storage/blob-store';
import { SNIFF_BYTES } from './content-type';
import { MultipartError, MultipartParser, multipartBoundary, type MultipartLimits, type PartInfo } from './multipart-parser';

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

/** The form an upload may be: one file part and a few short fields (`kind`, `description`). */
export const UPLOAD_FORM_LIMITS: MultipartLimits & { fields: number; fieldName: number } = {
  headerSize: 16 * 1024,
  headerPairs: 20,
  parts: 12,
  fieldSize: 16 * 1024,
  fields: 10,
  fieldName: 100,
};

const invalid = (message: string) => new AppError(ArtifactsErrors.INVALID_UPLOAD, message);

/** a field's name or value past its limit (the name cut to the limit: it is echoed back) */
function fieldTooLong(name: string): AppError {
  const shown = name.slice(0, UPLOAD_FORM_LIMITS.fieldName);
  return new AppError(ArtifactsErrors.INVALID_UPLOAD, `Field ${shown} is too long`, [{ field: shown, message: 'is too long' }]);
}

/** The problem a multipart error is for the client: what was wrong with the form, as INVALID_UPLOAD. */
function uploadError(err: MultipartError): AppError {
  switch (err.reason) {
    case 'content-type':
      return invalid(err.message);
    case 'parts':
      return invalid('Too many parts in the form');
    case 'field-size':
      return fieldTooLong(err.field ?? '');
    default:
      return invalid(`Malformed multipart body: ${err.message}`);
  }
}

/**
 * The file part on its way to a temp upload: counted, hashed and sampled inline (no Transform between the
 * request and the storage stream), and refused the moment it passes the limit, so an oversized upload never
 * reaches storage beyond it.
 */
class FileSink {
  size = 0;
  private readonly hash = createHash('sha256');
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;
  readonly tempName: string;
  readonly stream: Writable;
  /** resolves once the bytes are durable (fsync; the S3 upload completed) */
  readonly done: Promise<Omit<ReceivedFile, 'fields'>>;

  constructor(
    store: BlobStore,
    private readonly maxBytes: number,
    clientName: string | null,
  ) {
    const temp = store.createTemp();
    this.tempName = temp.name;
    this.stream = temp.stream;
    this.done = (async () => {
      // the writable side only (S3's temp stream is a PassThrough whose reading side belongs to the upload)
      await finished(temp.stream, { readable: false });
      // durable before anything refers to it: the commit and the metadata come after this
      await temp.finish();
      return { tempName: temp.name, size: this.size, sha256: this.hash.digest('hex'), head: Buffer.concat(this.headChunks), clientName };
    })();
  }

  /** false when the storage stream wants the request paused until 'drain' */
  write(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.maxBytes) throw new AppError(ArtifactsErrors.TOO_LARGE, `The file is larger than the limit of ${this.maxBytes} bytes`, undefined, { max_bytes: this.maxBytes });
    this.hash.update(chunk);
    if (this.headLength < SNIFF_BYTES) {
      const part = chunk.subarray(0, SNIFF_BYTES - this.headLength);
      this.headChunks.push(Buffer.from(part));
      this.headLength += part.length;
    }
    return this.stream.write(chunk);
  }
}

/**
 * Receives a multipart/form-data upload without buffering the file: the `file` part is streamed to a temp
 * upload in the blob store (hashed and size-checked on the way), fields (`kind`, `description`) are collected
 * whether they come before or after the file. The request is paused while storage catches up. On any failure the
 * temp upload is removed before the promise rejects, and the rest of the request body is read and discarded so
 * the connection stays usable for the answer.
 */
export function receiveMultipart(req: IncomingMessage, store: BlobStore, maxBytes: number): ReceivingUpload {
  let abortFn: (err: Error) => void = () => undefined;
  const done = new Promise<ReceivedFile>((resolve, reject) => {
    const fields = new Map<string, string>();
    let file: FileSink | null = null;
    let paused = false;
    let settled = false;

    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      // discard the rest of the body (the answer goes out on this connection); 'data' ignores it from now on
      req.resume();
      const sink = file;
      sink?.stream.destroy(err);
      const cleanup = async () => {
        await sink?.done.catch(() => undefined);
        if (sink) await store.removeTemp(sink.tempName).catch(() => undefined);
      };
      void cleanup().then(() => reject(err));
    };
    abortFn = fail;

    let parser: MultipartParser;
    try {
      parser = new MultipartParser(multipartBoundary(req.headers['content-type']), UPLOAD_FORM_LIMITS, {
        fileStart: (info: PartInfo) => {
          if (file) throw invalid('Too many files in the form');
          if (info.name !== 'file') throw invalid('Exactly one file part, named "file", is expected');
          file = new FileSink(store, maxBytes, info.filename ?? null);
          const sink = file;
          sink.stream.on('drain', () => {
            if (paused && !settled) {
              paused = false;
              req.resume();
            }
          });
          sink.done.catch((err: Error) => fail(err));
        },
        fileData: (chunk: Buffer) => {
          if (!file!.write(chunk)) paused = true;
        },
        fileEnd: () => {
          file!.stream.end();
          // an ending stream emits 'finish', never 'drain': the rest of the body (a few fields at most) is read now
          paused = false;
        },
        field: (info: PartInfo, value: string | undefined) => {
          if (info.name === undefined) throw invalid('Every form field needs a name');
          if (info.name.length > UPLOAD_FORM_LIMITS.fieldName) throw fieldTooLong(info.name);
          if (value === undefined) throw invalid(`Field ${info.name} has a charset this service cannot read (${info.charset.slice(0, 40)}); send UTF-8`);
          if (fields.size >= UPLOAD_FORM_LIMITS.fields) throw invalid('Too many fields in the form');
          fields.set(info.name, value);
        },
      });
    } catch (err) {
      req.resume();
      reject(err instanceof MultipartError ? uploadError(err) : err);
      return;
    }

    const failWith = (err: unknown) => fail(err instanceof MultipartError ? uploadError(err) : (err as Error));
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        parser.write(chunk);
      } catch (err) {
        failWith(err);
        return;
      }
      // storage is behind: stop reading the socket until it drains (TCP pushes back on the client)
      if (paused) req.pause();
    });
    req.on('end', () => {
      if (settled) return;
      try {
        parser.end();
      } catch (err) {
        failWith(err);
        return;
      }
      // a complete form (parser.end() passed) has ended every part, the file's too
      if (!file) {
        fail(new AppError(ArtifactsErrors.FILE_REQUIRED, 'The form has no file part named "file"', [{ field: 'file', message: 'is required' }]));
        return;
      }
      file.done.then(
        (received) => {
          if (settled) return;
          settled = true;
          // own properties only: a field named __proto__ is data, never a prototype
          resolve({ ...received, fields: Object.fromEntries(fields) });
        },
        (err: Error) => fail(err),
      );
    });
    // the client (or the gateway) went away before the body was complete
    req.on('close', () => {
      if (!req.complete) fail(new UploadAborted('request closed before the body was complete'));
    });
  });
  return {
    done,
    abort: (err, cut = false) => {
      abortFn(err);
      if (cut) req.destroy();
    },
  };
}
