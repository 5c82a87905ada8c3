import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Permissions, InventoryRpc, accessCommandSchema, type AccessCommandView } from '@opsdesk/contracts';
import { z } from 'zod';
import { unpack } from '../common/rpc-request';
import { AccessService } from './access.service';
import { RequirePermission } from '@opsdesk/auth';

@Controller()
export class AccessController {
  constructor(private readonly access: AccessService) {}

  @RequirePermission(Permissions.ACCESS_ISSUE)
  @MessagePattern(InventoryRpc.ACCESS_ISSUE)
  issue(@Payload() payload: unknown): Promise<AccessCommandView> {
    const { ctx, data } = unpack(payload, z.object({ id: z.string().uuid(), request: accessCommandSchema }));
    return this.access.issue(data.id, data.request, ctx);
  }
}
