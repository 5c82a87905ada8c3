import { z } from 'zod';
import { actorSchema } from './events';
import { ArtifactKinds, type ArtifactView, type VerifyResult } from './artifacts';
import type { AuditPublicKeys, AuditRecordView, AuditVerifyResult } from './audit';
import type { ApiTokenView, MeView, TokenPair, UserView } from './auth';
import {
  ConnectionMethods,
  Criticalities,
  HostEnvironments,
  ImportConflictPolicies,
  OperatingSystems,
  type AccessCommandView,
  type HostRevisionView,
  type HostView,
  type HostsSummary,
  type ImportReport,
  type IntegrationSettingsView,
  type MetricsSnapshotView,
  type RuntimeSettingsView,
} from './inventory';
import type { JwkSet } from './jwks';
import { ApiTokenScopes, Permissions, Roles } from './roles';

/**
 * Response schemas of the public HTTP API (zod, like the request schemas): the gateway's OpenAPI document is
 * generated from them (docs/openapi.json) and the contract tests validate real responses against it. Each one
 * is checked at compile time against the TypeScript view type the services return (bottom of this file), so
 * a view that changes without its schema does not compile. No Nest or DB imports.
 */

const time = z.string().datetime({ offset: true });
const nullableTime = time.nullable();

export const fieldErrorSchema = z.object({ field: z.string(), message: z.string() });

/** RFC 9457 problem document with OpsDesk's extensions; further members (retry_after, …) may appear. */
export const problemSchema = z
  .object({
    type: z.string().describe('URI naming the problem kind: https://opsdesk.dev/problems/<code>'),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    code: z.string().describe('stable machine-readable code, e.g. INVENTORY.HOST_NOT_FOUND'),
    request_id: z.string(),
    instance: z.string().optional(),
    errors: z.array(fieldErrorSchema).optional().describe('field errors (400)'),
    retry_after: z.number().int().optional().describe('seconds, as in the Retry-After header (429, 503)'),
  })
  .passthrough();

export const actorViewSchema = actorSchema;

/** `{items, next_cursor}`: keyset pages; next_cursor is null on the last page. */
export function pageSchema<T extends z.ZodTypeAny>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

// ---------------------------------------------------------------------------------------------------------
// Inventory

export const hostViewSchema = z.object({
  id: z.string().uuid(),
  hostname: z.string(),
  fqdn: z.string().nullable(),
  ip: z.string(),
  os: z.enum(OperatingSystems),
  environment: z.enum(HostEnvironments),
  owner: z.string().nullable(),
  team: z.string().nullable(),
  criticality: z.enum(Criticalities),
  tags: z.array(z.string()),
  notes: z.string().nullable(),
  connection_method: z.enum(ConnectionMethods),
  ssh_user: z.string().nullable(),
  ssh_port: z.number().int(),
  bastion_host: z.string().nullable(),
  bastion_port: z.number().int(),
  access_template: z.string().nullable().describe("this host's access command template (admin); null: the global one for its connection method"),
  created_at: time,
  updated_at: time,
  last_seen_at: nullableTime,
  version: z.number().int().describe('increases with every change; the ETag is "<version>"'),
});

export const fieldChangeSchema = z.object({ field: z.string(), before: z.unknown(), after: z.unknown() });

export const hostRevisionViewSchema = z.object({
  revision: z.number().int(),
  action: z.enum(['created', 'updated', 'deleted']),
  at: time,
  actor: actorViewSchema.nullable(),
  request_id: z.string().nullable(),
  source: z.enum(['api', 'import', 'seed']),
  changes: z.array(fieldChangeSchema),
  before: hostViewSchema.nullable(),
  after: hostViewSchema.nullable(),
});

const counts = z.record(z.string(), z.number().int());
export const hostsSummarySchema = z.object({ total: z.number().int(), by_environment: counts, by_criticality: counts, by_os: counts });

/** GET /api/tags query. */
export const tagsQuerySchema = z.object({ q: z.string().trim().max(64).optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) });
export type TagsQuery = z.infer<typeof tagsQuerySchema>;

export const tagCountsSchema = z.object({ items: z.array(z.object({ tag: z.string(), count: z.number().int() })) });

