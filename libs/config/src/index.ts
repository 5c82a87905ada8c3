export * from './config';
export * from './env-file';
export * from './ed25519-keys';
export * from './node-flags';
