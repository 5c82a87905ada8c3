import request from 'supertest';
import { roleHas, scopeHas, type ApiTokenScope, type Role } from '@opsdesk/contracts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createUser, login, randomIp, type Stack } from '../../support/stack';
import type { Access } from './expected-access';

/** One way of calling the API: nobody, a user of each role (a login session), or an admin's API token of each scope. */
export interface Caller {
  name: string;
  kind: 'anonymous' | 'session' | 'api_token';
  role?: Role;
  scope?: ApiTokenScope;
  /** the bearer credential (none for anonymous) */
  token?: string;
  /** a fresh session of the same user, for operations that end the session they run in (logout) */
  fresh?: () => Promise<string>;
}

export const ROLES: readonly Role[] = ['viewer', 'auditor', 'operator', 'admin'];
export const SCOPES: readonly ApiTokenScope[] = ['read', 'write', 'admin'];

/** Every caller of the matrix: anonymous, one user per role, and admin-owned API tokens of every scope. */
export async function makeCallers(stack: Stack, label: string): Promise<Caller[]> {
  const admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  const callers: Caller[] = [{ name: 'anonymous', kind: 'anonymous' }];
  for (const role of ROLES) {
    const u = role === 'admin' ? { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, token: admin.access } : await createUser(stack.url, admin.access, `${role}-${label}@security.test`, role);
    callers.push({ name: role, kind: 'session', role, token: u.token, fresh: async () => (await login(stack.url, u.email, u.password)).access });
  }
  for (const scope of SCOPES) {
    const res = await request(stack.url).post('/api/auth/tokens').set('Authorization', `Bearer ${admin.access}`).set('X-Forwarded-For', randomIp()).send({ name: `matrix-${scope}`, scope });
    if (res.status !== 201) throw new Error(`token ${scope}: ${res.status} ${JSON.stringify(res.body)}`);
    callers.push({ name: `admin token (${scope})`, kind: 'api_token', role: 'admin', scope, token: res.body.token });
  }
  return callers;
}

/** What SPEC §3 says this caller gets for an operation: allowed, 401 (no credential) or 403 (role, scope or session). */
export function expectedOutcome(access: Access, caller: Caller): 'allowed' | 401 | 403 | 404 {
  if (access.internal) return 404;
  if (access.public) return 'allowed';
  if (caller.kind === 'anonymous') return 401;
  const permission = access.permission ?? 'self';
  if (caller.kind === 'api_token') {
    if (access.session) return 403;
    if (!scopeHas(caller.scope ?? 'read', permission)) return 403;
  }
  return roleHas(caller.role as Role, permission) ? 'allowed' : 403;
}
