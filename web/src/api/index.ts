/** The console's data layer: everything above this folder imports from here. */
export * from './errors';
export * from './http';
export * from './session';
export * from './upload';
export * from './download';
export * from './endpoints';
