import type { EntityManager } from 'typeorm';
import type { Actor } from '@opsdesk/contracts';
import type { HostJson } from '../hosts/host.row';

export type RevisionSource = 'api' | 'import' | 'seed';

export interface NewRevision {
  hostId: string;
  revision: number;
  action: 'created' | 'updated' | 'deleted';
  /** ISO time with ms: the host's updated_at for writes, the deletion time for deletes */
  at: string;
  actor: Actor | null;
  requestId: string | null;
  source: RevisionSource;
  before: HostJson | null;
  after: HostJson | null;
}

/** Appends one revision inside the caller's transaction (the table is append-only in the database). */
export async function writeRevision(m: EntityManager, r: NewRevision): Promise<void> {
  await m.query(
    `INSERT INTO inventory.host_revisions (host_id, revision, action, at, actor, request_id, source, before, after)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [r.hostId, r.revision, r.action, r.at, r.actor ? JSON.stringify(r.actor) : null, r.requestId, r.source, r.before ? JSON.stringify(r.before) : null, r.after ? JSON.stringify(r.after) : null],
  );
}
