export * from './service-app';
export * from './internal-auth.guard';
export * from './service-infrastructure';
export * from './rpc-caller.guard';
export * from './service-config.module';
export * from './internal-http-error.filter';
export * from './internal-token-ledger';
