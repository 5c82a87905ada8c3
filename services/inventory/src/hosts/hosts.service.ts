import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  AppError,
  Criticalities,
  ErrorCodes,
  EventTypes,
  HostEnvironments,
  InventoryErrors,
  OperatingSystems,
  Permissions,
  decodeCursor,
  roleHas,
  encodeCursor,
  hostCrossFieldErrors,
  type CreateHostRequest,
  type HostFilters,
  type HostView,
  type HostsSummary,
  type ListHostsRequest,
  type Page,
  type RpcContext,
  type UpdateHostRequest, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { writeRevision, type RevisionSource } from '../history/revision.writer';
import { HOST_COLUMNS, conflictField, escapeLike, returnedRows, toHostView, type HostJson } from './host.row';

/** Builds parameterised WHERE clauses for the host filters (list and export share them). */
export function hostFilterSql(f: HostFilters, params: unknown[]): string[] {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where: string[] = [];
  // every whitespace-separated term must appear somewhere in hostname/fqdn/ip/owner/team/tags/notes
  for (const term of (f.q ?? '').toLowerCase().split(/\s+/).filter(Boolean)) where.push(`h.search LIKE ${p(`%${escapeLike(term)}%`)}`);
  if (f.environment) where.push(`h.environment = ${p(f.environment)}`);
  if (f.os) where.push(`h.os = ${p(f.os)}`);
  if (f.criticality) where.push(`h.criticality = ${p(f.criticality)}`);
  if (f.tag?.length) where.push(`h.tags @> ${p(f.tag)}::text[]`);
  if (f.owner) where.push(`h.owner = ${p(f.owner)}`);
  if (f.team) where.push(`h.team = ${p(f.team)}`);
  return where;
}

interface SortSpec {
  key: string;
  dir: 'ASC' | 'DESC';
  /** the cursor value expression (exact text of the sort key) */
  keyText: string;
  withId: boolean;
  cast: string;
}

const SORTS: Record<ListHostsRequest['sort'], SortSpec> = {
  // hostname is unique case-insensitively: the key alone is a total order
  hostname: { key: 'lower(h.hostname)', dir: 'ASC', keyText: 'lower(h.hostname)', withId: false, cast: 'text' },
  '-hostname': { key: 'lower(h.hostname)', dir: 'DESC', keyText: 'lower(h.hostname)', withId: false, cast: 'text' },
  created_at: { key: 'h.created_at', dir: 'ASC', keyText: 'inventory.iso(h.created_at)', withId: true, cast: 'timestamptz' },
  '-created_at': { key: 'h.created_at', dir: 'DESC', keyText: 'inventory.iso(h.created_at)', withId: true, cast: 'timestamptz' },
  updated_at: { key: 'h.updated_at', dir: 'ASC', keyText: 'inventory.iso(h.updated_at)', withId: true, cast: 'timestamptz' },
  '-updated_at': { key: 'h.updated_at', dir: 'DESC', keyText: 'inventory.iso(h.updated_at)', withId: true, cast: 'timestamptz' },
};

/**
 * A host's own access template changes the command people paste for it: like the global templates it is an
 * admin's decision (settings:write), while the rest of the host stays an operator's.
 */
function assertMaySetTemplate(ctx: RpcContext): void {
  if (!ctx.principal || !roleHas(ctx.principal.role, Permissions.SETTINGS_WRITE))
    throw new AppError(ErrorCodes.FORBIDDEN, 'Only an admin may set a host access_template', [{ field: 'access_template', message: 'needs the settings:write permission (admin)' }]);
}

const invalidCursor = () => new AppError(ErrorCodes.VALIDATION_FAILED, 'Invalid cursor', [{ field: 'cursor', message: 'is not a cursor from this list (same sort)' }]);

