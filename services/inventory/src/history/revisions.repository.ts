import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Actor, HostRevisionView } from '@opsdesk/contracts';
import type { HostJson } from '../hosts/host.row';

export type RevisionSource = 'api' | 'import' | 'seed';

export interface RevisionRow {
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

/** Who made a change and through what: recorded with every revision. */
export interface RevisionMeta {
  actor: Actor | null;
  requestId: string | null;
  source: RevisionSource;
}

/**
 * `INSERT INTO host_revisions … SELECT … FROM <source>` for use as a CTE of the statement that changes the host,
 * so the revision is written by that same statement. `cols` are SQL expressions over `source`; `params` gets
 * the meta values appended. host_revisions is append-only (a trigger refuses UPDATE/DELETE).
 */
export function revisionInsertSql(
  params: unknown[],
  meta: RevisionMeta,
  source: string,
  cols: { hostId: string; revision: string; action: 'created' | 'updated' | 'deleted'; at: string; before: string; after: string },
): string {
  params.push(meta.actor ? JSON.stringify(meta.actor) : null, meta.requestId, meta.source);
  const n = params.length;
  return `INSERT INTO inventory.host_revisions (host_id, revision, action, at, actor, request_id, source, before, after)
          SELECT ${cols.hostId}, ${cols.revision}, '${cols.action}', ${cols.at}, $${n - 2}::jsonb, $${n - 1}, $${n}, ${cols.before}, ${cols.after} FROM ${source}`;
}

/** The SQL of host history (reads; writes are CTEs of the host statements, see revisionInsertSql). */
@Injectable()
export class RevisionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Newest first; id order equals time order per host (revisions are written under the host row lock). */
  async page(hostId: string, limit: number, from: { beforeId?: string; skip?: number }): Promise<RevisionRow[]> {
    const params: unknown[] = [hostId, limit];
    let keyset = '';
    let offset = '';
    if (from.beforeId !== undefined) {
      params.push(from.beforeId);
      keyset = `AND id < $3`;
    } else if (from.skip) {
      params.push(from.skip);
      offset = ` OFFSET $3`;
    }
    return this.dataSource.query(
      `SELECT id, revision, action, inventory.iso(at) AS at, actor, request_id, source, before, after
         FROM inventory.host_revisions WHERE host_id = $1 ${keyset} ORDER BY id DESC LIMIT $2${offset}`,
      params,
    );
  }

  /** The last revision at or before `at`. */
  async lastAtOrBefore(hostId: string, at: string): Promise<{ action: string; after: HostJson | null } | null> {
    const [row]: Array<{ action: string; after: HostJson | null }> = await this.dataSource.query(
      `SELECT action, after FROM inventory.host_revisions WHERE host_id = $1 AND at <= $2::timestamptz ORDER BY at DESC, id DESC LIMIT 1`,
      [hostId, at],
    );
    return row ?? null;
  }

  /** Did this host ever exist (it has revisions even after deletion)? */
  async anyFor(hostId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM inventory.host_revisions WHERE host_id = $1 LIMIT 1`, [hostId]);
    return rows.length > 0;
  }
}
