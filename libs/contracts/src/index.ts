export * from './errors';
export * from './roles';
export * from './events';
export * from './rpc';
export * from './pagination';
export * from './auth';
