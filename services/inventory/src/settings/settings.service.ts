import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  DEFAULT_ACCESS_TEMPLATES,
  DEFAULT_PAGE_LIMIT,
  EventTypes,
  MAX_PAGE_LIMIT,
  type AccessTemplates,
  type IntegrationSettingsUpdate,
  type IntegrationSettingsView,
  type RpcContext,
  type RuntimeSettingsView, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { returnedRows } from '../hosts/host.row';
import { INVENTORY_CONFIG, type InventoryConfig } from '../config/inventory.config';

const KEY = 'integrations';

interface StoredIntegrations {
  prometheus_url?: string | null;
  instance_template?: string;
  snapshot_ttl_seconds?: number;
  access_templates?: Partial<AccessTemplates>;
  teleport_proxy?: string | null;
  teleport_cluster?: string | null;
}

export interface EffectiveIntegrations {
  prometheusUrl: string | null;
  prometheusSource: 'settings' | 'env' | null;
  instanceTemplate: string;
  snapshotTtlSeconds: number;
  /** the admin's global templates per connection method (null: the built-in default) */
  accessTemplates: AccessTemplates;
  teleportProxy: string | null;
  teleportCluster: string | null;
}

/** Credentials in a URL (http://user:pass@prom) are never shown or put on events. */
export function redactUrl(url: string | null): string | null {
  if (!url) return url;
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.toString();
  } catch {
    return null;
  }
}

/**
 * Integration settings (Prometheus URL, instance label template, snapshot TTL) set by admins at run time;
 * each falls back to its environment default when unset. A stored `prometheus_url: null` explicitly means
 * "use PROMETHEUS_URL".
 */
@Injectable()
export class SettingsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    @Inject(INVENTORY_CONFIG) private readonly config: InventoryConfig,
  ) {}

  async effective(): Promise<EffectiveIntegrations> {
    return this.resolve((await this.load()).value);
  }

  async get(): Promise<IntegrationSettingsView> {
    return this.view(await this.load());
  }

  async put(update: IntegrationSettingsUpdate, ctx: RpcContext): Promise<IntegrationSettingsView> {
    return this.dataSource.transaction(async (m) => {
      // serialise concurrent updates on the row (created on first use)
      await m.query(`INSERT INTO inventory.settings (key, value, version) VALUES ($1, '{}'::jsonb, 0) ON CONFLICT (key) DO NOTHING`, [KEY]);
      const [row]: Array<{ value: StoredIntegrations; version: number }> = await m.query(
        `SELECT value, version FROM inventory.settings WHERE key = $1 FOR UPDATE`,
        [KEY],
      );
      const before = this.view({ value: row.value, version: row.version, updated_at: null, updated_by: null });
      // templates merge per connection method: setting one leaves the others as they were
      const value: StoredIntegrations = {
        ...row.value,
        ...update,
        ...(update.access_templates ? { access_templates: { ...row.value.access_templates, ...update.access_templates } } : {}),
      };
      const [saved] = returnedRows<{ version: number; updated_at: string; updated_by: { email: string | null } | null }>(await m.query(
        `UPDATE inventory.settings SET value = $2, version = version + 1, updated_at = date_trunc('milliseconds', clock_timestamp()), updated_by = $3
          WHERE key = $1 RETURNING version, inventory.iso(updated_at) AS updated_at, updated_by`,
        [KEY, JSON.stringify(value), ctx.actor ? JSON.stringify(ctx.actor) : null],
      ));
      const after = this.view({ value, ...saved });
      await this.outbox.add(
        m,
        domainEvent(EventTypes.SETTINGS_UPDATED, ctx, { type: 'settings', id: KEY }, { key: KEY, changed: Object.keys(update), before: strip(before), after: strip(after) }),
      );
      return after;
    });
  }

  async runtime(): Promise<RuntimeSettingsView> {
    const e = await this.effective();
    return {
      environment: this.config.ENVIRONMENT,
      version: this.config.APP_VERSION,
      limits: {
        page_limit_default: DEFAULT_PAGE_LIMIT,
        page_limit_max: MAX_PAGE_LIMIT,
        import_max_bytes: this.config.IMPORT_MAX_BYTES,
        import_max_rows: this.config.IMPORT_MAX_ROWS,
      },
      prometheus: { configured: e.prometheusUrl !== null, source: e.prometheusSource },
      metrics: { snapshot_ttl_seconds: e.snapshotTtlSeconds, instance_template: e.instanceTemplate },
      prometheus_configured: e.prometheusUrl !== null,
      teleport_configured: e.teleportProxy !== null,
    };
  }

  private async load(): Promise<{ value: StoredIntegrations; version: number; updated_at: string | null; updated_by: { email: string | null } | null }> {
    const [row] = (await this.dataSource.query(
      `SELECT value, version, inventory.iso(updated_at) AS updated_at, updated_by FROM inventory.settings WHERE key = $1`,
      [KEY],
    )) as Array<{ value: StoredIntegrations; version: number; updated_at: string; updated_by: { email: string | null } | null }>;
    return row ?? { value: {}, version: 0, updated_at: null, updated_by: null };
  }

  private resolve(v: StoredIntegrations): EffectiveIntegrations {
    const fromSettings = v.prometheus_url ?? null;
    const fromEnv = this.config.PROMETHEUS_URL ?? null;
    return {
      prometheusUrl: fromSettings ?? fromEnv,
      prometheusSource: fromSettings ? 'settings' : fromEnv ? 'env' : null,
      instanceTemplate: v.instance_template ?? this.config.METRICS_INSTANCE_TEMPLATE,
      snapshotTtlSeconds: v.snapshot_ttl_seconds ?? this.config.METRICS_SNAPSHOT_TTL_SECONDS,
      accessTemplates: {
        direct_ssh: v.access_templates?.direct_ssh ?? null,
        bastion_ssh: v.access_templates?.bastion_ssh ?? null,
        teleport: v.access_templates?.teleport ?? null,
      },
      teleportProxy: v.teleport_proxy ?? null,
      teleportCluster: v.teleport_cluster ?? null,
    };
  }

  private view(row: { value: StoredIntegrations; version: number; updated_at: string | null; updated_by: { email: string | null } | null }): IntegrationSettingsView {
    const e = this.resolve(row.value);
    return {
      prometheus_url: redactUrl(e.prometheusUrl),
      prometheus_url_source: e.prometheusSource,
      instance_template: e.instanceTemplate,
      snapshot_ttl_seconds: e.snapshotTtlSeconds,
      access_templates: e.accessTemplates,
      default_access_templates: {
        direct_ssh: DEFAULT_ACCESS_TEMPLATES.direct_ssh,
        bastion_ssh: DEFAULT_ACCESS_TEMPLATES.bastion_ssh,
        teleport: e.teleportCluster ? DEFAULT_ACCESS_TEMPLATES.teleport_cluster : DEFAULT_ACCESS_TEMPLATES.teleport,
      },
      teleport_proxy: e.teleportProxy,
      teleport_cluster: e.teleportCluster,
      updated_at: row.updated_at,
      updated_by: row.updated_by?.email ?? null,
      version: row.version,
    };
  }
}

function strip(v: IntegrationSettingsView): Record<string, unknown> {
  return {
    prometheus_url: v.prometheus_url,
    prometheus_url_source: v.prometheus_url_source,
    instance_template: v.instance_template,
    snapshot_ttl_seconds: v.snapshot_ttl_seconds,
    access_templates: v.access_templates,
    teleport_proxy: v.teleport_proxy,
    teleport_cluster: v.teleport_cluster,
  };
}
