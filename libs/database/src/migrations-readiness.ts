import type { DataSource } from 'typeorm';
import { SCHEMA_NAME_RE } from './data-source';

/**
 * /readyz's `migrations` check (issue 13): a pod is ready only when every migration it ships is recorded in
 * its schema's typeorm_migrations, and its login can read that table (the runtime grants, applied by the
 * same job right after the migrations, give it SELECT). Before that, a first install would report ready
 * against an empty database. Once everything is applied it stays so (migrations are never undone while a
 * version runs), so the positive answer is remembered and probes cost no query afterwards.
 */
export function migrationsReadiness(ds: DataSource): () => Promise<{ ok: boolean; reason?: string }> {
  let applied = false;
  return async () => {
    if (applied) return { ok: true };
    if (!ds.isInitialized) return { ok: false, reason: 'database not connected' };
    const schema = (ds.options as { schema?: string }).schema;
    if (!schema || !SCHEMA_NAME_RE.test(schema)) return { ok: false, reason: 'DataSource has no valid schema' };
    const shipped = ds.migrations.map((m) => m.name ?? m.constructor.name);
    let rows: { name: string }[];
    try {
      rows = await ds.query(`SELECT name FROM "${schema}".typeorm_migrations`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '42P01') return { ok: false, reason: `no migrations applied in schema ${schema} (run the migrations job / npm run migrate)` };
      if (code === '42501') return { ok: false, reason: `cannot read ${schema}.typeorm_migrations: the runtime grants were not applied yet (the migrations job applies them)` };
      if (code === '3F000') return { ok: false, reason: `schema ${schema} does not exist (run provisioning and migrations)` };
      throw err;
    }
    const done = new Set(rows.map((r) => r.name));
    const pending = shipped.filter((n) => !done.has(n));
    if (pending.length > 0) return { ok: false, reason: `${pending.length} of ${shipped.length} migrations pending in schema ${schema}: ${pending.join(', ')}` };
    applied = true;
    return { ok: true };
  };
}
