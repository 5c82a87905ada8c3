import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { EventTypes, type EventEnvelope } from '@opsdesk/contracts';
import { EventHandler } from '@opsdesk/messaging';
import { Artifact } from '../artifacts/artifact.entity';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { BlobCollector } from '../storage/blob-collector.service';

/**
 * Follows the host lifecycle: when inventory deletes a host, its artifacts go, exactly once (this runs in
 * the inbox transaction). The host is remembered as deleted so an upload racing with the deletion is
 * refused at commit. Released blobs are collected once this transaction commits.
 */
@Injectable()
export class HostCleanupService {
  constructor(
    private readonly artifacts: ArtifactsService,
    private readonly collector: BlobCollector,
  ) {}

  @EventHandler({ filter: EventTypes.HOST_DELETED, name: 'host-cleanup' })
  async onHostDeleted(event: EventEnvelope, manager: EntityManager): Promise<void> {
    const hostId = hostIdOf(event);
    if (!hostId) return; // nothing to clean for an event without a host id; the inbox records it as handled
    await manager.query(`INSERT INTO artifacts.deleted_hosts (host_id) VALUES ($1) ON CONFLICT DO NOTHING`, [hostId]);
    const rows = await manager.find(Artifact, { where: { hostId }, lock: { mode: 'pessimistic_write' }, order: { id: 'ASC' } });
    const released = await this.artifacts.removeRows(manager, rows, { actor: event.actor, request_id: event.request_id }, 'host_deleted', { host_event_id: event.id });
    // waits on the blob row locks this transaction holds, then sees the committed ref_count
    this.collector.collectSoon(released);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function hostIdOf(event: EventEnvelope): string | null {
  const data = event.data as { id?: unknown; host_id?: unknown; host?: { id?: unknown }; before?: { id?: unknown } };
  const candidates = [event.subject.entity_id, data.host_id, data.id, data.host?.id, data.before?.id];
  const id = candidates.find((c): c is string => typeof c === 'string' && UUID_RE.test(c));
  return id ?? null;
}
