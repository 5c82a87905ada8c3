import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Permissions, InventoryRpc, metricsListSchema, type MetricsSnapshotView, type Page } from '@opsdesk/contracts';
import { z } from 'zod';
import { idSchema, unpack } from '../common/rpc-request';
import { TelemetryService } from './telemetry.service';
import { RequirePermission } from '@opsdesk/auth';

@Controller()
export class TelemetryController {
  constructor(private readonly telemetry: TelemetryService) {}

  @RequirePermission(Permissions.HOSTS_WRITE)
  @MessagePattern(InventoryRpc.METRICS_REFRESH)
  refresh(@Payload() payload: unknown): Promise<MetricsSnapshotView> {
    const { ctx, data } = unpack(payload, idSchema);
    return this.telemetry.refresh(data.id, ctx);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(InventoryRpc.METRICS_LATEST)
  latest(@Payload() payload: unknown): Promise<MetricsSnapshotView> {
    const { data } = unpack(payload, idSchema);
    return this.telemetry.latest(data.id);
  }

  @RequirePermission(Permissions.HOSTS_READ)
  @MessagePattern(InventoryRpc.METRICS_LIST)
  list(@Payload() payload: unknown): Promise<Page<MetricsSnapshotView>> {
    const { data } = unpack(payload, metricsListSchema.extend({ id: z.string().uuid() }));
    return this.telemetry.list(data.id, data);
  }
}
