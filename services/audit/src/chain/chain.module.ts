import { Global, Module } from '@nestjs/common';
import { AuditRecordsRepository } from './audit-records.repository';
import { ChainService } from './chain.service';

@Global()
@Module({ providers: [AuditRecordsRepository, ChainService], exports: [AuditRecordsRepository, ChainService] })
export class ChainModule {}
