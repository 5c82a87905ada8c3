import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, ErrorCodes, EventTypes, InventoryErrors, type AccessCommandRequest, type AccessCommandView, type RpcContext } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { inventoryEvent } from '../common/rpc-request';
import { HostsService } from '../hosts/hosts.service';
import { renderSshCommand } from './ssh-command';

export const MIN_REASON_LENGTH = 3;

/** A reason is mandatory where access matters most: production or critical hosts. */
export function reasonRequired(host: { environment: string; criticality: string }): boolean {
  return host.environment === 'prod' || host.criticality === 'critical';
}

/**
 * Governed access: renders the SSH command for a host and records who asked for it and why. The command is
 * only text (OpsDesk never connects to hosts); the event is written in a transaction through the outbox,
 * so every issued command reaches the audit trail exactly once.
 */
@Injectable()
export class AccessService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly hosts: HostsService,
    private readonly outbox: OutboxWriter,
  ) {}

  async issue(hostId: string, req: AccessCommandRequest, ctx: RpcContext): Promise<AccessCommandView> {
    return this.dataSource.transaction(async (m) => {
      const host = await this.hosts.get(hostId, m);
      const reason = req.reason?.trim() || null;
      if (reasonRequired(host) && (!reason || reason.length < MIN_REASON_LENGTH))
        throw new AppError(InventoryErrors.ACCESS_REASON_REQUIRED, 'A reason is required to access a prod or critical host', [
          { field: 'reason', message: `is required for prod or critical hosts (at least ${MIN_REASON_LENGTH} characters)` },
        ]);
      const user = req.user ?? host.ssh_user;
      if (!user)
        throw new AppError(ErrorCodes.VALIDATION_FAILED, 'No SSH user: give one or set ssh_user on the host', [{ field: 'user', message: 'is required (the host has no ssh_user)' }]);
      const { argv, command } = renderSshCommand(host, user);
      const issuedAt = new Date().toISOString();
      await this.outbox.add(
        m,
        inventoryEvent(EventTypes.HOST_ACCESS_ISSUED, ctx, { type: 'host', id: host.id }, {
          host_id: host.id,
          hostname: host.hostname,
          ip: host.ip,
          environment: host.environment,
          criticality: host.criticality,
          connection_method: host.connection_method,
          user,
          reason,
          command,
        }),
      );
      return { host_id: host.id, hostname: host.hostname, user, connection_method: host.connection_method, command, argv, reason, issued_at: issuedAt };
    });
  }
}
