import { createServiceDataSource } from '@opsdesk/database';
import type { DataSource } from 'typeorm';
import { authEntities } from './entities';
import { authMigrations } from './migrations';

export const AUTH_SCHEMA = 'auth';

/** Convention for every service with a schema: `createDataSource(url)`, used by `npm run migrate` and scripts (the running service builds its own via DatabaseModule). */
export function createDataSource(url: string, poolSize = 5): DataSource {
  return createServiceDataSource({ url, schema: AUTH_SCHEMA, entities: authEntities, migrations: authMigrations, poolSize, maxOverflow: 0 });
}
