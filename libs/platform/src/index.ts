export * from './database.module';
export * from './service-app';
