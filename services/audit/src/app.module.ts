import { DynamicModule, Module } from '@nestjs/common';
import type { MessagingModule } from '@opsdesk/messaging';
import { ServiceConfigModule, serviceInfrastructure } from '@opsdesk/platform';
import { ChainModule } from './chain/chain.module';
import { AUDIT_CONFIG, type AuditConfig } from './config/audit.config';
import { AUDIT_SCHEMA } from './database/data-source';
import { auditMigrations } from './database/migrations';
import { ExportModule } from './export/export.module';
import { AuditQueryModule } from './query/audit-query.module';
import { RecorderModule } from './recorder/recorder.module';

export interface AuditAppOverrides {
  /** tests: fault injection in the event consumer (e.g. a crash between commit and ack) */
  consumer?: Parameters<typeof MessagingModule.forRoot>[0]['consumer'];
  relay?: Parameters<typeof MessagingModule.forRoot>[0]['relay'];
}

@Module({})
export class AppModule {
  static forRoot(config: AuditConfig, overrides: AuditAppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceConfigModule.forRoot(AUDIT_CONFIG, config, { internalRoutesOf: 'audit' }),
        ...serviceInfrastructure({
          service: 'audit',
          schema: AUDIT_SCHEMA,
          config,
          migrations: auditMigrations,
          relay: overrides.relay,
          consumer: overrides.consumer,
        }),
        ChainModule,
        RecorderModule,
        AuditQueryModule,
        ExportModule,
      ],
    };
  }
}