const importRowReportSchema = z.object({
  line: z.number().int(),
  status: z.enum(['created', 'updated', 'unchanged', 'error']),
  hostname: z.string().nullable(),
  id: z.string().uuid().optional(),
  errors: z.array(fieldErrorSchema).optional(),
  warnings: z.array(fieldErrorSchema).optional(),
});

export const importReportSchema = z.object({
  dry_run: z.boolean(),
  atomic: z.boolean(),
  on_conflict: z.enum(ImportConflictPolicies),
  committed: z.boolean(),
  summary: z.object({ rows: z.number().int(), created: z.number().int(), updated: z.number().int(), unchanged: z.number().int(), error: z.number().int() }),
  columns: z.object({ mapped: z.record(z.string(), z.string()), ignored: z.array(z.string()) }),
  rows: z.array(importRowReportSchema),
});

export const accessCommandViewSchema = z.object({
  host_id: z.string().uuid(),
  hostname: z.string(),
  user: z.string(),
  connection_method: z.enum(ConnectionMethods),
  command: z.string(),
  argv: z.array(z.string()),
  reason: z.string().nullable(),
  issued_at: time,
  template_source: z.enum(['host', 'settings', 'default']).describe("which template rendered the command: the host's own, the settings', or the built-in default"),
});

const nullableNumber = z.number().nullable();
export const metricsSnapshotViewSchema = z.object({
  id: z.string().uuid(),
  host_id: z.string().uuid(),
  instance: z.string(),
  collected_at: time,
  collected_by: actorViewSchema.nullable(),
  expires_at: time,
  cpu: z.object({ count: nullableNumber, usage_percent: nullableNumber }),
  load: z.object({ load1: nullableNumber, load5: nullableNumber, load15: nullableNumber }),
  memory: z.object({ total_bytes: nullableNumber, available_bytes: nullableNumber }),
  filesystems: z.array(z.object({ mountpoint: z.string(), device: z.string(), fstype: z.string(), size_bytes: z.number(), free_bytes: z.number() })),
  network: z.array(z.object({ device: z.string(), rx_bytes_per_second: z.number(), tx_bytes_per_second: z.number() })),
  uptime_seconds: nullableNumber,
});

const settingsSource = z.enum(['settings', 'env']).nullable();
const accessTemplatesSchema = z.object({ direct_ssh: z.string().nullable(), bastion_ssh: z.string().nullable(), teleport: z.string().nullable() });

export const integrationSettingsViewSchema = z.object({
  prometheus_url: z.string().nullable().describe('credentials in the URL are never shown'),
  prometheus_url_source: settingsSource,
  instance_template: z.string(),
  snapshot_ttl_seconds: z.number().int(),
  access_templates: accessTemplatesSchema.describe('the stored global templates per connection method (null: the built-in default)'),
  default_access_templates: z.object({ direct_ssh: z.string(), bastion_ssh: z.string(), teleport: z.string() }),
  teleport_proxy: z.string().nullable(),
  teleport_cluster: z.string().nullable(),
  updated_at: nullableTime,
  updated_by: z.string().nullable(),
  version: z.number().int(),
});

export const runtimeSettingsViewSchema = z.object({
  environment: z.string(),
  version: z.string(),
  limits: z.object({
    page_limit_default: z.number().int(),
    page_limit_max: z.number().int(),
    import_max_bytes: z.number().int(),
    import_max_rows: z.number().int(),
  }),
  prometheus: z.object({ configured: z.boolean(), source: settingsSource }),
  metrics: z.object({ snapshot_ttl_seconds: z.number().int(), instance_template: z.string() }),
  max_artifact_size_mb: z.number().nullable().optional().describe("the original OpsDesk's flat fields; null when the artifacts service did not answer"),
  max_artifact_size_bytes: z.number().int().nullable().optional(),
  prometheus_configured: z.boolean().optional(),
  teleport_configured: z.boolean().optional(),
  trace_ui_url: z.string().nullable().optional().describe('where a trace opens (Jaeger, Tempo): replace {trace_id}; null when TRACE_UI_URL is not set'),
});

// ---------------------------------------------------------------------------------------------------------
// Artifacts

