import { Module } from '@nestjs/common';
import { VerifyModule } from '../verify/verify.module';
import { AuditController } from './audit.controller';
import { AuditQueryService } from './audit-query.service';

@Module({ imports: [VerifyModule], controllers: [AuditController], providers: [AuditQueryService] })
export class AuditQueryModule {}
