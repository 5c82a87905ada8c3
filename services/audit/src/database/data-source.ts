import { createServiceDataSource } from '@opsdesk/database';
import type { DataSource } from 'typeorm';
import { auditMigrations } from './migrations';

export const AUDIT_SCHEMA = 'audit';

/**
 * Convention for every service with a schema: `createDataSource(url)`, used by `npm run migrate` and scripts.
 * Migrations run as the migrator login (objects owned by <prefix>_owner); the running service connects with
 * its own login, which may only INSERT/SELECT the trail (libs/database/src/provision.ts).
 */
export function createDataSource(url: string, poolSize = 5): DataSource {
  return createServiceDataSource({ url, schema: AUDIT_SCHEMA, entities: [], migrations: auditMigrations, poolSize, maxOverflow: 0 });
}
