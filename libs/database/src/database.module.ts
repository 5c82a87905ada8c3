import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { createServiceDataSource, type ServiceDataSourceOptions } from './data-source';
import { DbMetrics, countDbError, instrumentDataSource } from './pool-metrics';
import { PoolBudgetError, assertPoolBudget, type PoolBudgetOptions } from './pool-budget';

export interface DatabaseModuleOptions extends ServiceDataSourceOptions {
  /** checked once connected (pool-budget.ts): start-up stops when all processes' pools exceed the server's limit */
  poolBudget?: Omit<PoolBudgetOptions, 'poolMax'>;
}

/**
 * TypeORM for one service schema (never synchronize). Connection failures are counted wherever they happen
 * (pool connect, broken query, idle connection, boot) and the pool's usage is exported (pool-metrics.ts).
 */
@Module({})
export class DatabaseModule {
  static forRoot(opts: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          // an unreachable database is retried (it may be starting); an exceeded budget is a configuration error
          useFactory: () => ({ type: 'postgres' as const, toRetry: (err: unknown) => !(err instanceof PoolBudgetError) }),
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
            if (opts.poolBudget) {
              const poolMax = (opts.poolSize ?? 20) + (opts.maxOverflow ?? 10);
              try {
                await assertPoolBudget(ds, { ...opts.poolBudget, poolMax });
              } catch (err) {
                await ds.destroy().catch(() => undefined);
                throw err;
              }
            }
            return ds;
          },
        }),
      ],
    };
  }
}
