export * from './database';
export * from './nats';
export * from './wait';
export * from './env';
export * from './stream-reader';
export * from './http';
export * from './tcp-proxy';
