import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { createServiceDataSource, type ServiceDataSourceOptions } from './data-source';
import { DbMetrics, countDbError, instrumentDataSource } from './pool-metrics';

/**
 * TypeORM for one service schema (never synchronize). Connection failures are counted wherever they happen
 * (pool connect, broken query, idle connection, boot) and the pool's usage is exported (pool-metrics.ts).
 */
@Module({})
export class DatabaseModule {
  static forRoot(opts: ServiceDataSourceOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ type: 'postgres' as const }),
          dataSourceFactory: async () => {
            const pool = opts.schema;
            // an idle pooled connection that errors is always the connection's fault
            const idleError = (err: Error) => {
              if (!countDbError(pool, err)) DbMetrics.connectionErrors().inc({ pool, kind: 'terminated' });
            };
            const ds: DataSource = createServiceDataSource({ ...opts, onConnectionError: idleError });
            try {
              await ds.initialize();
            } catch (err) {
              if (!countDbError(pool, err)) DbMetrics.connectionErrors().inc({ pool, kind: 'refused' });
              throw err;
            }
            instrumentDataSource(ds, pool);
            return ds;
          },
        }),
      ],
    };
  }
}