export const artifactViewSchema = z.object({
  id: z.string().uuid(),
  host_id: z.string().uuid(),
  original_name: z.string().describe("the client's file name, for display only"),
  filename: z.string().describe('the safe name used for downloads (Content-Disposition)'),
  kind: z.enum(ArtifactKinds),
  description: z.string().nullable(),
  size: z.number().int(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  content_type: z.string().describe("detected from the content's magic bytes"),
  uploaded_by: z.string().uuid(),
  uploaded_by_email: z.string().nullable(),
  uploaded_at: time,
  last_verified_at: nullableTime,
  last_verify_ok: z.boolean().nullable().describe('null: never verified; false: the stored file did not match sha256'),
});

export const artifactVerifyResultSchema = z.object({
  artifact_id: z.string().uuid(),
  ok: z.boolean(),
  expected_sha256: z.string(),
  actual_sha256: z.string().nullable(),
  expected_size: z.number().int(),
  actual_size: z.number().int().nullable(),
  verified_at: time,
});

// ---------------------------------------------------------------------------------------------------------
// Audit

export const auditRecordViewSchema = z.object({
  seq: z.number().int(),
  event_id: z.string().uuid(),
  type: z.string(),
  source: z.string(),
  occurred_at: time,
  recorded_at: time,
  actor: actorViewSchema.nullable(),
  entity_type: z.string(),
  entity_id: z.string().nullable(),
  request_id: z.string().nullable(),
  trace_id: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
});

export const auditVerifyResultSchema = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  head_seq: z.number().int(),
  head_hash: z.string(),
  first_bad_seq: z.number().int().optional(),
  checkpoints_ok: z.boolean(),
  checkpoints_checked: z.number().int(),
  checkpoints_trusted: z.number().int(),
  checkpoints_legacy: z.number().int(),
  attested_seq: z.number().int(),
  problems: z.array(z.string()),
});

export const auditPublicKeysSchema = z.object({
  keys: z.array(
    z.object({
      key_id: z.string(),
      alg: z.literal('ed25519'),
      public_key: z.string().describe('base64 of the SPKI DER encoding'),
      public_key_pem: z.string(),
      current: z.boolean(),
    }),
  ),
});

// ---------------------------------------------------------------------------------------------------------
// Auth and users

export const userViewSchema = z.object({
  id: z.string().uuid(),
  email: z.string(),
  role: z.enum(Roles),
  is_active: z.boolean(),
  mfa_enabled: z.boolean(),
  created_at: time,
  updated_at: time,
  last_login_at: nullableTime,
});

const permissionValues = Object.values(Permissions) as [(typeof Permissions)[keyof typeof Permissions], ...Array<(typeof Permissions)[keyof typeof Permissions]>];
export const meViewSchema = userViewSchema.extend({
  permissions: z.array(z.enum(permissionValues)).describe("the permissions of the user's role: clients render from these (the server enforces them)"),
});

export const tokenPairSchema = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int().describe('seconds until the access token expires'),
});

export const apiTokenViewSchema = z.object({
  id: z.string().uuid(),
  name: z.string(),
  prefix: z.string(),
  scope: z.enum(ApiTokenScopes).describe("read, write or admin (at most the owner's role); the token acts with scope AND the owner's current role"),
  created_at: time,
  expires_at: time,
  last_used_at: nullableTime,
  revoked_at: nullableTime,
});

export const createdApiTokenSchema = apiTokenViewSchema.extend({ token: z.string().describe('odp_…; shown only in this response') });
export const apiTokenListSchema = z.object({ items: z.array(apiTokenViewSchema) });
export const mfaSetupSchema = z.object({ secret: z.string(), otpauth_url: z.string() });
export const recoveryCodesSchema = z.object({ recovery_codes: z.array(z.string()) });

export const jwkSetSchema = z.object({
  keys: z.array(z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string(), alg: z.literal('EdDSA'), use: z.literal('sig') })),
});

// ---------------------------------------------------------------------------------------------------------
// Health (outside /api)

export const healthSchema = z.object({ status: z.literal('ok') });
export const readinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.enum(['ok', 'fail'])),
  reasons: z.record(z.string(), z.string()).optional(),
});

/**
 * The named component schemas of the OpenAPI document. A schema used by identity inside another (a Host
 * inside a HostRevision) becomes a `$ref` to its component.
 */
