import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { InternalClaims } from '@opsdesk/authn';
import {
  AppError,
  ArtifactsErrors,
  ErrorCodes,
  InventoryErrors,
  InventoryRpc,
  Permissions,
  roleHas,
  uploadFieldsSchema,
  type ArtifactView,
  type RpcContext,
} from '@opsdesk/contracts';
import { RpcCallError, RpcClient, zodFieldErrors } from '@opsdesk/messaging';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { ArtifactMetrics } from '../common/artifacts.metrics';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from '../config/artifacts.config';
import { BlobStore } from '../storage/blob-store';
import { detectContentType } from './content-type';
import { safeFilename, storedOriginalName } from './filename';
import { UploadAborted, receiveMultipart, type ReceivedFile, type ReceivingUpload } from './multipart-receiver';

/** The gateway-verified caller, passed on (signed by artifacts' own key) when artifacts asks inventory. */
export function contextOf(caller: InternalClaims): RpcContext {
  return { actor: caller.actor, request_id: caller.request_id, principal: { user_id: caller.principal.user_id, role: caller.principal.role } };
}

/**
 * One upload: host check (inventory RPC) before a byte is read, then the body streamed to a temp file
 * upload (hashed, size-checked), then blob + metadata + event committed together. Whatever fails, the temp
 * upload is gone before the answer is sent.
 */
