import { Permissions, type Permission } from '@opsdesk/contracts';

/**
 * Who may call each operation, written from SPEC §3 by hand (never read from the controllers' decorators: this
 * table is what the served API is checked against). Keyed by `METHOD /path` as /api/openapi.json spells it.
 * A served operation without a row fails the RBAC matrix: a new route needs a decision here.
 */
export interface Access {
  /** no authentication (SPEC §3: login, refresh, health, console, API docs, and the public keys) */
  public?: true;
  /** the capability needed (SPEC §3 row); `self` = any authenticated user's own things */
  permission?: Permission;
  /** tokens, password, MFA, logout: a login session only, never a personal API token (SPEC §3) */
  session?: true;
  /** documented (the health controller) but served on the gateway's internal port only: 404 on the public one (SPEC §4) */
  internal?: true;
}

const P = Permissions;
export const EXPECTED_ACCESS: Readonly<Record<string, Access>> = {
  // probes: liveness is public; readiness and metrics are on the internal port only and not in the public document
  // (INTERNAL_ONLY_PATHS below, checked by the matrix spec)
  'GET /healthz': { public: true },
  // auth: login and refresh are unauthenticated; the JWKS and the audit public key are public keys
  'GET /api/auth/jwks.json': { public: true },
  'POST /api/auth/login': { public: true },
  'POST /api/auth/refresh': { public: true },
  'POST /api/auth/logout': { permission: P.SELF, session: true },
  'GET /api/auth/me': { permission: P.SELF },
  'POST /api/auth/password': { permission: P.SELF, session: true },
  'POST /api/auth/mfa/setup': { permission: P.SELF, session: true },
  'POST /api/auth/mfa/enable': { permission: P.SELF, session: true },
  'POST /api/auth/mfa/disable': { permission: P.SELF, session: true },
  'GET /api/auth/tokens': { permission: P.SELF, session: true },
  'POST /api/auth/tokens': { permission: P.SELF, session: true },
  'DELETE /api/auth/tokens/{id}': { permission: P.SELF, session: true },
  // users: list (admin, auditor); create/update/deactivate/reset MFA (admin)
  'GET /api/users': { permission: P.USERS_READ },
  'POST /api/users': { permission: P.USERS_WRITE },
  'GET /api/users/{id}': { permission: P.USERS_READ },
  'PATCH /api/users/{id}': { permission: P.USERS_WRITE },
  'DELETE /api/users/{id}': { permission: P.USERS_WRITE },
  'POST /api/users/{id}/mfa/reset': { permission: P.USERS_WRITE },
  // hosts: read (everyone), write/import/refresh metrics (admin, operator), access command (admin, operator)
  'GET /api/hosts': { permission: P.HOSTS_READ },
  'POST /api/hosts': { permission: P.HOSTS_WRITE },
  'GET /api/hosts/summary': { permission: P.HOSTS_READ },
  'GET /api/hosts/export.csv': { permission: P.HOSTS_READ },
  'POST /api/hosts/import': { permission: P.HOSTS_WRITE },
  'GET /api/hosts/{id}': { permission: P.HOSTS_READ },
  'PATCH /api/hosts/{id}': { permission: P.HOSTS_WRITE },
  'DELETE /api/hosts/{id}': { permission: P.HOSTS_WRITE },
  'GET /api/hosts/{id}/history': { permission: P.HOSTS_READ },
  'POST /api/hosts/{id}/access-command': { permission: P.ACCESS_ISSUE },
  'POST /api/hosts/{id}/metrics:refresh': { permission: P.HOSTS_WRITE },
  'POST /api/hosts/{id}/metrics:update': { permission: P.HOSTS_WRITE },
  'GET /api/hosts/{id}/metrics/latest': { permission: P.HOSTS_READ },
  'GET /api/hosts/{id}/metrics:latest': { permission: P.HOSTS_READ },
  'GET /api/hosts/{id}/metrics': { permission: P.HOSTS_READ },
  'GET /api/tags': { permission: P.HOSTS_READ },
  // artifacts: metadata (everyone), upload/delete (admin, operator), download/verify (admin, operator, auditor)
  'POST /api/hosts/{id}/artifacts': { permission: P.ARTIFACTS_WRITE },
  'GET /api/hosts/{id}/artifacts': { permission: P.HOSTS_READ },
  'GET /api/artifacts': { permission: P.HOSTS_READ },
  'GET /api/artifacts/{id}': { permission: P.HOSTS_READ },
  'GET /api/artifacts/{id}/download': { permission: P.ARTIFACTS_DOWNLOAD },
  'POST /api/artifacts/{id}/verify': { permission: P.ARTIFACTS_DOWNLOAD },
  'DELETE /api/artifacts/{id}': { permission: P.ARTIFACTS_WRITE },
  // audit: read/export/verify (admin, auditor); the checkpoint public key is public
  'GET /api/audit': { permission: P.AUDIT_READ },
  'GET /api/audit/verify': { permission: P.AUDIT_READ },
  'GET /api/audit/public-key': { public: true },
  'GET /api/audit/export.csv': { permission: P.AUDIT_READ },
  'GET /api/audit/export.jsonl': { permission: P.AUDIT_READ },
  // settings: runtime facts (any user), integrations read (everyone who reads hosts), update (admin)
  'GET /api/settings/runtime': { permission: P.SELF },
  'GET /api/settings/integrations': { permission: P.HOSTS_READ },
  'PUT /api/settings/integrations': { permission: P.SETTINGS_WRITE },
};

/** Served on the gateway's internal port only: the public port answers 404 to every caller. */
export const INTERNAL_ONLY_PATHS = ['/readyz', '/metrics', '/api/edge/artifact-ticket'] as const;
