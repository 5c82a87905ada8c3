import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';

/** HTTP routes for /api/audit: list and verify over RPC, exports streamed from the audit service's internal port. */
@Module({ controllers: [AuditController] })
export class AuditModule {}
