import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { createServiceDataSource, type ServiceDataSourceOptions } from './data-source';
import { PoolBudgetError, assertPoolBudget, type PoolBudgetOptions } from './pool-budget';
import { Metrics } from '@opsdesk/observability';

export interface DatabaseModuleOptions extends ServiceDataSourceOptions {
  /** checked once connected (pool-budget.ts): start-up stops when all processes' pools exceed the server's limit */
  poolBudget?: Omit<PoolBudgetOptions, 'poolMax'>;
}

/** TypeORM for one service schema (never synchronize), with pool errors counted for the guide's alert. */
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
            const errors = Metrics.dbConnectionErrors();
            const ds: DataSource = createServiceDataSource({ ...opts, onConnectionError: () => errors.inc() });
            try {
              await ds.initialize();
            } catch (err) {
              errors.inc();
              throw err;
            }
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