export const ApiComponentSchemas = {
  Problem: problemSchema,
  FieldError: fieldErrorSchema,
  Actor: actorViewSchema,
  Host: hostViewSchema,
  HostPage: pageSchema(hostViewSchema),
  HostRevision: hostRevisionViewSchema,
  HostRevisionPage: pageSchema(hostRevisionViewSchema),
  HostsSummary: hostsSummarySchema,
  TagCounts: tagCountsSchema,
  ImportReport: importReportSchema,
  AccessCommand: accessCommandViewSchema,
  MetricsSnapshot: metricsSnapshotViewSchema,
  MetricsSnapshotPage: pageSchema(metricsSnapshotViewSchema),
  IntegrationSettings: integrationSettingsViewSchema,
  RuntimeSettings: runtimeSettingsViewSchema,
  Artifact: artifactViewSchema,
  ArtifactPage: pageSchema(artifactViewSchema),
  ArtifactVerifyResult: artifactVerifyResultSchema,
  AuditRecord: auditRecordViewSchema,
  AuditRecordPage: pageSchema(auditRecordViewSchema),
  AuditVerifyResult: auditVerifyResultSchema,
  AuditPublicKeys: auditPublicKeysSchema,
  User: userViewSchema,
  Me: meViewSchema,
  UserPage: pageSchema(userViewSchema).extend({ total: z.number().int().describe('users matching the filters') }),
  TokenPair: tokenPairSchema,
  ApiToken: apiTokenViewSchema,
  ApiTokenList: apiTokenListSchema,
  CreatedApiToken: createdApiTokenSchema,
  MfaSetup: mfaSetupSchema,
  RecoveryCodes: recoveryCodesSchema,
  JwkSet: jwkSetSchema,
  Health: healthSchema,
  Readiness: readinessSchema,
} as const;
export type ApiComponentName = keyof typeof ApiComponentSchemas;

// ---------------------------------------------------------------------------------------------------------
// Compile-time checks: each schema describes exactly its view type (both directions), so the document cannot
// drift from what the services return.

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Page<T> = { items: T[]; next_cursor: string | null };
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- compile-time only
const viewChecks: Array<true> = [
  true satisfies Same<z.infer<typeof hostViewSchema>, HostView>,
  // changes[].before/after are `unknown`, which zod 3 infers as optional keys: compared without them
  true satisfies Same<Omit<z.infer<typeof hostRevisionViewSchema>, 'changes'>, Omit<HostRevisionView, 'changes'>>,
  true satisfies Same<z.infer<typeof hostsSummarySchema>, HostsSummary>,
  true satisfies Same<z.infer<typeof importReportSchema>, ImportReport>,
  true satisfies Same<z.infer<typeof accessCommandViewSchema>, AccessCommandView>,
  true satisfies Same<z.infer<typeof metricsSnapshotViewSchema>, MetricsSnapshotView>,
  true satisfies Same<z.infer<typeof integrationSettingsViewSchema>, IntegrationSettingsView>,
  true satisfies Same<z.infer<typeof runtimeSettingsViewSchema>, RuntimeSettingsView>,
  true satisfies Same<z.infer<typeof artifactViewSchema>, ArtifactView>,
  true satisfies Same<z.infer<typeof artifactVerifyResultSchema>, VerifyResult>,
  true satisfies Same<z.infer<typeof auditRecordViewSchema>, AuditRecordView>,
  true satisfies Same<z.infer<typeof auditVerifyResultSchema>, AuditVerifyResult>,
  true satisfies Same<z.infer<typeof auditPublicKeysSchema>, AuditPublicKeys>,
  true satisfies Same<z.infer<typeof userViewSchema>, UserView>,
  true satisfies Same<z.infer<typeof meViewSchema>, MeView>,
  true satisfies Same<z.infer<typeof tokenPairSchema>, TokenPair>,
  true satisfies Same<z.infer<typeof apiTokenViewSchema>, ApiTokenView>,
  true satisfies Same<z.infer<typeof jwkSetSchema>, JwkSet>,
  true satisfies Same<z.infer<typeof ApiComponentSchemas.HostPage>, Page<HostView>>,
];
