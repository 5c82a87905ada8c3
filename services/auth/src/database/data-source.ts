import { createServiceDataSource } from '@opsdesk/database';
import type { DataSource } from 'typeorm';
import { authEntities } from './entities';
import { authMigrations } from './migrations';

export const AUTH_SCHEMA = 'auth';

/** The DataSource `npm run migrate` and the seed script use (the running service builds its own via DatabaseModule). */
export function authDataSource(url: string, poolSize = 5): DataSource {
  return createServiceDataSource({ url, schema: AUTH_SCHEMA, entities: authEntities, migrations: authMigrations, poolSize, maxOverflow: 0 });
}
