import { Module } from '@nestjs/common';
import { HostsController, TagsController } from './hosts.controller';

/** HTTP routes for /api/hosts and /api/tags, mapped to inventory RPCs (CSV bodies streamed to its internal port). */
@Module({ controllers: [HostsController, TagsController] })
export class HostsModule {}
