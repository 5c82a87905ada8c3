export * from './nats';
export * from './messaging-tables';
export * from './outbox';
export * from './inbox';
export * from './failures';
export * from './rpc';
export * from './rpc-handler';
export * from './messaging.module';
