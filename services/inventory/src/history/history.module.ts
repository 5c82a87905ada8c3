import { Module } from '@nestjs/common';
import { HostsModule } from '../hosts/hosts.module';
import { HistoryController } from './history.controller';
import { HistoryService } from './history.service';
import { RevisionsRepository } from './revisions.repository';

@Module({ imports: [HostsModule], controllers: [HistoryController], providers: [HistoryService, RevisionsRepository] })
export class HistoryModule {}
