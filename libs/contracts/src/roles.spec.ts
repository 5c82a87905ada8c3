import { Permissions as P, RolePermissions, Roles, roleHas, type Permission } from './roles';

/** SPEC §3, row by row: the permission table must say exactly this. */
const SPEC: Array<[Permission, Array<(typeof Roles)[number]>]> = [
  [P.HOSTS_READ, ['admin', 'operator', 'auditor', 'viewer']],
  [P.HOSTS_WRITE, ['admin', 'operator']],
  [P.ACCESS_ISSUE, ['admin', 'operator']],
  [P.ARTIFACTS_WRITE, ['admin', 'operator']],
  [P.ARTIFACTS_DOWNLOAD, ['admin', 'operator', 'auditor']],
  [P.AUDIT_READ, ['admin', 'auditor']],
  [P.USERS_READ, ['admin', 'auditor']],
  [P.USERS_WRITE, ['admin']],
  [P.SETTINGS_WRITE, ['admin']],
  [P.SELF, ['admin', 'operator', 'auditor', 'viewer']],
];

describe('role permission table (SPEC §3)', () => {
  it.each(SPEC)('%s is granted to exactly %j', (permission, roles) => {
    for (const role of Roles) expect(roleHas(role, permission)).toBe(roles.includes(role));
  });

  it('grants nothing beyond the SPEC rows', () => {
    const all = new Set(SPEC.map(([p]) => p));
    for (const role of Roles) for (const p of RolePermissions[role]) expect(all.has(p)).toBe(true);
  });
});
