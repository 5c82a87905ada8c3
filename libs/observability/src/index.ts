export * from './tracing';
export * from './metrics';
export * from './logger';
export * from './request-context';
export * from './health.module';
export * from './http-metrics';
export * from './storage-metrics';
