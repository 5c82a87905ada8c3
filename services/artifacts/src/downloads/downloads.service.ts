import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable, pipeline } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import { create as contentDisposition } from 'content-disposition';
import type { FastifyReply } from 'fastify';
import type { InternalClaims } from '@opsdesk/authn';
import { AppError, ArtifactsErrors, ErrorCodes, Permissions, roleHas } from '@opsdesk/contracts';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { ArtifactMetrics } from '../common/artifacts.metrics';
import { BlobStore } from '../storage/blob-store';
import { contextOf } from '../uploads/uploads.service';
import { DownloadMeter } from './download-meter';
import { contentRange, ifNoneMatchHits, ifRangeAllows, parseRange } from './range';

/**
 * Streams a stored blob: ETag = sha256 (If-None-Match → 304), one byte range (206; 416 when unsatisfiable),
 * always as an attachment with a safe RFC 6266 file name and nosniff. A blob known to be corrupt is refused
 * (409 ARTIFACTS.INTEGRITY_CONFLICT); a whole-file download is hash-checked — up to 256 KiB before anything is sent
 * (a corrupt one is a 409), larger ones while they stream, cut short if the blob turns out corrupt — and a
 * mismatch is recorded like a failed verification.
 */
@Injectable()
export class DownloadsService {
  private readonly logger = new Logger(DownloadsService.name);
  private readonly downloads = ArtifactMetrics.downloads();
  private readonly bytes = ArtifactMetrics.downloadBytes();
  private readonly duration = ArtifactMetrics.downloadDuration();

  constructor(
    private readonly artifacts: ArtifactsService,
    private readonly store: BlobStore,
  ) {}

  async serve(id: string, caller: InternalClaims, req: IncomingMessage, reply: FastifyReply): Promise<void> {
    if (!roleHas(caller.principal.role, Permissions.ARTIFACTS_DOWNLOAD))
      throw new AppError(ErrorCodes.FORBIDDEN, 'Downloading artifacts needs the artifacts:download permission');
    const ctx = contextOf(caller);
    const a = await this.artifacts.findOne(id);
    const etag = `"${a.sha256}"`;
    if (await this.artifacts.isBlobCorrupt(a.sha256))
      throw new AppError(ArtifactsErrors.INTEGRITY_CONFLICT, 'The stored file failed its integrity check and is not served; see POST /api/artifacts/:id/verify');
    void reply.header('ETag', etag).header('Accept-Ranges', 'bytes').header('X-Content-Type-Options', 'nosniff').header('Cache-Control', 'private, no-cache');
    void reply.header('Content-Disposition', contentDisposition(a.filename, { type: 'attachment' }));
    if (ifNoneMatchHits(header(req, 'if-none-match'), etag)) {
      await reply.status(304).send();
      return;
    }
    const range = ifRangeAllows(header(req, 'if-range'), etag) ? parseRange(header(req, 'range'), a.size) : ({ kind: 'full' } as const);
    if (range.kind === 'unsatisfiable')
      throw new AppError(ArtifactsErrors.RANGE_NOT_SATISFIABLE, `The range is outside the file (${a.size} bytes)`, undefined, { content_range: `bytes */${a.size}` });

    const partial = range.kind === 'partial' ? { start: range.start, end: range.end } : null;
    const start = partial?.start ?? 0;
    const end = partial?.end ?? a.size - 1;
    const length = a.size === 0 ? 0 : end - start + 1;
    // the range is passed through to the store (fs: a positioned read; s3: a ranged GET)
    let source = await this.store.read(a.sha256, partial ?? undefined);
    if (!source) {
      await this.artifacts.recordVerification(a, null, false, ctx, 'download');
      throw new AppError(ArtifactsErrors.INTEGRITY_CONFLICT, 'The stored file is missing and is not served');
    }
    if (!partial && a.size <= CHUNK) {
      // A whole file that fits in the meter's one held-back chunk is fully read before any byte could be sent: check
      // it first, so a corrupt one is a clear 409 rather than a stream error Fastify would answer with a bare 500.
      const bytes = await readAll(source, CHUNK + 1);
      const actual = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
      if (actual.sha256 !== a.sha256 || actual.size !== a.size) {
        this.logger.error(`artifact ${a.id}: blob ${a.sha256} does not match (read ${actual.sha256}, ${actual.size} bytes); not served`);
        await this.artifacts.recordVerification(a, actual, false, ctx, 'download');
        throw new AppError(ArtifactsErrors.INTEGRITY_CONFLICT, 'The stored file failed its integrity check and is not served; see POST /api/artifacts/:id/verify');
      }
      source = Readable.from([bytes]);
    }
    try {
      await this.artifacts.recordDownload(a, partial, ctx);
    } catch (err) {
      source.destroy();
      throw err;
    }
    const meter = new DownloadMeter(
      partial
        ? null
        : {
            sha256: a.sha256,
            size: a.size,
            onMismatch: (actual) => {
              this.logger.error(`artifact ${a.id}: blob ${a.sha256} does not match (read ${actual.sha256}, ${actual.size} bytes); download cut`);
              void this.artifacts.recordVerification(a, actual, false, ctx, 'download').catch((e: Error) => this.logger.error(e.message));
            },
          },
    );
    const started = process.hrtime.bigint();
    const body = pipeline(source, meter, () => {
      this.bytes.inc(meter.bytes);
      this.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    });
    this.downloads.inc({ kind: partial ? 'partial' : 'full' });
    void reply.header('Content-Type', a.contentType).header('Content-Length', String(length));
    if (partial) void reply.status(206).header('Content-Range', contentRange(partial.start, partial.end, a.size));
    else void reply.status(200);
    await reply.send(body);
  }
}

/** The read size of downloads, and the meter's held-back chunk. */
const CHUNK = 256 * 1024;

/** Reads a whole (small) stream; stops at `cap` bytes (a stored copy larger than its record is corrupt anyway). */
async function readAll(src: Readable, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      n += chunk.length;
      if (n >= cap) break;
    }
  } finally {
    src.destroy();
  }
  return Buffer.concat(chunks);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
