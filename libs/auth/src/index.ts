export * from './principal';
export * from './revocation-store';
export * from './decorators';
export * from './jwt.strategy';
export * from './api-token.strategy';
export * from './guards';
export * from './internal-token';
