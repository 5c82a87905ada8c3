import { ArtifactKinds, HOST_DATA_FIELDS, type ApiComponentName } from '@opsdesk/contracts';

/** Tags of the document, one per area, in this order. */
export const API_TAGS = {
  auth: 'Log in, sessions, MFA and personal API tokens',
  users: 'User administration (admin; auditors read)',
  hosts: 'Host inventory: CRUD with optimistic concurrency, history, CSV import/export, SSH access commands, telemetry',
  settings: 'Runtime information and integration settings',
  artifacts: 'Files attached to hosts: streamed upload, ranged download, integrity verification',
  audit: 'The tamper-evident audit trail: search, verification, signed exports',
  operations: 'Liveness (outside /api, no login; readiness and metrics are on the internal port)',
} as const;
export type ApiTag = keyof typeof API_TAGS;

/** Response headers documented by name (components.headers). */
export type ResponseHeader = 'ETag' | 'Location' | 'Content-Range' | 'Content-Disposition' | 'Accept-Ranges' | 'Retry-After';

export interface SuccessResponse {
  status: number;
  description: string;
  /** headers not always sent (documented, but the contract test does not require them) */
  optionalHeaders?: ResponseHeader[];
  /** a component (JSON) or a non-JSON media type with a plain schema; absent: no body (204, 304) */
  body?: ApiComponentName | { mediaType: string; schema: Record<string, unknown> };
  headers?: ResponseHeader[];
  example?: unknown;
}

/**
 * What one gateway route promises, beyond what Nest already knows (path, method, path parameters, public or
 * the permission it requires, the zod schemas of its query and JSON body: read from the route's own
 * decorators and pipes). Errors the route can always return
 * (400 for invalid input, 401/403 when it needs a login, 404 for an id, 413 for a JSON body, 429, 503) are
 * added by the document builder; `errors` lists the others.
 */
export interface OperationContract {
  /** stable operation id `<area>.<verb>`: generated clients name their methods after it */
  id: string;
  tag: ApiTag;
  summary: string;
  description?: string;
  /**
   * The JSON body's schema is the one the route's ZodPipe validates with (so is the query's); here only whether
   * it is required and an example. Other media types (CSV, multipart) are described by hand.
   */
  body?: { required?: boolean; example?: unknown } | { content: Record<string, { schema: Record<string, unknown>; example?: unknown }> };
  /** reads If-Match (optimistic concurrency) */
  ifMatch?: boolean;
  /** request headers for ranged, conditional downloads */
  conditionalDownload?: boolean;
  responses: SuccessResponse[];
  errors?: number[];
}

const example = (value: unknown) => ({ example: value });

const hostExample = {
  id: '0b5cf1c2-5d1e-4c55-9d55-3d5f0f6a9c01',
  hostname: 'web-01',
  fqdn: 'web-01.prod.example.com',
  ip: '10.0.1.15',
  os: 'linux',
  environment: 'prod',
  owner: 'ops@example.com',
  team: 'platform',
  criticality: 'high',
  tags: ['nginx', 'web'],
  notes: null,
  connection_method: 'bastion_ssh',
  ssh_user: 'deploy',
  ssh_port: 22,
  bastion_host: 'bastion.example.com',
  bastion_port: 22,
  access_template: null,
  created_at: '2026-01-31T12:00:00.000Z',
  updated_at: '2026-01-31T12:00:00.000Z',
  last_seen_at: null,
  version: 1,
};
const { id: _id, created_at: _c, updated_at: _u, last_seen_at: _l, version: _v, ...hostCreateExample } = hostExample;

const artifactExample = {
  id: '5f2b7c9e-8a41-4f0e-b3c6-0d9e1a2b3c4d',
  host_id: hostExample.id,
  original_name: 'build.log',
  filename: 'build.log',
  kind: 'log',
  description: 'CI build log',
  size: 18234,
  sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  content_type: 'text/plain',
  uploaded_by: '7d1e4c2a-3b5f-4e6d-8a9b-0c1d2e3f4a5b',
  uploaded_by_email: 'ci@example.com',
  uploaded_at: '2026-01-31T12:05:00.000Z',
  last_verified_at: null,
  last_verify_ok: null,
};

