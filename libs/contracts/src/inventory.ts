import { z } from 'zod';
import type { Actor } from './events';
import type { FieldError } from './errors';
import { accessTemplateProblem } from './access-template';
import { skipParam } from './pagination';

/**
 * Inventory contracts: RPC patterns (`inventory.<op>`, sent under the RPC prefix), request/response schemas
 * and payload types shared by services/inventory, the gateway and other services. No Nest or DB imports.
 */
export const InventoryRpc = {
  /** data {id} -> host view; INVENTORY.HOST_NOT_FOUND when unknown or deleted. Used by artifacts to check a host. */
  HOSTS_GET: 'inventory.hosts.get',
  /** data {id, as_of, include_deleted} -> host view as it was at as_of */
  HOSTS_GET_AS_OF: 'inventory.hosts.get_as_of',
  HOSTS_LIST: 'inventory.hosts.list',
  HOSTS_CREATE: 'inventory.hosts.create',
  HOSTS_UPDATE: 'inventory.hosts.update',
  HOSTS_DELETE: 'inventory.hosts.delete',
  HOSTS_SUMMARY: 'inventory.hosts.summary',
  HOSTS_HISTORY: 'inventory.hosts.history',
  TAGS_LIST: 'inventory.tags.list',
  ACCESS_ISSUE: 'inventory.access.issue',
  METRICS_REFRESH: 'inventory.metrics.refresh',
  METRICS_LATEST: 'inventory.metrics.latest',
  METRICS_LIST: 'inventory.metrics.list',
  SETTINGS_RUNTIME: 'inventory.settings.runtime',
  SETTINGS_GET: 'inventory.settings.get',
  SETTINGS_PUT: 'inventory.settings.put',
} as const;

export const InventoryErrors = {
  HOST_NOT_FOUND: 'INVENTORY.HOST_NOT_FOUND',
  /** hostname or ip already used (409); errors[0].field names the conflicting field */
  HOST_CONFLICT: 'INVENTORY.HOST_CONFLICT',
  /** If-Match does not match the current version (412) */
  PRECONDITION_FAILED: 'INVENTORY.PRECONDITION_FAILED',
  /** a reason is required to issue access to a prod or critical host (400, field reason) */
  ACCESS_REASON_REQUIRED: 'INVENTORY.ACCESS_REASON_REQUIRED',
  /** Prometheus not configured, unreachable or failing (503) */
  PROMETHEUS_UNAVAILABLE: 'INVENTORY.PROMETHEUS_UNAVAILABLE',
  /** no node_exporter series for the host, or no snapshot stored (404) */
  METRICS_NOT_FOUND: 'INVENTORY.METRICS_NOT_FOUND',
  /** CSV upload larger than IMPORT_MAX_BYTES or with more than IMPORT_MAX_ROWS rows (413) */
  IMPORT_TOO_LARGE: 'INVENTORY.IMPORT_TOO_LARGE',
  /** CSV unusable as a whole: missing required columns, unparsable (400) */
  IMPORT_INVALID: 'INVENTORY.IMPORT_INVALID',
  /** neither text/csv nor multipart/form-data (415) */
  IMPORT_UNSUPPORTED_MEDIA_TYPE: 'INVENTORY.IMPORT_UNSUPPORTED_MEDIA_TYPE',
  /** the access template cannot be rendered for this host: it uses a value the host or settings lack (409) */
  ACCESS_TEMPLATE_UNUSABLE: 'INVENTORY.ACCESS_TEMPLATE_UNUSABLE',
  /** a teleport host while no Teleport proxy is configured in the integration settings (409) */
  TELEPORT_NOT_CONFIGURED: 'INVENTORY.TELEPORT_NOT_CONFIGURED',
} as const;

// ---------------------------------------------------------------------------------------------------------
// Field rules. Plain functions (value -> message | null) so the API (zod), the CSV importer (hot loop, no
// zod per row) and the web console apply exactly the same rules.