@Injectable()
export class HostsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
  ) {}

  async get(id: string, m: EntityManager = this.dataSource.manager): Promise<HostView> {
    const rows: Array<{ v: HostJson }> = await m.query(`SELECT inventory.host_view(h) AS v FROM inventory.hosts h WHERE h.id = $1`, [id]);
    if (!rows[0]) throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host not found');
    return toHostView(rows[0].v);
  }

  /**
   * Keyset pagination: the cursor holds the last row's sort key (and id), so pages never skip or repeat
   * existing hosts while others are inserted or deleted concurrently. `skip` (offset) is accepted for
   * compatibility when no cursor is given.
   */
  async list(q: ListHostsRequest): Promise<Page<HostView>> {
    const params: unknown[] = [];
    const where = hostFilterSql(q, params);
    const s = SORTS[q.sort];
    const cmp = s.dir === 'ASC' ? '>' : '<';
    if (q.cursor) {
      const c = decodeCursor<{ s: string; k: string; id?: string }>(q.cursor);
      if (!c || c.s !== q.sort || typeof c.k !== 'string' || (s.withId && typeof c.id !== 'string')) throw invalidCursor();
      params.push(c.k);
      if (s.withId) {
        if (!/^[0-9a-f-]{36}$/i.test(c.id as string) || Number.isNaN(Date.parse(c.k))) throw invalidCursor();
        params.push(c.id);
        where.push(`(${s.key}, h.id) ${cmp} ($${params.length - 1}::${s.cast}, $${params.length}::uuid)`);
      } else {
        where.push(`${s.key} ${cmp} $${params.length}::${s.cast}`);
      }
    }
    params.push(q.limit + 1);
    let sql = `SELECT inventory.host_view(h) AS v, ${s.keyText} AS k, h.id FROM inventory.hosts h
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${s.key} ${s.dir}${s.withId ? `, h.id ${s.dir}` : ''} LIMIT $${params.length}`;
    if (!q.cursor && q.skip) {
      params.push(q.skip);
      sql += ` OFFSET $${params.length}`;
    }
    const rows: Array<{ v: HostJson; k: string; id: string }> = await this.dataSource.query(sql, params);
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return {
      items: items.map((r) => toHostView(r.v)),
      next_cursor: rows.length > q.limit && last ? encodeCursor(s.withId ? { s: q.sort, k: last.k, id: last.id } : { s: q.sort, k: last.k }) : null,
    };
  }

  async create(req: CreateHostRequest, ctx: RpcContext, source: RevisionSource = 'api'): Promise<HostView> {
    if ((req.access_template ?? null) !== null) assertMaySetTemplate(ctx);
    try {
      return await this.dataSource.transaction(async (m) => {
        const values = HOST_COLUMNS.map((c) => req[c] ?? null);
        const placeholders = HOST_COLUMNS.map((c, i) => `$${i + 1}${c === 'ip' ? '::inet' : c === 'tags' ? '::text[]' : ''}`);
        const ts = await now(m);
        const [row]: Array<{ v: HostJson }> = await m.query(
          `INSERT INTO inventory.hosts AS h (${HOST_COLUMNS.join(', ')}, created_at, updated_at)
           VALUES (${placeholders.join(', ')}, $${values.length + 1}, $${values.length + 1})
           RETURNING inventory.host_view(h) AS v`,
          [...values, ts],
        );
        const view = toHostView(row.v);
        await writeRevision(m, { hostId: view.id, revision: 1, action: 'created', at: view.updated_at, actor: ctx.actor, requestId: ctx.request_id, source, before: null, after: row.v });
        await this.outbox.add(
          m,
          domainEvent(EventTypes.HOST_CREATED, ctx, { type: 'host', id: view.id }, { host_id: view.id, hostname: view.hostname, after: view, source }),
        );
        return view;
      });
    } catch (err) {
      throw this.conflictOr(err, req);
    }
  }

  /** PATCH semantics; `expectedVersion` comes from If-Match and makes a stale write fail with 412. */
  async update(id: string, changes: UpdateHostRequest, expectedVersion: number | null, ctx: RpcContext): Promise<HostView> {
    try {
      return await this.dataSource.transaction(async (m) => {
        const [cur]: Array<{ v: HostJson }> = await m.query(`SELECT inventory.host_view(h) AS v FROM inventory.hosts h WHERE h.id = $1 FOR UPDATE`, [id]);
        if (!cur) throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host not found');
        const before = toHostView(cur.v);
        if (expectedVersion !== null && expectedVersion !== before.version)
          throw new AppError(InventoryErrors.PRECONDITION_FAILED, `Host was changed since you read it (version ${before.version}, If-Match ${expectedVersion})`, undefined, {
            current_version: before.version,
          });
        if (changes.access_template !== undefined && changes.access_template !== before.access_template) assertMaySetTemplate(ctx);
        const merged = { ...before, ...changes };
        const cross = hostCrossFieldErrors(merged);
        if (cross.length) throw new AppError(ErrorCodes.VALIDATION_FAILED, 'Request validation failed', cross);
        const changed = HOST_COLUMNS.filter((c) => JSON.stringify(merged[c]) !== JSON.stringify(before[c]));
        if (changed.length === 0) return before;
        const params: unknown[] = [id];
        const sets = changed.map((c) => {
          params.push(merged[c]);
          return `${c} = $${params.length}${c === 'ip' ? '::inet' : c === 'tags' ? '::text[]' : ''}`;
        });
        params.push(await now(m));
        const [row] = returnedRows<{ v: HostJson }>(
          await m.query(
            `UPDATE inventory.hosts AS h SET ${sets.join(', ')}, version = h.version + 1, updated_at = $${params.length}
             WHERE h.id = $1 RETURNING inventory.host_view(h) AS v`,
            params,
          ),
        );
        const after = toHostView(row.v);
        await writeRevision(m, { hostId: id, revision: after.version, action: 'updated', at: after.updated_at, actor: ctx.actor, requestId: ctx.request_id, source: 'api', before: cur.v, after: row.v });
        await this.outbox.add(
          m,
          domainEvent(EventTypes.HOST_UPDATED, ctx, { type: 'host', id }, { host_id: id, hostname: after.hostname, changed_fields: changed, before, after }),
        );
        return after;
      });
    } catch (err) {
      throw this.conflictOr(err, changes);
    }
  }

  async delete(id: string, expectedVersion: number | null, ctx: RpcContext): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const [cur]: Array<{ v: HostJson }> = await m.query(`SELECT inventory.host_view(h) AS v FROM inventory.hosts h WHERE h.id = $1 FOR UPDATE`, [id]);
      if (!cur) throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host not found');
      const before = toHostView(cur.v);
      if (expectedVersion !== null && expectedVersion !== before.version)
        throw new AppError(InventoryErrors.PRECONDITION_FAILED, `Host was changed since you read it (version ${before.version})`, undefined, { current_version: before.version });
      const at = await now(m);
      await m.query(`DELETE FROM inventory.hosts WHERE id = $1`, [id]);
      await writeRevision(m, { hostId: id, revision: before.version + 1, action: 'deleted', at, actor: ctx.actor, requestId: ctx.request_id, source: 'api', before: cur.v, after: null });
      await this.outbox.add(m, domainEvent(EventTypes.HOST_DELETED, ctx, { type: 'host', id }, { host_id: id, hostname: before.hostname, before }));
    });
  }

  /** From the facet counters kept by statement triggers: constant time at any inventory size. */
  async summary(): Promise<HostsSummary> {
    const rows: Array<{ facet: string; value: string; n: string }> = await this.dataSource.query(
      `SELECT facet, value, n FROM inventory.host_facets WHERE facet IN ('total','environment','criticality','os')`,
    );
    const zero = (keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<string, number>;
    const s: HostsSummary = { total: 0, by_environment: zero(HostEnvironments), by_criticality: zero(Criticalities), by_os: zero(OperatingSystems) };
    for (const r of rows) {
      const n = Number(r.n);
      if (r.facet === 'total') s.total = n;
      else if (r.facet === 'environment') s.by_environment[r.value] = n;
      else if (r.facet === 'criticality') s.by_criticality[r.value] = n;
      else if (r.facet === 'os') s.by_os[r.value] = n;
    }
    return s;
  }

  async tags(q: { q?: string; limit: number }): Promise<{ items: Array<{ tag: string; count: number }> }> {
    const params: unknown[] = [q.limit];
    let filter = '';
    if (q.q) {
      params.push(`${escapeLike(q.q.toLowerCase())}%`);
      filter = `AND value LIKE $2`;
    }
    const rows: Array<{ value: string; n: string }> = await this.dataSource.query(
      `SELECT value, n FROM inventory.host_facets WHERE facet = 'tag' AND n > 0 ${filter} ORDER BY n DESC, value LIMIT $1`,
      params,
    );
    return { items: rows.map((r) => ({ tag: r.value, count: Number(r.n) })) };
  }

  private conflictOr(err: unknown, req: { hostname?: string; ip?: string }): unknown {
    const field = conflictField(err);
    if (!field) return err;
    const value = field === 'hostname' ? req.hostname : req.ip;
    return new AppError(InventoryErrors.HOST_CONFLICT, `A host with this ${field} already exists`, [{ field, message: `'${value}' is already used by another host` }], {
      conflict_field: field,
    });
  }
}

/**
 * The write time, taken after the row lock (clock_timestamp, not the transaction start), truncated to ms:
 * successive revisions of one host are ordered by time, and what the API shows is exactly what as_of compares.
 */
export async function now(m: EntityManager): Promise<string> {
  const [r]: Array<{ t: string }> = await m.query(`SELECT inventory.iso(date_trunc('milliseconds', clock_timestamp())) AS t`);
  return r.t;
}