const auditRecordExample = {
  seq: 1042,
  event_id: '3c9a1f7e-2b4d-4e8f-9a0b-1c2d3e4f5a6b',
  type: 'inventory.host.updated',
  source: 'inventory',
  occurred_at: '2026-01-31T12:01:00.000Z',
  recorded_at: '2026-01-31T12:01:00.120Z',
  actor: { user_id: '7d1e4c2a-3b5f-4e6d-8a9b-0c1d2e3f4a5b', email: 'ops@example.com', ip: '203.0.113.7', user_agent: 'curl/8.5.0' },
  entity_type: 'host',
  entity_id: hostExample.id,
  request_id: '8c1d0e4e-5b8f-4d7c-9a53-2f3c1f0e9b21',
  trace_id: null,
  data: { changes: [{ field: 'criticality', before: 'high', after: 'critical' }] },
  prev_hash: 'a3f1…',
  hash: 'b47e…',
};

const csvExample = 'hostname,ip,environment,os,criticality,tags\nweb-01,10.0.1.15,prod,linux,high,"nginx,web"\ndb-01,10.0.2.20,prod,linux,critical,postgres\n';

const binary = { type: 'string', format: 'binary' };

/** Contracts by Nest's route key `<Controller>_<method>` (the walk test fails on a route without one, or on an unused one). */
export const OPERATIONS: Record<string, OperationContract> = {
  // ---------------------------------------------------------------------------------------------- operations
  HealthController_healthz: {
    id: 'operations.healthz',
    tag: 'operations',
    summary: 'Liveness: the process answers (never touches dependencies)',
    responses: [{ status: 200, description: 'Alive', body: 'Health' }],
  },
  // readyz and metrics: on the internal port only (GATEWAY_INTERNAL_PORT), not part of the public API's document

  // ---------------------------------------------------------------------------------------------------- auth
  AuthController_jwks: {
    id: 'auth.jwks',
    tag: 'auth',
    summary: 'Public keys (JWK Set) that verify access tokens; empty when JWT_ALGORITHM is HS*',
    responses: [{ status: 200, description: 'The key set (Cache-Control: public, max-age=300)', body: 'JwkSet' }],
  },
  AuthController_login: {
    id: 'auth.login',
    tag: 'auth',
    summary: 'Log in with email and password (and totp_code when MFA is on)',
    description: 'Any bad combination is 401 AUTH.INVALID_CREDENTIALS; AUTH.MFA_REQUIRED when a code is needed. Rate limited per IP (429 with Retry-After).',
    body: example({ email: 'admin@example.com', password: 'correct horse battery staple' }),
    responses: [
      {
        status: 200,
        description: 'A token pair',
        body: 'TokenPair',
        example: { access_token: 'eyJhbGciOiJFZERTQSIs…', refresh_token: 'r1.8d0f…', token_type: 'bearer', expires_in: 86400 },
      },
    ],
    errors: [401],
  },
  AuthController_refresh: {
    id: 'auth.refresh',
    tag: 'auth',
    summary: 'Rotate a refresh token; replaying a used one revokes the session',
    responses: [{ status: 200, description: 'A new token pair', body: 'TokenPair' }],
    errors: [401],
  },
  AuthController_logout: {
    id: 'auth.logout',
    tag: 'auth',
    summary: 'End the current session; its access and refresh tokens stop working at once',
    body: { required: false },
    responses: [{ status: 204, description: 'Logged out' }],
  },
  AuthController_me: {
    id: 'auth.me',
    tag: 'auth',
    summary: 'The signed-in user and the permissions of their role (clients render from these; the server enforces)',
    responses: [{ status: 200, description: 'The user with their permissions', body: 'Me' }],
  },
  AuthController_changePassword: {
    id: 'auth.change_password',
    tag: 'auth',
    summary: 'Change your password; your other sessions end',
    responses: [{ status: 204, description: 'Changed' }],
  },
  AuthController_mfaSetup: {
    id: 'auth.mfa_setup',
    tag: 'auth',
    summary: 'Start MFA enrolment: returns the TOTP secret and otpauth URI',
    responses: [{ status: 200, description: 'The secret to enrol', body: 'MfaSetup' }],
    errors: [409],
  },
  AuthController_mfaEnable: {
    id: 'auth.mfa_enable',
    tag: 'auth',
    summary: 'Confirm enrolment with a code; returns ten one-time recovery codes (shown once)',
    responses: [{ status: 200, description: 'Recovery codes', body: 'RecoveryCodes' }],
    errors: [409],
  },
  AuthController_mfaDisable: {
    id: 'auth.mfa_disable',
    tag: 'auth',
    summary: 'Turn MFA off (a TOTP or recovery code and your password)',
    responses: [{ status: 204, description: 'MFA is off' }],
    errors: [409],
  },
  AuthController_listTokens: {
    id: 'auth.tokens_list',
    tag: 'auth',
    summary: 'Your personal API tokens (never the token itself)',
    responses: [{ status: 200, description: 'The tokens', body: 'ApiTokenList' }],
  },
  AuthController_createToken: {
    id: 'auth.tokens_create',
    tag: 'auth',
    summary: 'Create a personal API token; the token is shown only in this response',
    body: example({ name: 'ci-pipeline', expires_in_days: 30 }),
    responses: [{ status: 201, description: 'The token (shown once)', body: 'CreatedApiToken' }],
  },
  AuthController_revokeToken: {
    id: 'auth.tokens_revoke',
    tag: 'auth',
    summary: 'Revoke one of your API tokens',
    responses: [{ status: 204, description: 'Revoked' }],
  },

  // --------------------------------------------------------------------------------------------------- users
  UsersController_list: {
    id: 'users.list',
    tag: 'users',
    summary: 'Users: filters role, q; keyset pages',
    responses: [{ status: 200, description: 'A page of users', body: 'UserPage' }],
  },
  UsersController_create: {
    id: 'users.create',
    tag: 'users',
    summary: 'Create a user (password policy applies; 409 AUTH.EMAIL_TAKEN)',
    body: example({ email: 'jane@example.com', password: 'Quiet-River-2026!', role: 'operator' }),
    responses: [{ status: 201, description: 'The user', body: 'User' }],
    errors: [409],
  },
  UsersController_get: {
    id: 'users.get',
    tag: 'users',
    summary: 'A user',
    responses: [{ status: 200, description: 'The user', body: 'User' }],
  },
  UsersController_update: {
    id: 'users.update',
    tag: 'users',
    summary: 'Change role or deactivate; existing tokens of the user are cut off at once',
    responses: [{ status: 200, description: 'The user', body: 'User' }],
  },
  UsersController_remove: {
    id: 'users.delete',
    tag: 'users',
    summary: 'Delete a user',
    responses: [{ status: 204, description: 'Deleted' }],
  },
  UsersController_resetMfa: {
    id: 'users.mfa_reset',
    tag: 'users',
    summary: "Clear a user's MFA",
    responses: [{ status: 204, description: 'MFA cleared' }],
  },

  // --------------------------------------------------------------------------------------------------- hosts
  HostsController_list: {
    id: 'hosts.list',
    tag: 'hosts',
    summary: 'List hosts: filters q, environment, os, criticality, tag (repeatable), owner, team; sort; keyset cursor',
    responses: [{ status: 200, description: 'A page of hosts', body: 'HostPage', example: { items: [hostExample], next_cursor: null } }],
  },
  HostsController_create: {
    id: 'hosts.create',
    tag: 'hosts',
    summary: 'Create a host (409 INVENTORY.HOST_CONFLICT when the hostname or ip is taken)',
    body: example(hostCreateExample),
    responses: [{ status: 201, description: 'The host; ETag is its version, Location its URL', body: 'Host', headers: ['ETag', 'Location'], example: hostExample }],
    errors: [409],
  },
  HostsController_summary: {
    id: 'hosts.summary',
    tag: 'hosts',
    summary: 'Host counts by environment, criticality and os',
    responses: [{ status: 200, description: 'Counts', body: 'HostsSummary' }],
  },
  HostsController_exportCsv: {
    id: 'hosts.export_csv',
    tag: 'hosts',
    summary: 'Stream hosts as CSV (same filters as the list); re-importable; spreadsheet formulas neutralised',
    responses: [
      {
        status: 200,
        description: `CSV with a header row: id, ${HOST_DATA_FIELDS.join(', ')}, …`,
        body: { mediaType: 'text/csv', schema: { type: 'string' } },
        headers: ['Content-Disposition'],
      },
    ],
  },
  HostsController_importCsv: {
    id: 'hosts.import_csv',
    tag: 'hosts',
    summary: 'Import hosts from CSV (text/csv body or multipart field file): dry_run, atomic, on_conflict=skip|update|fail; per-row report',
    description: `Columns (header row, case-insensitive, common aliases accepted): ${HOST_DATA_FIELDS.join(', ')}. hostname, ip and environment are required. Too large a file or too many rows: 413 INVENTORY.IMPORT_TOO_LARGE; another media type: 415.`,
    body: {
      content: {
        'text/csv': { schema: { type: 'string', description: 'the CSV file' }, example: csvExample },
        'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { ...binary, description: 'the CSV file' } } } },
      },
    },
    responses: [{ status: 200, description: 'The per-row report (committed says whether anything was written)', body: 'ImportReport' }],
    errors: [413, 415],
  },
  HostsController_get: {
    id: 'hosts.get',
    tag: 'hosts',
    summary: 'A host (ETag = version); ?as_of=<time> returns its state at that time (deleted hosts: admin and auditor)',
    responses: [{ status: 200, description: 'The host (ETag only without as_of)', body: 'Host', optionalHeaders: ['ETag'], example: hostExample }],
  },
  HostsController_update: {
    id: 'hosts.update',
    tag: 'hosts',
    summary: 'Update a host; send If-Match with the ETag you read: 412 when the host changed meanwhile',
    body: example({ criticality: 'critical', tags: ['nginx', 'web', 'pci'] }),
    ifMatch: true,
    responses: [{ status: 200, description: 'The host with its new version', body: 'Host', headers: ['ETag'], example: { ...hostExample, criticality: 'critical', version: 2 } }],
    errors: [409, 412],
  },
  HostsController_remove: {
    id: 'hosts.delete',
    tag: 'hosts',
    summary: 'Delete a host (its history stays); If-Match as for updates',
    ifMatch: true,
    responses: [{ status: 204, description: 'Deleted' }],
    errors: [412],
  },
  HostsController_history: {
    id: 'hosts.history',
    tag: 'hosts',
    summary: 'Revisions of a host, newest first, with field-level changes',
    responses: [{ status: 200, description: 'A page of revisions', body: 'HostRevisionPage' }],
  },
  HostsController_access: {
    id: 'hosts.access_command',
    tag: 'hosts',
    summary: 'Issue the SSH command for a host (reason required for prod or critical hosts); recorded as an event',
    body: example({ user: 'deploy', reason: 'INC-1234: restart nginx' }),
    responses: [{ status: 200, description: 'The command, as one string and as argv', body: 'AccessCommand' }],
  },
  HostsController_refresh: {
    id: 'hosts.metrics_refresh',
    tag: 'hosts',
    summary: 'Pull a metrics snapshot from Prometheus now',
    responses: [{ status: 200, description: 'The new snapshot', body: 'MetricsSnapshot' }],
  },
  HostsController_refreshAlias: {
    id: 'hosts.metrics_update',
    tag: 'hosts',
    summary: 'Alias of metrics:refresh',
    responses: [{ status: 200, description: 'The new snapshot', body: 'MetricsSnapshot' }],
  },
  HostsController_latest: {
    id: 'hosts.metrics_latest',
    tag: 'hosts',
    summary: 'The latest unexpired metrics snapshot',
    responses: [{ status: 200, description: 'The snapshot', body: 'MetricsSnapshot' }],
  },
  HostsController_latestAlias: {
    id: 'hosts.metrics_latest_alias',
    tag: 'hosts',
    summary: 'Alias of metrics/latest',
    responses: [{ status: 200, description: 'The snapshot', body: 'MetricsSnapshot' }],
  },
  HostsController_metrics: {
    id: 'hosts.metrics_list',
    tag: 'hosts',
    summary: 'Metrics snapshots of a host, newest first',
    responses: [{ status: 200, description: 'A page of snapshots', body: 'MetricsSnapshotPage' }],
  },
  TagsController_tags: {
    id: 'tags.list',
    tag: 'hosts',
    summary: 'Tags in use with their host counts',
    responses: [{ status: 200, description: 'Tags and counts', body: 'TagCounts' }],
  },

  // ------------------------------------------------------------------------------------------------ settings
  SettingsController_runtime: {
    id: 'settings.runtime',
    tag: 'settings',
    summary: 'Non-secret runtime information: environment, version, limits, whether Prometheus is configured',
    responses: [{ status: 200, description: 'Runtime information', body: 'RuntimeSettings' }],
  },
  SettingsController_integrations: {
    id: 'settings.integrations_get',
    tag: 'settings',
    summary: 'Integration settings (Prometheus URL without credentials, instance template, snapshot TTL)',
    responses: [{ status: 200, description: 'The settings', body: 'IntegrationSettings' }],
  },
  SettingsController_update: {
    id: 'settings.integrations_put',
    tag: 'settings',
    summary: 'Update integration settings (admin); recorded as inventory.settings.updated with before/after',
    body: example({ prometheus_url: 'http://prometheus:9090', snapshot_ttl_seconds: 3600 }),
    responses: [{ status: 200, description: 'The settings', body: 'IntegrationSettings' }],
  },

  // ----------------------------------------------------------------------------------------------- artifacts
  ArtifactsController_upload: {
    id: 'artifacts.upload',
    tag: 'artifacts',
    summary: 'Upload an artifact (multipart: kind, description, then file); streamed, SHA-256 computed on the way',
    description: 'Send the fields before the file part. Larger than ARTIFACT_MAX_BYTES: 413 ARTIFACTS.TOO_LARGE.',
    body: {
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['kind', 'file'],
            properties: {
              kind: { type: 'string', enum: [...ArtifactKinds] },
              description: { type: 'string', maxLength: 2000 },
              file: binary,
            },
          },
        },
      },
    },
    responses: [{ status: 201, description: 'The stored artifact', body: 'Artifact', example: artifactExample }],
    errors: [413],
  },
  ArtifactsController_listForHost: {
    id: 'artifacts.list_for_host',
    tag: 'artifacts',
    summary: "A host's artifacts, newest first (keyset pages)",
    responses: [{ status: 200, description: 'A page of artifacts', body: 'ArtifactPage' }],
  },
  ArtifactsController_list: {
    id: 'artifacts.list',
    tag: 'artifacts',
    summary: 'Artifacts, newest first; filters host_id, kind, uploaded_by, sha256, from, to (keyset pages)',
    responses: [{ status: 200, description: 'A page of artifacts', body: 'ArtifactPage' }],
  },
  ArtifactsController_get: {
    id: 'artifacts.get',
    tag: 'artifacts',
    summary: 'Artifact metadata',
    responses: [{ status: 200, description: 'The artifact', body: 'Artifact' }],
  },
  ArtifactsController_download: {
    id: 'artifacts.download',
    tag: 'artifacts',
    summary: 'Download (always an attachment); Range, ETag = sha256, If-None-Match',
    conditionalDownload: true,
    responses: [
      // Content-Type is the type detected from the file's magic bytes (the artifact's content_type)
      { status: 200, description: 'The file', body: { mediaType: '*/*', schema: binary }, headers: ['ETag', 'Content-Disposition', 'Accept-Ranges'] },
      { status: 206, description: 'The requested range', body: { mediaType: '*/*', schema: binary }, headers: ['ETag', 'Content-Range', 'Content-Disposition', 'Accept-Ranges'] },
      { status: 304, description: 'Not modified (If-None-Match matched)', headers: ['ETag'] },
    ],
    // 409: the stored file failed verification and is never served as good; 416: range outside the file
    errors: [409, 416],
  },
  ArtifactsController_verify: {
    id: 'artifacts.verify',
    tag: 'artifacts',
    summary: 'Re-hash the stored file; ok:false with expected and actual sha256 when it differs',
    responses: [{ status: 200, description: 'The verification result', body: 'ArtifactVerifyResult' }],
  },
  ArtifactsController_remove: {
    id: 'artifacts.delete',
    tag: 'artifacts',
    summary: 'Delete an artifact',
    responses: [{ status: 204, description: 'Deleted' }],
  },

  // --------------------------------------------------------------------------------------------------- audit
  AuditController_list: {
    id: 'audit.list',
    tag: 'audit',
    summary: 'Search the audit trail, newest first (keyset pagination: limit, cursor → next_cursor)',
    responses: [{ status: 200, description: 'A page of audit records', body: 'AuditRecordPage', example: { items: [auditRecordExample], next_cursor: 'eyJzZXEiOjEwNDJ9' } }],
  },
  AuditController_verify: {
    id: 'audit.verify',
    tag: 'audit',
    summary: 'Recompute the hash chain and check the signed checkpoints (optional from_seq/to_seq)',
    responses: [{ status: 200, description: 'The verification result', body: 'AuditVerifyResult' }],
  },
  AuditController_publicKeys: {
    id: 'audit.public_keys',
    tag: 'audit',
    summary: 'The Ed25519 public keys that verify audit checkpoints (current first), with key ids; no login needed',
    responses: [{ status: 200, description: 'The keys', body: 'AuditPublicKeys' }],
  },
  AuditController_exportCsv: {
    id: 'audit.export_csv',
    tag: 'audit',
    summary: 'Streamed CSV export (same filters; spreadsheet formulas neutralised)',
    responses: [{ status: 200, description: 'CSV, one record a row', body: { mediaType: 'text/csv', schema: { type: 'string' } }, headers: ['Content-Disposition'] }],
  },
  AuditController_exportJsonl: {
    id: 'audit.export_jsonl',
    tag: 'audit',
    summary: 'Streamed JSONL export with hashes and signed checkpoints (verifiable offline: npm run audit:verify)',
    responses: [
      {
        status: 200,
        description: 'One JSON document a line: audit records and checkpoints',
        body: { mediaType: 'application/x-ndjson', schema: { type: 'string' } },
        headers: ['Content-Disposition'],
      },
    ],
  },
};
