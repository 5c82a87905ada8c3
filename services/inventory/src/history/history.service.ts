import { Injectable } from '@nestjs/common';
import {
  AppError,
  ErrorCodes,
  InventoryErrors,
  decodeCursor,
  encodeCursor,
  type HistoryQuery,
  type HostRevisionView,
  type HostView,
  type Page,
} from '@opsdesk/contracts';
import { toHostView } from '../hosts/host.row';
import { HostsRepository } from '../hosts/hosts.repository';
import { diffHost } from './diff';
import { RevisionsRepository, type RevisionRow } from './revisions.repository';

/**
 * Reads host history. Every create/update/delete stores a revision with full before/after snapshots (written
 * by the hosts and import services in the same transaction as the change); diffs are computed on read.
 * Hosts that no longer exist are visible only when `includeDeleted` (admin and auditor, decided by the gateway).
 */
@Injectable()
export class HistoryService {
  constructor(
    private readonly revisions: RevisionsRepository,
    private readonly hosts: HostsRepository,
  ) {}

  async list(hostId: string, q: HistoryQuery, includeDeleted: boolean): Promise<Page<HostRevisionView>> {
    await this.assertVisible(hostId, includeDeleted);
    let from: { beforeId?: string; skip?: number } = {};
    if (q.cursor) {
      const c = decodeCursor<{ id: string }>(q.cursor);
      if (!c || typeof c.id !== 'string' || !/^\d+$/.test(c.id))
        throw new AppError(ErrorCodes.VALIDATION_FAILED, 'Invalid cursor', [{ field: 'cursor', message: 'is not a cursor from this list' }]);
      from = { beforeId: c.id };
    } else if (q.skip) {
      from = { skip: q.skip }; // offset for the original's clients (no cursor given; the gateway refuses both)
    }
    const rows = await this.revisions.page(hostId, q.limit + 1, from);
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return { items: items.map(toRevisionView), next_cursor: rows.length > q.limit && last ? encodeCursor({ id: String(last.id) }) : null };
  }

  /** The host exactly as it was at `asOf` (the snapshot of the last revision at or before it). */
  async asOf(hostId: string, asOf: string, includeDeleted: boolean): Promise<HostView> {
    await this.assertVisible(hostId, includeDeleted);
    const row = await this.revisions.lastAtOrBefore(hostId, asOf);
    if (!row || row.action === 'deleted' || !row.after) throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host did not exist at that time');
    return toHostView(row.after);
  }

  private async assertVisible(hostId: string, includeDeleted: boolean): Promise<void> {
    if (await this.hosts.exists(hostId)) return;
    if (includeDeleted && (await this.revisions.anyFor(hostId))) return;
    throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host not found');
  }
}

function toRevisionView(r: RevisionRow): HostRevisionView {
  return {
    revision: r.revision,
    action: r.action,
    at: r.at,
    actor: r.actor,
    request_id: r.request_id,
    source: r.source,
    changes: diffHost(r.before, r.after),
    before: r.before ? toHostView(r.before) : null,
    after: r.after ? toHostView(r.after) : null,
  };
}
