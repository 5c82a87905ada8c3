import { Controller } from '@nestjs/common';
import {
  Permissions,
  InventoryRpc,
  type IntegrationSettingsView,
  type RuntimeSettingsView,
} from '@opsdesk/contracts';
import { SettingsService } from './settings.service';
import { RequirePermission } from '@opsdesk/authn';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

@Controller()
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @RequirePermission(Permissions.SELF)
  @RpcHandler(InventoryRpc.SETTINGS_RUNTIME)
  runtime(): Promise<RuntimeSettingsView> {
    return this.settings.runtime();
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(InventoryRpc.SETTINGS_GET)
  get(): Promise<IntegrationSettingsView> {
    return this.settings.get();
  }

  @RequirePermission(Permissions.SETTINGS_WRITE)
  @RpcHandler(InventoryRpc.SETTINGS_PUT)
  put({ ctx, data }: RpcInput<typeof InventoryRpc.SETTINGS_PUT>): Promise<IntegrationSettingsView> {
    return this.settings.put(data, ctx);
  }
}
