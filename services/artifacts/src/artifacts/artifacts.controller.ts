import { Controller, Inject } from '@nestjs/common';
import {
  Permissions,
  ArtifactsRpc,
  type ArtifactLimitsView,
  type ArtifactView,
  type Page,
  type VerifyResult,
} from '@opsdesk/contracts';
import { ARTIFACTS_CONFIG, type ArtifactsConfig } from '../config/artifacts.config';
import { ArtifactsService } from './artifacts.service';
import { RequirePermission } from '@opsdesk/authn';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

/** Small JSON operations over NATS RPC; permissions are checked by the gateway (SPEC §3). */
@Controller()
export class ArtifactsController {
  constructor(
    private readonly artifacts: ArtifactsService,
    @Inject(ARTIFACTS_CONFIG) private readonly config: ArtifactsConfig,
  ) {}

  /** Non-secret upload limits for GET /api/settings/runtime (any signed-in user may read them). */
  @RequirePermission(Permissions.SELF)
  @RpcHandler(ArtifactsRpc.LIMITS)
  limits(): ArtifactLimitsView {
    return {
      max_artifact_size_mb: this.config.MAX_ARTIFACT_SIZE_MB,
      max_artifact_size_bytes: this.config.maxBytes,
    };
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(ArtifactsRpc.LIST)
  list({ data }: RpcInput<typeof ArtifactsRpc.LIST>): Promise<Page<ArtifactView>> {
    return this.artifacts.list(data);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(ArtifactsRpc.GET)
  get({ data }: RpcInput<typeof ArtifactsRpc.GET>): Promise<ArtifactView> {
    return this.artifacts.get(data.id);
  }

  @RequirePermission(Permissions.ARTIFACTS_WRITE)
  @RpcHandler(ArtifactsRpc.DELETE)
  async delete({ ctx, data }: RpcInput<typeof ArtifactsRpc.DELETE>): Promise<{ ok: true }> {
    await this.artifacts.delete(data.id, ctx);
    return { ok: true };
  }

  @RequirePermission(Permissions.ARTIFACTS_DOWNLOAD)
  @RpcHandler(ArtifactsRpc.VERIFY)
  verify({ ctx, data }: RpcInput<typeof ArtifactsRpc.VERIFY>): Promise<VerifyResult> {
    return this.artifacts.verify(data.id, ctx);
  }
}
