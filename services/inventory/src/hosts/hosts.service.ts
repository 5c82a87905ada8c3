import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
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
  type HostView,
  type HostsSummary,
  type ListHostsRequest,
  type Page,
  type RpcContext,
  type UpdateHostRequest,
  domainEvent,
} from '@opsdesk/contracts';
import type { RevisionSource } from '../history/revisions.repository';
import { HOST_COLUMNS, conflictField, toHostView } from './host.row';
import { HostsRepository, SORTS, type ListAfter, type SqlRunner } from './hosts.repository';

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
  constructor(private readonly repo: HostsRepository) {}

  /** `db`: a transaction to read in (the access service checks the host inside its own). */
  async get(id: string, db?: SqlRunner): Promise<HostView> {
    const v = await this.repo.findView(id, db);
    if (!v) throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host not found');
    return toHostView(v);
  }

  /**
   * Keyset pagination: the cursor holds the last row's sort key (and id), so pages never skip or repeat
   * existing hosts while others are inserted or deleted concurrently. `skip` (offset) is accepted for
   * compatibility when no cursor is given.
   */
  async list(q: ListHostsRequest): Promise<Page<HostView>> {
    const s = SORTS[q.sort];
    let after: ListAfter | null = null;
    if (q.cursor) {
      const c = decodeCursor<{ s: string; k: string; id?: string }>(q.cursor);
      if (!c || c.s !== q.sort || typeof c.k !== 'string' || (s.withId && typeof c.id !== 'string')) throw invalidCursor();
      if (s.withId && (!/^[0-9a-f-]{36}$/i.test(c.id as string) || Number.isNaN(Date.parse(c.k)))) throw invalidCursor();
      after = s.withId ? { k: c.k, id: c.id } : { k: c.k };
    }
    const rows = await this.repo.list(q, q.sort, after, q.limit + 1, q.skip ?? 0);
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return {
      items: items.map((r) => toHostView(r.v)),
      next_cursor: rows.length > q.limit && last ? encodeCursor(s.withId ? { s: q.sort, k: last.k, id: last.id } : { s: q.sort, k: last.k }) : null,
    };
  }

  /** One statement: the host, its first revision and the `host.created` event (see HostsRepository.insert). */
  async create(req: CreateHostRequest, ctx: RpcContext, source: RevisionSource = 'api'): Promise<HostView> {
    if ((req.access_template ?? null) !== null) assertMaySetTemplate(ctx);
    const id = randomUUID();
    // data.after is the stored view, filled in by the statement
    const event = domainEvent(EventTypes.HOST_CREATED, ctx, { type: 'host', id }, { host_id: id, hostname: req.hostname, after: null, source });
    try {
      return toHostView(await this.repo.insert(id, req, { actor: ctx.actor, requestId: ctx.request_id, source }, event));
    } catch (err) {
      throw this.conflictOr(err, req);
    }
  }

  /** PATCH semantics; `expectedVersion` comes from If-Match and makes a stale write fail with 412. */
  async update(id: string, changes: UpdateHostRequest, expectedVersion: number | null, ctx: RpcContext): Promise<HostView> {
    try {
      return await this.repo.transaction(async (tx) => {
        const cur = await this.repo.lockView(tx, id);
        if (!cur) throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host not found');
        const before = toHostView(cur);
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
        // data.after is the stored view, filled in by the statement
        const event = domainEvent(EventTypes.HOST_UPDATED, ctx, { type: 'host', id }, { host_id: id, hostname: merged.hostname, changed_fields: changed, before, after: null });
        const after = await this.repo.update(tx, id, Object.fromEntries(changed.map((c) => [c, merged[c]])), cur, { actor: ctx.actor, requestId: ctx.request_id, source: 'api' }, event);
        return toHostView(after);
      });
    } catch (err) {
      throw this.conflictOr(err, changes);
    }
  }

  /**
   * One statement when it succeeds (delete at the expected version + revision + event); when nothing was
   * deleted, a second read says why (gone, or another version).
   */
  async delete(id: string, expectedVersion: number | null, ctx: RpcContext): Promise<void> {
    // data.before and data.hostname come from the deleted row, filled in by the statement
    const event = domainEvent(EventTypes.HOST_DELETED, ctx, { type: 'host', id }, { host_id: id, hostname: null, before: null });
    const deleted = await this.repo.delete(id, expectedVersion, { actor: ctx.actor, requestId: ctx.request_id, source: 'api' }, event);
    if (deleted) return;
    const current = await this.repo.version(id);
    if (current === null) throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host not found');
    throw new AppError(InventoryErrors.PRECONDITION_FAILED, `Host was changed since you read it (version ${current})`, undefined, { current_version: current });
  }

  /** From the facet counters kept by statement triggers: constant time at any inventory size. */
  async summary(): Promise<HostsSummary> {
    const rows = await this.repo.facets(['total', 'environment', 'criticality', 'os']);
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
    const rows = await this.repo.tagCounts(q.q, q.limit);
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
