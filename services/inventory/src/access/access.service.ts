import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  AccessTemplateError,
  AppError,
  DEFAULT_ACCESS_TEMPLATES,
  ErrorCodes,
  EventTypes,
  InventoryErrors,
  type AccessCommandRequest,
  type AccessCommandView,
  type HostView,
  type RpcContext, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { HostsService } from '../hosts/hosts.service';
import { SettingsService, type EffectiveIntegrations } from '../settings/settings.service';
import { MissingTemplateValueError, renderAccessTemplate, type TemplateValues } from './access-template';
import { jumpHost } from './ssh-command';

export const MIN_REASON_LENGTH = 3;

/** A reason is mandatory where access matters most: production or critical hosts. */
export function reasonRequired(host: { environment: string; criticality: string }): boolean {
  return host.environment === 'prod' || host.criticality === 'critical';
}

/** The template for a host: its own, else the admin's global one for its connection method, else the built-in one. */
export function chooseTemplate(host: HostView, s: EffectiveIntegrations): { template: string; source: AccessCommandView['template_source'] } {
  if (host.access_template) return { template: host.access_template, source: 'host' };
  const global = s.accessTemplates[host.connection_method];
  if (global) return { template: global, source: 'settings' };
  if (host.connection_method === 'teleport')
    return { template: s.teleportCluster ? DEFAULT_ACCESS_TEMPLATES.teleport_cluster : DEFAULT_ACCESS_TEMPLATES.teleport, source: 'default' };
  return { template: DEFAULT_ACCESS_TEMPLATES[host.connection_method], source: 'default' };
}

/** Placeholder values for a host: only the ones it has (a missing one makes a template that uses it unusable). */
export function templateValues(host: HostView, user: string, s: EffectiveIntegrations): TemplateValues {
  const v: TemplateValues = { user, host: host.ip, hostname: host.hostname, port: String(host.ssh_port) };
  if (host.bastion_host) {
    v.bastion = host.bastion_host;
    v.bastion_port = String(host.bastion_port);
    v.jump = `${user}@${jumpHost(host.bastion_host)}:${host.bastion_port}`;
  }
  if (s.teleportProxy) v.proxy = s.teleportProxy;
  if (s.teleportCluster) v.cluster = s.teleportCluster;
  return v;
}

/**
 * Governed access: renders the access command for a host (ssh, or tsh for Teleport, from the host's, the global
 * or the built-in template) and records who asked for it and why. The command is only text (OpsDesk never
 * connects to hosts); the event is written in a transaction through the outbox, so every issued command reaches
 * the audit trail exactly once.
 */
@Injectable()
export class AccessService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly hosts: HostsService,
    private readonly outbox: OutboxWriter,
    private readonly settings: SettingsService,
  ) {}

  async issue(hostId: string, req: AccessCommandRequest, ctx: RpcContext): Promise<AccessCommandView> {
    const settings = await this.settings.effective();
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
      const { template, source } = chooseTemplate(host, settings);
      const { argv, command } = render(host, template, templateValues(host, user, settings));
      const issuedAt = new Date().toISOString();
      await this.outbox.add(
        m,
        domainEvent(EventTypes.HOST_ACCESS_ISSUED, ctx, { type: 'host', id: host.id }, {
          host_id: host.id,
          hostname: host.hostname,
          ip: host.ip,
          environment: host.environment,
          criticality: host.criticality,
          connection_method: host.connection_method,
          user,
          reason,
          command,
          template_source: source,
          ...(host.connection_method === 'teleport' ? { teleport_proxy: settings.teleportProxy, teleport_cluster: settings.teleportCluster } : {}),
        }),
      );
      return { host_id: host.id, hostname: host.hostname, user, connection_method: host.connection_method, command, argv, template_source: source, reason, issued_at: issuedAt };
    });
  }
}

/** Renders, turning template problems into errors that say what to fix (the host or the settings). */
function render(host: HostView, template: string, values: TemplateValues): { argv: string[]; command: string } {
  try {
    return renderAccessTemplate(template, values);
  } catch (err) {
    if (err instanceof MissingTemplateValueError) {
      if (err.placeholder === 'proxy' || err.placeholder === 'cluster')
        throw new AppError(InventoryErrors.TELEPORT_NOT_CONFIGURED, `No Teleport ${err.placeholder} is configured: an admin sets teleport_${err.placeholder} in PUT /api/settings/integrations`, [
          { field: `teleport_${err.placeholder}`, message: 'is not configured' },
        ]);
      throw new AppError(InventoryErrors.ACCESS_TEMPLATE_UNUSABLE, `The access template cannot be used for host ${host.hostname}: ${err.message}`, [
        { field: 'access_template', message: err.message },
      ]);
    }
    if (err instanceof AccessTemplateError)
      throw new AppError(InventoryErrors.ACCESS_TEMPLATE_UNUSABLE, `The access template cannot be used for host ${host.hostname}: ${err.message}`, [
        { field: 'access_template', message: err.message },
      ]);
    throw err;
  }
}
