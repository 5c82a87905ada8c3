import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Permissions, InventoryRpc, integrationSettingsSchema, type IntegrationSettingsView, type RuntimeSettingsView } from '@opsdesk/contracts';
import { unpack } from '../common/rpc-request';
import { SettingsService } from './settings.service';
import { RequirePermission } from '@opsdesk/auth';

@Controller()
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @RequirePermission(Permissions.SELF)
  @MessagePattern(InventoryRpc.SETTINGS_RUNTIME)
  runtime(): Promise<RuntimeSettingsView> {
    return this.settings.runtime();
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(InventoryRpc.SETTINGS_GET)
  get(): Promise<IntegrationSettingsView> {
    return this.settings.get();
  }

  @RequirePermission(Permissions.SETTINGS_WRITE)
  @MessagePattern(InventoryRpc.SETTINGS_PUT)
  put(@Payload() payload: unknown): Promise<IntegrationSettingsView> {
    const { ctx, data } = unpack(payload, integrationSettingsSchema);
    return this.settings.put(data, ctx);
  }
}
