import { Controller } from '@nestjs/common';
import { Permissions, InventoryRpc, type AccessCommandView } from '@opsdesk/contracts';
import { AccessService } from './access.service';
import { RequirePermission } from '@opsdesk/authn';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

@Controller()
export class AccessController {
  constructor(private readonly access: AccessService) {}

  @RequirePermission(Permissions.ACCESS_ISSUE)
  @RpcHandler(InventoryRpc.ACCESS_ISSUE)
  issue({ ctx, data }: RpcInput<typeof InventoryRpc.ACCESS_ISSUE>): Promise<AccessCommandView> {
    return this.access.issue(data.id, data.request, ctx);
  }
}