export const OperatingSystems = ['linux', 'windows', 'macos'] as const;
export const HostEnvironments = ['prod', 'stage', 'dev'] as const;
export const Criticalities = ['critical', 'high', 'medium', 'low'] as const;
/** `teleport`: `tsh ssh` through the Teleport proxy/cluster of the integration settings (the original's enum) */
export const ConnectionMethods = ['direct_ssh', 'bastion_ssh', 'teleport'] as const;
export type OperatingSystem = (typeof OperatingSystems)[number];
export type HostEnvironment = (typeof HostEnvironments)[number];
export type Criticality = (typeof Criticalities)[number];
export type ConnectionMethod = (typeof ConnectionMethods)[number];

/** RFC 1123 label: letters, digits, hyphens; no leading/trailing hyphen; 1..63 characters. */
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME_RE = new RegExp(`^${LABEL}$`);
const FQDN_RE = new RegExp(`^(?=.{1,253}\\.?$)${LABEL}(?:\\.${LABEL})+\\.?$`);
const IPV4_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** Tags: lower case, start with a letter or digit, then letters, digits and - _ . : / = ; at most 64. */
const TAG_RE = /^[a-z0-9][a-z0-9_.:/=-]{0,63}$/;
/** POSIX-portable login names: nothing a shell would interpret. */
const SSH_USER_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/; // control characters (except tab, LF, CR) are what we reject
const SHELL_META_RE = /[\s;&|`$(){}<>\\'"*?![\]#~%^,]/;

export function isIPv4(v: string): boolean {
  return IPV4_RE.test(v);
}

/** Full IPv6 grammar (RFC 4291 text forms, including :: compression and an embedded IPv4 tail); no zone id. */
export function isIPv6(v: string): boolean {
  if (v.length < 2 || v.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(v)) return false;
  let head = v;
  const lastColon = v.lastIndexOf(':');
  if (v.includes('.')) {
    // an embedded IPv4 tail stands for two groups
    if (!isIPv4(v.slice(lastColon + 1))) return false;
    head = `${v.slice(0, lastColon + 1)}0:0`;
  }
  const parts = head.split('::');
  if (parts.length > 2) return false;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(parts[0]);
  const right = parts.length === 2 ? groups(parts[1]) : [];
  if ([...left, ...right].some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const n = left.length + right.length;
  return parts.length === 2 ? n <= 7 : n === 8;
}

export function isIp(v: string): boolean {
  return isIPv4(v) || isIPv6(v);
}

export const HostRules = {
  hostname(v: string): string | null {
    if (!v) return 'is required';
    if (v.length > 63) return 'must be at most 63 characters (RFC 1123 label)';
    return HOSTNAME_RE.test(v) ? null : 'must be an RFC 1123 host name: letters, digits and inner hyphens';
  },
  fqdn(v: string): string | null {
    return FQDN_RE.test(v) ? null : 'must be a fully qualified domain name (labels of letters, digits, hyphens)';
  },
  ip(v: string): string | null {
    if (!v) return 'is required';
    return isIp(v) ? null : 'must be an IPv4 or IPv6 address';
  },
  tag(v: string): string | null {
    return TAG_RE.test(v) ? null : `tag '${v.slice(0, 70)}' must be 1-64 lower-case letters, digits or - _ . : / = starting with a letter or digit`;
  },
  sshUser(v: string): string | null {
    if (SHELL_META_RE.test(v) || CONTROL_RE.test(v)) return 'must not contain shell metacharacters or spaces';
    return SSH_USER_RE.test(v) ? null : 'must be a login name: a letter or _, then letters, digits, . _ - (at most 32)';
  },
  /** bastion host: a host name, an FQDN or an IP address; nothing a shell would interpret */
  bastionHost(v: string): string | null {
    if (SHELL_META_RE.test(v) || CONTROL_RE.test(v)) return 'must not contain shell metacharacters or spaces';
    if (v.startsWith('-')) return 'must not start with a hyphen';
    return HOSTNAME_RE.test(v) || FQDN_RE.test(v) || isIp(v) ? null : 'must be a host name, an FQDN or an IP address';
  },
  port(v: number): string | null {
    return Number.isInteger(v) && v >= 1 && v <= 65535 ? null : 'must be an integer port 1-65535';
  },
  text(max: number) {
    return (v: string): string | null => {
      if (v.length > max) return `must be at most ${max} characters`;
      return CONTROL_RE.test(v) ? 'must not contain control characters' : null;
    };
  },
};

/** Splits a tags cell or string: separators are any of , ; | whitespace and braces ({a,b} is Postgres array text). */
export function splitTags(v: string): string[] {
  return v.split(/[\s,;|{}]+/).filter(Boolean);
}

/** Tags are stored lower case, unique and sorted: the same set always looks the same (exports round-trip). */
export function normalizeTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim().toLowerCase()).filter(Boolean))].sort();
}

const rule = (fn: (v: string) => string | null) => (v: string, ctx: z.RefinementCtx) => {
  const m = fn(v);
  if (m) ctx.addIssue({ code: z.ZodIssueCode.custom, message: m });
};
const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .superRefine(rule(HostRules.text(max)))
    .transform((v) => (v === '' ? null : v))
    .nullable();

const hostnameSchema = z.string().trim().superRefine(rule(HostRules.hostname));
const ipSchema = z.string().trim().superRefine(rule(HostRules.ip));
const fqdnSchema = z
  .string()
  .trim()
  .transform((v) => (v === '' ? null : v.toLowerCase()))
  .nullable()
  .superRefine((v, ctx) => (v === null ? undefined : rule(HostRules.fqdn)(v, ctx)));
const tagsSchema = z
  .array(z.string().trim().toLowerCase().superRefine(rule(HostRules.tag)))
  .max(50, 'at most 50 tags')
  .transform(normalizeTags);
const sshUserSchema = z
  .string()
  .superRefine(rule(HostRules.sshUser))
  .nullable();
const bastionHostSchema = z
  .string()
  .superRefine(rule(HostRules.bastionHost))
  .nullable();
/** A per-host access template (admin only); null: the global one for the host's connection method. */
const accessTemplateSchema = z
  .string()
  .trim()
  .superRefine((v, ctx) => (v === '' ? undefined : rule(accessTemplateProblem)(v, ctx)))
  .transform((v) => (v === '' ? null : v))
  .nullable();
const portSchema = z.number({ invalid_type_error: 'must be an integer port 1-65535' }).int('must be an integer port 1-65535').min(1, 'must be an integer port 1-65535').max(65535, 'must be an integer port 1-65535');

const hostFields = {
  hostname: hostnameSchema,
  fqdn: fqdnSchema,
  ip: ipSchema,
  os: z.enum(OperatingSystems, { errorMap: () => ({ message: `must be one of ${OperatingSystems.join(', ')}` }) }),
  environment: z.enum(HostEnvironments, { errorMap: () => ({ message: `must be one of ${HostEnvironments.join(', ')}` }) }),
  owner: optionalText(254),
  team: optionalText(100),
  criticality: z.enum(Criticalities, { errorMap: () => ({ message: `must be one of ${Criticalities.join(', ')}` }) }),
  tags: tagsSchema,
  notes: optionalText(4000),
  connection_method: z.enum(ConnectionMethods, { errorMap: () => ({ message: `must be one of ${ConnectionMethods.join(', ')}` }) }),
  ssh_user: sshUserSchema,
  ssh_port: portSchema,
  bastion_host: bastionHostSchema,
  bastion_port: portSchema,
  access_template: accessTemplateSchema,
};

/** Cross-field rule shared by create, update (after merging) and import. */
export function hostCrossFieldErrors(h: { connection_method: ConnectionMethod; bastion_host: string | null }): FieldError[] {
  if (h.connection_method === 'bastion_ssh' && !h.bastion_host) return [{ field: 'bastion_host', message: 'is required for connection_method bastion_ssh' }];
  return [];
}

export const createHostSchema = z
  .object({
    hostname: hostFields.hostname,
    fqdn: hostFields.fqdn.optional().default(null),
    ip: hostFields.ip,
    os: hostFields.os.default('linux'),
    environment: hostFields.environment,
    owner: hostFields.owner.optional().default(null),
    team: hostFields.team.optional().default(null),
    criticality: hostFields.criticality.default('medium'),
    tags: hostFields.tags.default([]),
    notes: hostFields.notes.optional().default(null),
    connection_method: hostFields.connection_method.default('direct_ssh'),
    ssh_user: hostFields.ssh_user.optional().default(null),
    ssh_port: hostFields.ssh_port.default(22),
    bastion_host: hostFields.bastion_host.optional().default(null),
    bastion_port: hostFields.bastion_port.default(22),
    access_template: hostFields.access_template.optional().default(null),
  })
  .strict()
  .superRefine((v, ctx) => {
    for (const e of hostCrossFieldErrors(v)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [e.field], message: e.message });
  });
export type CreateHostRequest = z.infer<typeof createHostSchema>;

export const updateHostSchema = z
  .object({
    hostname: hostFields.hostname,
    fqdn: hostFields.fqdn,
    ip: hostFields.ip,
    os: hostFields.os,
    environment: hostFields.environment,
    owner: hostFields.owner,
    team: hostFields.team,
    criticality: hostFields.criticality,
    tags: hostFields.tags,
    notes: hostFields.notes,
    connection_method: hostFields.connection_method,
    ssh_user: hostFields.ssh_user,
    ssh_port: hostFields.ssh_port,
    bastion_host: hostFields.bastion_host,
    bastion_port: hostFields.bastion_port,
    access_template: hostFields.access_template,
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'at least one field is required' });
export type UpdateHostRequest = z.infer<typeof updateHostSchema>;

/** The fields a host carries besides identity and bookkeeping, in export/CSV order. */
export const HOST_DATA_FIELDS = [
  'hostname',
  'fqdn',
  'ip',
  'os',
  'environment',
  'owner',
  'team',
  'criticality',
  'tags',
  'notes',
  'connection_method',
  'ssh_user',
  'ssh_port',
  'bastion_host',
  'bastion_port',
] as const;
export type HostDataField = (typeof HOST_DATA_FIELDS)[number];

export interface HostView {
  id: string;
  hostname: string;
  fqdn: string | null;
  ip: string;
  os: OperatingSystem;
  environment: HostEnvironment;
  owner: string | null;
  team: string | null;
  criticality: Criticality;
  tags: string[];
  notes: string | null;
  connection_method: ConnectionMethod;
  ssh_user: string | null;
  ssh_port: number;
  bastion_host: string | null;
  bastion_port: number;
  /** this host's access command template (null: the global template for its connection method) */
  access_template: string | null;
  created_at: string;
  updated_at: string;
  last_seen_at: string | null;
  version: number;
}

// ---------------------------------------------------------------------------------------------------------
// Lists

export const HostSorts = ['hostname', '-hostname', 'created_at', '-created_at', 'updated_at', '-updated_at'] as const;
export type HostSort = (typeof HostSorts)[number];

const repeatable = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]), z.array(item).max(20).optional());

/** Filters shared by the list and the CSV export. */
export const hostFiltersSchema = z.object({
  q: z.string().trim().max(200).optional(),
  environment: hostFields.environment.optional(),
  os: hostFields.os.optional(),
  criticality: hostFields.criticality.optional(),
  tag: repeatable(z.string().trim().toLowerCase().max(64)),
  owner: z.string().trim().max(254).optional(),
  team: z.string().trim().max(100).optional(),
});
export type HostFilters = z.infer<typeof hostFiltersSchema>;

export const listHostsSchema = hostFiltersSchema.extend({
  sort: z.enum(HostSorts, { errorMap: () => ({ message: `must be one of ${HostSorts.join(', ')}` }) }).default('hostname'),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(1000).optional(),
  skip: z.coerce.number().int().min(0).max(1_000_000).optional(),
});
export type ListHostsRequest = z.infer<typeof listHostsSchema>;

export const hostAsOfQuerySchema = z.object({
  as_of: z
    .string()
    .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2025-01-31T12:00:00Z' })
    .optional(),
});

export const historyQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(500).optional(),
  skip: skipParam,
});
export type HistoryQuery = z.infer<typeof historyQuerySchema>;

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

/**
 * Host fields stored and versioned like the data fields (API, history) but not part of the CSV import/export
 * format: the access template is admin-only, and CSV imports are an operator's job.
 */
export const HOST_EXTRA_FIELDS = ['access_template'] as const;

export interface HostRevisionView {
  revision: number;
  action: 'created' | 'updated' | 'deleted';
  at: string;
  actor: Actor | null;
  request_id: string | null;
  source: 'api' | 'import' | 'seed';
  changes: FieldChange[];
  before: HostView | null;
  after: HostView | null;
}

export interface HostsSummary {
  total: number;
  by_environment: Record<string, number>;
  by_criticality: Record<string, number>;
  by_os: Record<string, number>;
}

// ---------------------------------------------------------------------------------------------------------
// Import

export const ImportConflictPolicies = ['skip', 'update', 'fail'] as const;
export type ImportConflictPolicy = (typeof ImportConflictPolicies)[number];

const boolParam = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1');

export const importQuerySchema = z.object({
  dry_run: boolParam.default(false),
  atomic: boolParam.default(false),
  on_conflict: z.enum(ImportConflictPolicies, { errorMap: () => ({ message: `must be one of ${ImportConflictPolicies.join(', ')}` }) }).default('update'),
  /** full: every row; errors: only rows with errors or warnings (large imports) */
  report: z.enum(['full', 'errors']).default('full'),
});
export type ImportQuery = z.infer<typeof importQuerySchema>;

export type ImportRowStatus = 'created' | 'updated' | 'unchanged' | 'error';

export interface ImportRowReport {
  line: number;
  status: ImportRowStatus;
  hostname: string | null;
  id?: string;
  errors?: FieldError[];
  warnings?: FieldError[];
}

export interface ImportReport {
  dry_run: boolean;
  atomic: boolean;
  on_conflict: ImportConflictPolicy;
  committed: boolean;
  summary: { rows: number; created: number; updated: number; unchanged: number; error: number };
  columns: { mapped: Record<string, string>; ignored: string[] };
  rows: ImportRowReport[];
}

// ---------------------------------------------------------------------------------------------------------
// Access

export const accessCommandSchema = z
  .object({
    user: z.string().superRefine(rule(HostRules.sshUser)).optional(),
    reason: z.string().trim().max(500).optional(),
  })
  .strict();
export type AccessCommandRequest = z.infer<typeof accessCommandSchema>;

export interface AccessCommandView {
  host_id: string;
  hostname: string;
  user: string;
  connection_method: ConnectionMethod;
  command: string;
  argv: string[];
  /** which template rendered the command: the host's own, the settings', or the built-in default */
  template_source: 'host' | 'settings' | 'default';
  reason: string | null;
  issued_at: string;
}

// ---------------------------------------------------------------------------------------------------------
// Telemetry

export interface FilesystemMetrics {
  mountpoint: string;
  device: string;
  fstype: string;
  size_bytes: number;
  free_bytes: number;
}

export interface NetworkMetrics {
  device: string;
  rx_bytes_per_second: number;
  tx_bytes_per_second: number;
}

export interface MetricsSnapshotView {
  id: string;
  host_id: string;
  instance: string;
  collected_at: string;
  collected_by: Actor | null;
  expires_at: string;
  cpu: { count: number | null; usage_percent: number | null };
  load: { load1: number | null; load5: number | null; load15: number | null };
  memory: { total_bytes: number | null; available_bytes: number | null };
  filesystems: FilesystemMetrics[];
  network: NetworkMetrics[];
  uptime_seconds: number | null;
}

export const metricsListSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(500).optional(),
  skip: skipParam,
});

// ---------------------------------------------------------------------------------------------------------
// Settings

const globalTemplate = z.string().trim().min(1).superRefine(rule(accessTemplateProblem)).nullable();
/** a Teleport proxy (host, FQDN or IP, optional :port) or cluster name: nothing a shell would interpret */
function teleportAddress(v: string): string | null {
  if (SHELL_META_RE.test(v) || CONTROL_RE.test(v)) return 'must not contain shell metacharacters or spaces';
  if (v.startsWith('-')) return 'must not start with a hyphen';
  return /^[A-Za-z0-9][A-Za-z0-9.-]*(?::\d{1,5})?$/.test(v) ? null : 'must be a host name or FQDN, optionally with :port';
}

function teleportCluster(v: string): string | null {
  if (SHELL_META_RE.test(v) || CONTROL_RE.test(v)) return 'must not contain shell metacharacters or spaces';
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v) ? null : 'must be a cluster name: letters, digits, . _ - (starting with a letter or digit)';
}

const INSTANCE_TEMPLATE_RE = /^(?:[A-Za-z0-9_.:/\-[\]]|\{(?:ip|hostname|fqdn)\})+$/;

export const integrationSettingsSchema = z
  .object({
    prometheus_url: z
      .string()
      .trim()
      .url('must be an http(s) URL')
      .regex(/^https?:\/\//, 'must be an http(s) URL')
      .max(500)
      .nullable(),
    /** Prometheus `instance` label of a host's node_exporter; placeholders {ip}, {hostname}, {fqdn} */
    instance_template: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .regex(INSTANCE_TEMPLATE_RE, 'may contain letters, digits, . _ : / - [ ] and the placeholders {ip} {hostname} {fqdn}'),
    snapshot_ttl_seconds: z.number().int().min(60).max(365 * 24 * 3600),
    /** global access templates per connection method; null restores the built-in default */
    access_templates: z
      .object({ direct_ssh: globalTemplate, bastion_ssh: globalTemplate, teleport: globalTemplate })
      .partial()
      .strict(),
    /** Teleport proxy address (host or host:port) for `tsh ssh --proxy=`; null: teleport hosts cannot be reached */
    teleport_proxy: z.string().trim().max(253).superRefine(rule(teleportAddress)).nullable(),
    /** Teleport cluster name for `--cluster=`; null: the proxy's own cluster */
    teleport_cluster: z.string().trim().max(253).superRefine(rule(teleportCluster)).nullable(),
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'at least one setting is required' });
export type IntegrationSettingsUpdate = z.infer<typeof integrationSettingsSchema>;

export type AccessTemplates = Record<'direct_ssh' | 'bastion_ssh' | 'teleport', string | null>;

export interface IntegrationSettingsView {
  /** credentials in the URL are never shown */
  prometheus_url: string | null;
  prometheus_url_source: 'settings' | 'env' | null;
  instance_template: string;
  snapshot_ttl_seconds: number;
  /** the stored global templates (null: the built-in default, shown in default_access_templates) */
  access_templates: AccessTemplates;
  default_access_templates: { direct_ssh: string; bastion_ssh: string; teleport: string };
  teleport_proxy: string | null;
  teleport_cluster: string | null;
  updated_at: string | null;
  updated_by: string | null;
  version: number;
}

export interface RuntimeSettingsView {
  environment: string;
  version: string;
  limits: {
    page_limit_default: number;
    page_limit_max: number;
    import_max_bytes: number;
    import_max_rows: number;
  };
  prometheus: { configured: boolean; source: 'settings' | 'env' | null };
  metrics: { snapshot_ttl_seconds: number; instance_template: string };
  /** the original OpsDesk's flat fields (GET /api/settings/runtime compatibility) */
  max_artifact_size_mb?: number | null;
  max_artifact_size_bytes?: number | null;
  prometheus_configured?: boolean;
  teleport_configured?: boolean;
  /** where a trace opens, `{trace_id}` to be replaced (gateway TRACE_UI_URL); null when not configured */
  trace_ui_url?: string | null;
}
