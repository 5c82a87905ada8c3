import { createServiceDataSource } from '@opsdesk/database';
import type { DataSource } from 'typeorm';
import { artifactsEntities } from './entities';
import { artifactsMigrations } from './migrations';

export const ARTIFACTS_SCHEMA = 'artifacts';

/** Convention for every service with a schema: `createDataSource(url)`, used by `npm run migrate` and scripts (the running service builds its own via DatabaseModule). */
export function createDataSource(url: string, poolSize = 5): DataSource {
  return createServiceDataSource({ url, schema: ARTIFACTS_SCHEMA, entities: artifactsEntities, migrations: artifactsMigrations, poolSize, maxOverflow: 0 });
}
