import { Controller } from '@nestjs/common';
import {
  Permissions,
  InventoryRpc,
  type HostRevisionView,
  type HostView,
  type Page,
} from '@opsdesk/contracts';
import { HistoryService } from './history.service';
import { RequirePermission } from '@opsdesk/authn';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

@Controller()
export class HistoryController {
  constructor(private readonly history: HistoryService) {}

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(InventoryRpc.HOSTS_HISTORY)
  list({ data }: RpcInput<typeof InventoryRpc.HOSTS_HISTORY>): Promise<Page<HostRevisionView>> {
    return this.history.list(data.id, data, data.include_deleted);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(InventoryRpc.HOSTS_GET_AS_OF)
  asOf({ data }: RpcInput<typeof InventoryRpc.HOSTS_GET_AS_OF>): Promise<HostView> {
    return this.history.asOf(data.id, data.as_of, data.include_deleted);
  }
}
