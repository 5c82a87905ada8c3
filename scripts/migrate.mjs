// `npm run migrate`: applies every service's migrations to DATABASE_URL (each service owns one schema), then
// the runtime logins' grants. DATABASE_URL is the migration login (<prefix>_migrator, see docs/OPERATIONS.md
// "Database logins"); a single pre-logins superuser URL still works (no grants to apply then).
// Run after `npm run build`; services are found by convention: dist/services/<name>/src/database/data-source.js
// exporting createDataSource(url).
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

export async function migrateAll(url, log = console.log) {
  const { runMigrations, applyRuntimeGrants } = require(join(root, 'dist/libs/database/src/index.js'));
  const servicesDir = join(root, 'dist/services');
  const results = {};
  for (const name of readdirSync(servicesDir).sort()) {
    const file = join(servicesDir, name, 'src/database/data-source.js');
    if (!existsSync(file)) continue;
    const { createDataSource } = require(file);
    const ds = createDataSource(url);
    const applied = await runMigrations(ds);
    results[name] = applied;
    log(`migrate ${name}: ${applied.length ? applied.join(', ') : 'up to date'}`);
  }
  const prefix = await applyRuntimeGrants(url);
  log(prefix ? `grants: ${prefix}_<service> logins updated` : 'grants: no <prefix>_migrator login, so no per-service logins to grant (see docs/OPERATIONS.md)');
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { loadEnvFile, loadRunningSystemEnv } = require(join(root, 'dist/libs/config/src/index.js'));
  loadEnvFile();
  loadRunningSystemEnv();
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('Invalid configuration: DATABASE_URL is required (postgres://user:pass@host:5432/db), or a running `npm start`');
    process.exit(78);
  }
  migrateAll(url).catch((err) => {
    console.error(`migrate failed: ${err.message}`);
    process.exit(1);
  });
}
