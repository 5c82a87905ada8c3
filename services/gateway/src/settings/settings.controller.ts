import { Body, Controller, Get, Inject, Logger, Put, Req } from '@nestjs/common';
import {
  ArtifactsRpc,
  InventoryRpc,
  Permissions,
  integrationSettingsSchema,
  type IntegrationSettingsUpdate,
  type IntegrationSettingsView,
  type RuntimeSettingsView,
} from '@opsdesk/contracts';
import { RequirePermission } from '@opsdesk/authn';
import { RpcClient } from '@opsdesk/messaging';
import { rpcContext, type AuthedRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod-body.pipe';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';

@Controller('settings')
export class SettingsController {
  private readonly logger = new Logger(SettingsController.name);

  constructor(
    private readonly rpc: RpcClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /**
   * Inventory's runtime view plus the artifacts service's upload limit (the original's max artifact size). The
   * limit is informational: when the artifacts service does not answer, the fields are null rather than the
   * whole answer failing.
   */
  @Get('runtime')
  @RequirePermission(Permissions.SELF)
  async runtime(@Req() req: AuthedRequest): Promise<RuntimeSettingsView> {
    const ctx = rpcContext(req);
    const [view, limits] = await Promise.all([
      this.rpc.call(InventoryRpc.SETTINGS_RUNTIME, {}, ctx),
      this.rpc.call(ArtifactsRpc.LIMITS, {}, ctx).catch((err: Error) => {
        this.logger.warn(`runtime settings without artifact limits: ${err.message}`);
        return null;
      }),
    ]);
    return {
      ...view,
      max_artifact_size_mb: limits?.max_artifact_size_mb ?? null,
      max_artifact_size_bytes: limits?.max_artifact_size_bytes ?? null,
      trace_ui_url: this.config.TRACE_UI_URL ?? null,
    };
  }

  @Get('integrations')
  @RequirePermission(Permissions.HOSTS_READ)
  integrations(@Req() req: AuthedRequest): Promise<IntegrationSettingsView> {
    return this.rpc.call(InventoryRpc.SETTINGS_GET, {}, rpcContext(req));
  }

  @Put('integrations')
  @RequirePermission(Permissions.SETTINGS_WRITE)
  update(@Body(new ZodPipe(integrationSettingsSchema)) body: IntegrationSettingsUpdate, @Req() req: AuthedRequest): Promise<IntegrationSettingsView> {
    return this.rpc.call(InventoryRpc.SETTINGS_PUT, body, rpcContext(req));
  }
}
