import { Body, Controller, Get, Put, Req } from '@nestjs/common';
import {
  InventoryRpc,
  Permissions,
  integrationSettingsSchema,
  type IntegrationSettingsUpdate,
  type IntegrationSettingsView,
  type RuntimeSettingsView,
} from '@opsdesk/contracts';
import { RequirePermission } from '@opsdesk/auth';
import { RpcClient } from '@opsdesk/messaging';
import { rpcContext, type AuthedRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod-body.pipe';

@Controller('settings')
export class SettingsController {
  constructor(private readonly rpc: RpcClient) {}

  @Get('runtime')
  @RequirePermission(Permissions.SELF)
  runtime(@Req() req: AuthedRequest): Promise<RuntimeSettingsView> {
    return this.rpc.call(InventoryRpc.SETTINGS_RUNTIME, {}, rpcContext(req));
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
