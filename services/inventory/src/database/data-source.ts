import { createServiceDataSource } from '@opsdesk/database';
import type { DataSource } from 'typeorm';
import { inventoryMigrations } from './migrations';

export const INVENTORY_SCHEMA = 'inventory';

/** Convention for every service with a schema: `createDataSource(url)`, used by `npm run migrate`, the e2e stack and scripts. */
export function createDataSource(url: string, poolSize = 5): DataSource {
  return createServiceDataSource({ url, schema: INVENTORY_SCHEMA, entities: [], migrations: inventoryMigrations, poolSize, maxOverflow: 0 });
}
