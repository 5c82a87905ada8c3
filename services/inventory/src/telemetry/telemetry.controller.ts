import { Controller } from '@nestjs/common';
import { Permissions, InventoryRpc, type MetricsSnapshotView, type Page } from '@opsdesk/contracts';
import { TelemetryService } from './telemetry.service';
import { RequirePermission } from '@opsdesk/authn';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

@Controller()
export class TelemetryController {
  constructor(private readonly telemetry: TelemetryService) {}

  @RequirePermission(Permissions.HOSTS_WRITE)
  @RpcHandler(InventoryRpc.METRICS_REFRESH)
  refresh({ ctx, data }: RpcInput<typeof InventoryRpc.METRICS_REFRESH>): Promise<MetricsSnapshotView> {
    return this.telemetry.refresh(data.id, ctx);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(InventoryRpc.METRICS_LATEST)
  latest({ data }: RpcInput<typeof InventoryRpc.METRICS_LATEST>): Promise<MetricsSnapshotView> {
    return this.telemetry.latest(data.id);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @RpcHandler(InventoryRpc.METRICS_LIST)
  list({ data }: RpcInput<typeof InventoryRpc.METRICS_LIST>): Promise<Page<MetricsSnapshotView>> {
    return this.telemetry.list(data.id, data);
  }
}
