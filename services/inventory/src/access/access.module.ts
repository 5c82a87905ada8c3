import { Module } from '@nestjs/common';
import { HostsModule } from '../hosts/hosts.module';
import { SettingsModule } from '../settings/settings.module';
import { AccessController } from './access.controller';
import { AccessService } from './access.service';

@Module({ imports: [HostsModule, SettingsModule], controllers: [AccessController], providers: [AccessService] })
export class AccessModule {}
