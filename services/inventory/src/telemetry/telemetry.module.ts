import { Module } from '@nestjs/common';
import { HostsModule } from '../hosts/hosts.module';
import { SettingsModule } from '../settings/settings.module';
import { TelemetryController } from './telemetry.controller';
import { TelemetryService } from './telemetry.service';
import { InventoryMetricsService } from './inventory-metrics.service';

@Module({ imports: [HostsModule, SettingsModule], controllers: [TelemetryController], providers: [TelemetryService, InventoryMetricsService], exports: [TelemetryService] })
export class TelemetryModule {}
