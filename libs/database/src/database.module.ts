import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { createServiceDataSource, type ServiceDataSourceOptions } from './data-source';
import { Metrics } from '@opsdesk/observability';

/** TypeORM for one service schema (never synchronize), with pool errors counted for the guide's alert. */
@Module({})
export class DatabaseModule {
  static forRoot(opts: ServiceDataSourceOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ type: 'postgres' as const }),
          dataSourceFactory: async () => {
            const errors = Metrics.dbConnectionErrors();
            const ds: DataSource = createServiceDataSource({ ...opts, onConnectionError: () => errors.inc() });
            try {
              return await ds.initialize();
            } catch (err) {
              errors.inc();
              throw err;
            }
          },
        }),
      ],
    };
  }
}
