import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
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
import { toHostView, type HostJson } from '../hosts/host.row';
import { diffHost } from './diff';

interface RevisionRow {
  id: string;
  revision: number;
  action: HostRevisionView['action'];
  at: string;
  actor: HostRevisionView['actor'];
  request_id: string | null;
  source: HostRevisionView['source'];
  before: HostJson | null;
  after: HostJson | null;
}

/**
 * Reads host history. Every create/update/delete stores a revision with full before/after snapshots (written
 * by the hosts and import services in the same transaction as the change); diffs are computed on read.
 * Hosts that no longer exist are visible only when `includeDeleted` (admin and auditor, decided by the gateway).
 */
@Injectable()
export class HistoryService {
  constructor(private readonly dataSource: DataSource) {}

  async list(hostId: string, q: HistoryQuery, includeDeleted: boolean): Promise<Page<HostRevisionView>> {
    await this.assertVisible(hostId, includeDeleted);
    const params: unknown[] = [hostId, q.limit + 1];
    let keyset = '';
    let offset = '';
    if (q.cursor) {
      const c = decodeCursor<{ id: string }>(q.cursor);
      if (!c || typeof c.id !== 'string' || !/^\d+$/.test(c.id))
        throw new AppError(ErrorCodes.VALIDATION_FAILED, 'Invalid cursor', [{ field: 'cursor', message: 'is not a cursor from this list' }]);
      params.push(c.id);
      keyset = `AND id < $3`;
    } else if (q.skip) {
      // offset for the original's clients (no cursor given; the gateway refuses both)
      params.push(q.skip);
      offset = ` OFFSET $3`;
    }
    // newest first; id order equals time order per host (revisions are written under the host row lock)
    const rows: RevisionRow[] = await this.dataSource.query(
      `SELECT id, revision, action, inventory.iso(at) AS at, actor, request_id, source, before, after
         FROM inventory.host_revisions WHERE host_id = $1 ${keyset} ORDER BY id DESC LIMIT $2${offset}`,
      params,
    );
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return { items: items.map(toRevisionView), next_cursor: rows.length > q.limit && last ? encodeCursor({ id: String(last.id) }) : null };
  }

  /** The host exactly as it was at `asOf` (the snapshot of the last revision at or before it). */
  async asOf(hostId: string, asOf: string, includeDeleted: boolean): Promise<HostView> {
    await this.assertVisible(hostId, includeDeleted);
    const [row]: Array<{ action: string; after: HostJson | null }> = await this.dataSource.query(
      `SELECT action, after FROM inventory.host_revisions WHERE host_id = $1 AND at <= $2::timestamptz ORDER BY at DESC, id DESC LIMIT 1`,
      [hostId, asOf],
    );
    if (!row || row.action === 'deleted' || !row.after) throw new AppError(InventoryErrors.HOST_NOT_FOUND, 'Host did not exist at that time');
    return toHostView(row.after);
  }

  private async assertVisible(hostId: string, includeDeleted: boolean): Promise<void> {
    const [live]: Array<{ ok: number }> = await this.dataSource.query(`SELECT 1 AS ok FROM inventory.hosts WHERE id = $1`, [hostId]);
    if (live) return;
    if (includeDeleted) {
      const [past]: Array<{ ok: number }> = await this.dataSource.query(`SELECT 1 AS ok FROM inventory.host_revisions WHERE host_id = $1 LIMIT 1`, [hostId]);
      if (past) return;
    }
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
