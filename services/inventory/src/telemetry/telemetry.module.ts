import { Module } from '@nestjs/common';
import { HostsModule } from '../hosts/hosts.module';
import { SettingsModule } from '../settings/settings.module';
import { TelemetryController } from './telemetry.controller';
import { TelemetryService } from './telemetry.service';

@Module({ imports: [HostsModule, SettingsModule], controllers: [TelemetryController], providers: [TelemetryService], exports: [TelemetryService] })
export class TelemetryModule {}
