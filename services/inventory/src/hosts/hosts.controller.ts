import { Controller } from '@nestjs/common';
import { Permissions, InventoryRpc, type HostView, type HostsSummary, type Page } from '@opsdesk/contracts';
import { HostsService } from './hosts.service';
import { RequirePermission } from '@opsdesk/authn';
import { RpcCallers } from '@opsdesk/platform';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

@Controller()
export class HostsController {
  constructor(private readonly hosts: HostsService) {}

  /** Also the lookup other services use (artifacts checks that a host exists). */
  @RequirePermission(Permissions.HOSTS_READ)
  @RpcCallers('artifacts') // an upload checks its host (artifacts' own context key)
  @RpcHandler(InventoryRpc.HOSTS_GET)
  get({ data }: RpcInput<typeof InventoryRpc.HOSTS_GET>): Promise<HostView> {
    return this.hosts.get(data.id);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(InventoryRpc.HOSTS_LIST)
  list({ data }: RpcInput<typeof InventoryRpc.HOSTS_LIST>): Promise<Page<HostView>> {
    return this.hosts.list(data);
  }

  @RequirePermission(Permissions.HOSTS_WRITE)
  @RpcHandler(InventoryRpc.HOSTS_CREATE)
  create({ ctx, data }: RpcInput<typeof InventoryRpc.HOSTS_CREATE>): Promise<HostView> {
    return this.hosts.create(data, ctx);
  }

  @RequirePermission(Permissions.HOSTS_WRITE)
  @RpcHandler(InventoryRpc.HOSTS_UPDATE)
  update({ ctx, data }: RpcInput<typeof InventoryRpc.HOSTS_UPDATE>): Promise<HostView> {
    return this.hosts.update(data.id, data.changes, data.expected_version, ctx);
  }

  @RequirePermission(Permissions.HOSTS_WRITE)
  @RpcHandler(InventoryRpc.HOSTS_DELETE)
  async delete({ ctx, data }: RpcInput<typeof InventoryRpc.HOSTS_DELETE>): Promise<{ ok: true }> {
    await this.hosts.delete(data.id, data.expected_version, ctx);
    return { ok: true };
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(InventoryRpc.HOSTS_SUMMARY)
  summary(): Promise<HostsSummary> {
    return this.hosts.summary();
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(InventoryRpc.TAGS_LIST)
  tags({
    data,
  }: RpcInput<typeof InventoryRpc.TAGS_LIST>): Promise<{ items: Array<{ tag: string; count: number }> }> {
    return this.hosts.tags(data);
  }
}
