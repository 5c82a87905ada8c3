import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  Permissions,
  InventoryRpc,
  createHostSchema,
  listHostsSchema,
  updateHostSchema,
  type HostView,
  type HostsSummary,
  type Page,
} from '@opsdesk/contracts';
import { z } from 'zod';
import { idSchema, unpack } from '../common/rpc-request';
import { HostsService } from './hosts.service';
import { RequirePermission } from '@opsdesk/auth';
import { RpcCallers } from '@opsdesk/platform';

const versionSchema = z.number().int().min(0).nullable().default(null);

@Controller()
export class HostsController {
  constructor(private readonly hosts: HostsService) {}

  /** Also the lookup other services use (artifacts checks that a host exists). */
  @RequirePermission(Permissions.HOSTS_READ)
  @RpcCallers('artifacts') // an upload checks its host (artifacts' own context key)
  @MessagePattern(InventoryRpc.HOSTS_GET)
  get(@Payload() payload: unknown): Promise<HostView> {
    const { data } = unpack(payload, idSchema);
    return this.hosts.get(data.id);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(InventoryRpc.HOSTS_LIST)
  list(@Payload() payload: unknown): Promise<Page<HostView>> {
    const { data } = unpack(payload, listHostsSchema);
    return this.hosts.list(data);
  }

  @RequirePermission(Permissions.HOSTS_WRITE)
  @MessagePattern(InventoryRpc.HOSTS_CREATE)
  create(@Payload() payload: unknown): Promise<HostView> {
    const { ctx, data } = unpack(payload, createHostSchema);
    return this.hosts.create(data, ctx);
  }

  @RequirePermission(Permissions.HOSTS_WRITE)
  @MessagePattern(InventoryRpc.HOSTS_UPDATE)
  update(@Payload() payload: unknown): Promise<HostView> {
    const { ctx, data } = unpack(payload, z.object({ id: z.string().uuid(), expected_version: versionSchema, changes: updateHostSchema }));
    return this.hosts.update(data.id, data.changes, data.expected_version, ctx);
  }

  @RequirePermission(Permissions.HOSTS_WRITE)
  @MessagePattern(InventoryRpc.HOSTS_DELETE)
  async delete(@Payload() payload: unknown): Promise<{ ok: true }> {
    const { ctx, data } = unpack(payload, z.object({ id: z.string().uuid(), expected_version: versionSchema }));
    await this.hosts.delete(data.id, data.expected_version, ctx);
    return { ok: true };
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(InventoryRpc.HOSTS_SUMMARY)
  summary(): Promise<HostsSummary> {
    return this.hosts.summary();
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(InventoryRpc.TAGS_LIST)
  tags(@Payload() payload: unknown): Promise<{ items: Array<{ tag: string; count: number }> }> {
    const { data } = unpack(payload, z.object({ q: z.string().trim().max(64).optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) }));
    return this.hosts.tags(data);
  }
}
