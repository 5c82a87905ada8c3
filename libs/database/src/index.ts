export * from './data-source';
export * from './provision';
export * from './database.module';
export * from './pool-metrics';
export * from './pool-budget';
export * from './migrations-readiness';
