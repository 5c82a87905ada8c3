export const Roles = ['admin', 'operator', 'auditor', 'viewer'] as const;
export type Role = (typeof Roles)[number];

/** Capabilities of SPEC §3; routes declare the permission they need, never a role. */
export const Permissions = {
  HOSTS_READ: 'hosts:read',
  HOSTS_WRITE: 'hosts:write',
  ACCESS_ISSUE: 'access:issue',
  ARTIFACTS_WRITE: 'artifacts:write',
  ARTIFACTS_DOWNLOAD: 'artifacts:download',
  AUDIT_READ: 'audit:read',
  USERS_READ: 'users:read',
  USERS_WRITE: 'users:write',
  SETTINGS_WRITE: 'settings:write',
  SELF: 'self',
} as const;
export type Permission = (typeof Permissions)[keyof typeof Permissions];

const P = Permissions;
export const RolePermissions: Readonly<Record<Role, readonly Permission[]>> = {
  admin: [
    P.HOSTS_READ,
    P.HOSTS_WRITE,
    P.ACCESS_ISSUE,
    P.ARTIFACTS_WRITE,
    P.ARTIFACTS_DOWNLOAD,
    P.AUDIT_READ,
    P.USERS_READ,
    P.USERS_WRITE,
    P.SETTINGS_WRITE,
    P.SELF,
  ],
  operator: [P.HOSTS_READ, P.HOSTS_WRITE, P.ACCESS_ISSUE, P.ARTIFACTS_WRITE, P.ARTIFACTS_DOWNLOAD, P.SELF],
  auditor: [P.HOSTS_READ, P.ARTIFACTS_DOWNLOAD, P.AUDIT_READ, P.USERS_READ, P.SELF],
  viewer: [P.HOSTS_READ, P.SELF],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (Roles as readonly string[]).includes(value);
}

export function roleHas(role: Role, permission: Permission): boolean {
  return RolePermissions[role]?.includes(permission) ?? false;
}

/** Route metadata key for "no authentication needed"; shared so libs without the auth lib can mark routes. */
export const PUBLIC_ROUTE_METADATA = 'opsdesk:public';

/**
 * Personal API token scopes (SPEC §3): what a token may do, never above its owner's role (the owner's current
 * role still applies: a token acts with the intersection). No scope manages tokens, passwords or MFA: those
 * routes need a login session (`@SessionOnly()`).
 */
export const ApiTokenScopes = ['read', 'write', 'admin'] as const;
export type ApiTokenScope = (typeof ApiTokenScopes)[number];

export const ScopePermissions: Readonly<Record<ApiTokenScope, readonly Permission[]>> = {
  read: [P.HOSTS_READ, P.ARTIFACTS_DOWNLOAD, P.AUDIT_READ, P.USERS_READ, P.SELF],
  write: [P.HOSTS_READ, P.ARTIFACTS_DOWNLOAD, P.AUDIT_READ, P.USERS_READ, P.SELF, P.HOSTS_WRITE, P.ACCESS_ISSUE, P.ARTIFACTS_WRITE],
  admin: [...RolePermissions.admin],
};

/** The widest scope a role may give its tokens: admin → admin, operator → write, auditor and viewer → read. */
export function maxScopeFor(role: Role): ApiTokenScope {
  return role === 'admin' ? 'admin' : role === 'operator' ? 'write' : 'read';
}

export function scopeRank(scope: ApiTokenScope): number {
  return ApiTokenScopes.indexOf(scope);
}

export function scopeHas(scope: ApiTokenScope, permission: Permission): boolean {
  return ScopePermissions[scope]?.includes(permission) ?? false;
}
