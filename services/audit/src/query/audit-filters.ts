import type { AuditFilters } from '@opsdesk/contracts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * SQL conditions for the shared filters. Each one is served by an index that ends with seq
 * (docs/audit.md), so "conditions AND seq < cursor ORDER BY seq DESC LIMIT n" stays a short index scan.
 * Values are always bound parameters; `params` is appended to.
 */
export function filterConditions(f: AuditFilters, params: unknown[]): string[] {
  const where: string[] = [];
  const bind = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.actor) {
    if (f.actor.includes('@')) where.push(`lower(actor->>'email') = ${bind(f.actor.toLowerCase())}`);
    else where.push(`actor->>'user_id' = ${bind(UUID_RE.test(f.actor) ? f.actor.toLowerCase() : f.actor)}`);
  }
  if (f.action) {
    if (f.action.endsWith('*')) {
      // type is COLLATE "C", so a LIKE prefix is a btree range on records_type_seq_idx
      const prefix = f.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`);
      where.push(`type LIKE ${bind(`${prefix}%`)}`);
    } else {
      where.push(`type = ${bind(f.action)}`);
    }
  }
  if (f.entity_type) where.push(`entity_type = ${bind(f.entity_type)}`);
  if (f.entity_id) where.push(`entity_id = ${bind(f.entity_id)}`);
  if (f.from) where.push(`occurred_at >= ${bind(new Date(f.from).toISOString())}`);
  if (f.to) where.push(`occurred_at < ${bind(new Date(f.to).toISOString())}`);
  if (f.q) {
    where.push(`audit.search_vector(type, actor, entity_type, entity_id, request_id, data) @@ plainto_tsquery('simple', ${bind(f.q)})`);
  }
  return where;
}

/** The filters that were actually given (for the export header and the audit.exported event). */
export function givenFilters(f: AuditFilters): Partial<AuditFilters> {
  const out: Record<string, string> = {};
  for (const k of ['actor', 'action', 'entity_type', 'entity_id', 'from', 'to', 'q'] as const) {
    const v = f[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
