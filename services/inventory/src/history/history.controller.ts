import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Permissions, InventoryRpc, historyQuerySchema, type HostRevisionView, type HostView, type Page } from '@opsdesk/contracts';
import { z } from 'zod';
import { unpack } from '../common/rpc-request';
import { HistoryService } from './history.service';
import { RequirePermission } from '@opsdesk/auth';

@Controller()
export class HistoryController {
  constructor(private readonly history: HistoryService) {}

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(InventoryRpc.HOSTS_HISTORY)
  list(@Payload() payload: unknown): Promise<Page<HostRevisionView>> {
    const { data } = unpack(payload, historyQuerySchema.extend({ id: z.string().uuid(), include_deleted: z.boolean().default(false) }));
    return this.history.list(data.id, data, data.include_deleted);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(InventoryRpc.HOSTS_GET_AS_OF)
  asOf(@Payload() payload: unknown): Promise<HostView> {
    const { data } = unpack(payload, z.object({ id: z.string().uuid(), as_of: z.string().datetime({ offset: true }), include_deleted: z.boolean().default(false) }));
    return this.history.asOf(data.id, data.as_of, data.include_deleted);
  }
}
