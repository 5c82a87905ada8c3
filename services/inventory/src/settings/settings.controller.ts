import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { InventoryRpc, integrationSettingsSchema, type IntegrationSettingsView, type RuntimeSettingsView } from '@opsdesk/contracts';
import { unpack } from '../common/rpc-request';
import { SettingsService } from './settings.service';

@Controller()
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @MessagePattern(InventoryRpc.SETTINGS_RUNTIME)
  runtime(): Promise<RuntimeSettingsView> {
    return this.settings.runtime();
  }

  @MessagePattern(InventoryRpc.SETTINGS_GET)
  get(): Promise<IntegrationSettingsView> {
    return this.settings.get();
  }

  @MessagePattern(InventoryRpc.SETTINGS_PUT)
  put(@Payload() payload: unknown): Promise<IntegrationSettingsView> {
    const { ctx, data } = unpack(payload, integrationSettingsSchema);
    return this.settings.put(data, ctx);
  }
}