@Injectable()
export class UploadsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(UploadsService.name);
  private readonly active = new Set<ReceivingUpload>();
  private readonly uploads = ArtifactMetrics.uploads();
  private readonly failures = ArtifactMetrics.uploadFailures();
  private readonly bytes = ArtifactMetrics.uploadBytes();
  private readonly duration = ArtifactMetrics.uploadDuration();
  private readonly inProgress = ArtifactMetrics.uploadsInProgress();

  /** uploads in flight per user on this replica */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly artifacts: ArtifactsService,
    private readonly store: BlobStore,
    private readonly rpc: RpcClient,
    @Inject(ARTIFACTS_CONFIG) private readonly config: ArtifactsConfig,
  ) {}

  async upload(hostId: string, caller: InternalClaims, req: IncomingMessage): Promise<ArtifactView> {
    const started = process.hrtime.bigint();
    try {
      if (!roleHas(caller.principal.role, Permissions.ARTIFACTS_WRITE)) throw new AppError(ErrorCodes.FORBIDDEN, 'Uploading artifacts needs the artifacts:write permission');
      const ctx = contextOf(caller);
      const userId = caller.principal.user_id;
      const inFlight = this.inFlight.get(userId) ?? 0;
      if (inFlight >= this.config.ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER)
        throw new AppError(ArtifactsErrors.TOO_MANY_UPLOADS, `At most ${this.config.ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER} uploads at once per user; retry when one finishes`, undefined, { retry_after: 5 });
      this.inFlight.set(userId, inFlight + 1);
      let file: ReceivedFile;
      try {
        await this.checkHost(hostId, ctx);
        const limit = await this.admissible(userId, req);
        const receiving = receiveMultipart(req, this.store, limit);
        this.active.add(receiving);
        this.inProgress.inc();
        try {
          file = await receiving.done;
        } finally {
          this.active.delete(receiving);
          this.inProgress.dec();
        }
      } finally {
        const n = (this.inFlight.get(userId) ?? 1) - 1;
        if (n > 0) this.inFlight.set(userId, n);
        else this.inFlight.delete(userId);
      }
      try {
        const parsed = uploadFieldsSchema.safeParse(file.fields);
        if (!parsed.success) throw new AppError(ErrorCodes.VALIDATION_FAILED, 'Request validation failed', zodFieldErrors(parsed.error));
        const { view } = await this.artifacts.recordUpload(
          {
            hostId,
            tempName: file.tempName,
            originalName: storedOriginalName(file.clientName),
            filename: safeFilename(file.clientName),
            kind: parsed.data.kind,
            description: parsed.data.description,
            size: file.size,
            sha256: file.sha256,
            contentType: detectContentType(file.head, file.size),
            uploadedBy: caller.principal.user_id,
            uploadedByEmail: caller.principal.email ?? null,
          },
          ctx,
        );
        this.uploads.inc();
        this.bytes.inc(file.size);
        this.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
        return view;
      } finally {
        // after a commit the temp was renamed (fs) or copied (s3) to its address; either way it must not stay
        await this.store.removeTemp(file.tempName).catch(() => undefined);
      }
    } catch (err) {
      this.failures.inc({ reason: failureReason(err) });
      throw err;
    }
  }

  /**
   * Before a byte is written: the uploader's quota and the storage's free-space floor (fs driver only: an object
   * store has no free-space figure), against the declared size
   * (Content-Length; the multipart overhead makes it a slight over-estimate). Returns the most this upload may
   * stream, so an undeclared or lying size still cannot pass the quota (it stops like an oversized file, 413).
   */
  private async admissible(userId: string, req: IncomingMessage): Promise<number> {
    const declared = Number(req.headers['content-length'] ?? 0) || 0;
    let limit = this.config.maxBytes;
    const quota = this.config.ARTIFACT_QUOTA_MB_PER_USER * 1024 * 1024;
    if (quota > 0) {
      const used = await this.artifacts.bytesUploadedBy(userId);
      if (used + Math.min(declared, limit) > quota)
        throw new AppError(
          ArtifactsErrors.QUOTA_EXCEEDED,
          `Your artifacts use ${Math.ceil(used / 1048576)} MB of your ${this.config.ARTIFACT_QUOTA_MB_PER_USER} MB quota; this upload does not fit (delete some first)`,
        );
      limit = Math.min(limit, quota - used);
    }
    const free = await this.store.freeBytes();
    const floor = this.config.ARTIFACT_MIN_FREE_MB * 1024 * 1024;
    if (free !== null && free - Math.min(declared, limit) < floor)
      throw new AppError(ArtifactsErrors.STORAGE_FULL, 'The artifact storage is nearly full; the upload was refused before writing (ask an operator to free space)');
    if (free !== null) limit = Math.min(limit, Math.max(0, free - floor));
    return limit;
  }

  /** A host must exist now (a host created a moment ago does: inventory answers from its own database). */
  private async checkHost(hostId: string, ctx: RpcContext): Promise<void> {
    try {
      await this.rpc.call(InventoryRpc.HOSTS_GET, { id: hostId }, ctx);
    } catch (err) {
      if (err instanceof RpcCallError && (err.code === InventoryErrors.HOST_NOT_FOUND || err.code.endsWith('NOT_FOUND')))
        throw new AppError(ArtifactsErrors.HOST_NOT_FOUND, 'Host not found');
      if (err instanceof RpcCallError && err.code === ErrorCodes.VALIDATION_FAILED) throw new AppError(ArtifactsErrors.HOST_NOT_FOUND, 'Host not found');
      this.logger.warn(`host check failed: ${(err as Error).message}`);
      throw new AppError(ArtifactsErrors.INVENTORY_UNAVAILABLE, 'The inventory service could not confirm the host; try again');
    }
  }

  /** Shutdown: uploads in flight are aborted and their temp uploads removed, so nothing half-written stays. */
  async beforeApplicationShutdown(): Promise<void> {
    const all = [...this.active];
    for (const r of all) r.abort(new UploadAborted('service shutting down'), true);
    await Promise.allSettled(all.map((r) => r.done));
  }
}

function failureReason(err: unknown): string {
  if (err instanceof UploadAborted) return 'aborted';
  if (err instanceof AppError) {
    switch (err.code) {
      case ArtifactsErrors.TOO_LARGE:
        return 'too_large';
      case ArtifactsErrors.HOST_NOT_FOUND:
        return 'host_not_found';
      case ErrorCodes.FORBIDDEN:
        return 'forbidden';
      case ArtifactsErrors.INVENTORY_UNAVAILABLE:
        return 'inventory_unavailable';
      default:
        return 'invalid';
    }
  }
  return 'error';
}
