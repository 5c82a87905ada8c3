import { Body, Controller, Get, Put, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
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
import { openApiSchema } from '../common/openapi';
import { rpcContext, type AuthedRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod-body.pipe';

@ApiTags('settings')
@ApiBearerAuth()
@Controller('settings')
export class SettingsController {
  constructor(private readonly rpc: RpcClient) {}

  @Get('runtime')
  @RequirePermission(Permissions.SELF)
  @ApiOperation({ summary: 'Non-secret runtime information: environment, version, limits, whether Prometheus is configured' })
  runtime(@Req() req: AuthedRequest): Promise<RuntimeSettingsView> {
    return this.rpc.call(InventoryRpc.SETTINGS_RUNTIME, {}, rpcContext(req));
  }

  @Get('integrations')
  @RequirePermission(Permissions.HOSTS_READ)
  @ApiOperation({ summary: 'Integration settings (Prometheus URL without credentials, instance template, snapshot TTL)' })
  integrations(@Req() req: AuthedRequest): Promise<IntegrationSettingsView> {
    return this.rpc.call(InventoryRpc.SETTINGS_GET, {}, rpcContext(req));
  }

  @Put('integrations')
  @RequirePermission(Permissions.SETTINGS_WRITE)
  @ApiOperation({ summary: 'Update integration settings (admin); recorded as inventory.settings.updated with before/after' })
  @ApiBody({ schema: openApiSchema(integrationSettingsSchema) })
  update(@Body(new ZodPipe(integrationSettingsSchema)) body: IntegrationSettingsUpdate, @Req() req: AuthedRequest): Promise<IntegrationSettingsView> {
    return this.rpc.call(InventoryRpc.SETTINGS_PUT, body, rpcContext(req));
  }
}
