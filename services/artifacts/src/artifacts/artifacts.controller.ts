import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  Permissions,
  ArtifactsRpc,
  artifactIdSchema,
  listArtifactsSchema,
  type ArtifactLimitsView,
  type ArtifactView,
  type Page,
  type VerifyResult,
} from '@opsdesk/contracts';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from '../config/artifacts.config';
import { unpack } from '../common/rpc-request';
import { ArtifactsService } from './artifacts.service';
import { RequirePermission } from '@opsdesk/auth';

/** Small JSON operations over NATS RPC; permissions are checked by the gateway (SPEC §3). */
@Controller()
export class ArtifactsController {
  constructor(
    private readonly artifacts: ArtifactsService,
    @Inject(ARTIFACTS_CONFIG) private readonly config: ArtifactsConfig,
  ) {}

  /** Non-secret upload limits for GET /api/settings/runtime (any signed-in user may read them). */
  @RequirePermission(Permissions.SELF)
  @MessagePattern(ArtifactsRpc.LIMITS)
  limits(): ArtifactLimitsView {
    return { max_artifact_size_mb: this.config.MAX_ARTIFACT_SIZE_MB, max_artifact_size_bytes: this.config.maxBytes };
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(ArtifactsRpc.LIST)
  list(@Payload() payload: unknown): Promise<Page<ArtifactView>> {
    const { data } = unpack(payload, listArtifactsSchema);
    return this.artifacts.list(data);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(ArtifactsRpc.GET)
  get(@Payload() payload: unknown): Promise<ArtifactView> {
    const { data } = unpack(payload, artifactIdSchema);
    return this.artifacts.get(data.id);
  }

  @RequirePermission(Permissions.ARTIFACTS_WRITE)
  @MessagePattern(ArtifactsRpc.DELETE)
  async delete(@Payload() payload: unknown): Promise<{ ok: true }> {
    const { ctx, data } = unpack(payload, artifactIdSchema);
    await this.artifacts.delete(data.id, ctx);
    return { ok: true };
  }

  @RequirePermission(Permissions.ARTIFACTS_DOWNLOAD)
  @MessagePattern(ArtifactsRpc.VERIFY)
  verify(@Payload() payload: unknown): Promise<VerifyResult> {
    const { ctx, data } = unpack(payload, artifactIdSchema);
    return this.artifacts.verify(data.id, ctx);
  }
}
