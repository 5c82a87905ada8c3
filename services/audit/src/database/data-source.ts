import { createServiceDataSource } from '@opsdesk/database';
import type { DataSource } from 'typeorm';
import { auditMigrations } from './migrations';

export const AUDIT_SCHEMA = 'audit';

/**
 * Convention for every service with a schema: `createDataSource(url)`, used by `npm run migrate` and scripts.
 * This one connects as the login user (the schema owner); the running service adds `sessionRole`.
 */
export function createDataSource(url: string, poolSize = 5): DataSource {
  return createServiceDataSource({ url, schema: AUDIT_SCHEMA, entities: [], migrations: auditMigrations, poolSize, maxOverflow: 0 });
}
