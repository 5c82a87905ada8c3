import { z } from 'zod';
import { ApiTokenScopes, Roles, type ApiTokenScope, type Permission } from './roles';

/** Auth's RPC patterns (`auth.<op>`, sent under the RPC prefix); requests and responses in rpc-contracts.ts. */
export const AuthRpc = {
  LOGIN: 'auth.login',
  REFRESH: 'auth.refresh',
  LOGOUT: 'auth.logout',
  ME: 'auth.me',
  CHANGE_PASSWORD: 'auth.password.change',
  MFA_SETUP: 'auth.mfa.setup',
  MFA_ENABLE: 'auth.mfa.enable',
  MFA_DISABLE: 'auth.mfa.disable',
  TOKENS_LIST: 'auth.tokens.list',
  TOKENS_CREATE: 'auth.tokens.create',
  TOKENS_REVOKE: 'auth.tokens.revoke',
  TOKENS_VERIFY: 'auth.tokens.verify',
  USERS_LIST: 'auth.users.list',
  USERS_GET: 'auth.users.get',
  USERS_CREATE: 'auth.users.create',
  USERS_UPDATE: 'auth.users.update',
  USERS_DELETE: 'auth.users.delete',
  USERS_MFA_RESET: 'auth.users.mfa_reset',
} as const;

/** Payload schemas shared by the gateway (HTTP validation, OpenAPI) and the auth service (RPC validation). */

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .email({ message: 'must be a valid email address' });

export const PASSWORD_MIN_LENGTH = 12;
/**
 * Password policy: 12..128 characters and at least three of lower case, upper case, digits, symbols.
 * Returned as a list so the API can report every broken rule at once.
 */
export function passwordProblems(password: string, email?: string): string[] {
  const problems: string[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (password.length > 128) problems.push('must be at most 128 characters');
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3) problems.push('must mix at least three of: lower case, upper case, digits, symbols');
  if (email && password.toLowerCase().includes(email.split('@')[0].toLowerCase()) && email.split('@')[0].length >= 4)
    problems.push('must not contain the email name');
  return problems;
}

export const newPasswordSchema = z.string().superRefine((value, ctx) => {
  for (const message of passwordProblems(value)) ctx.addIssue({ code: z.ZodIssueCode.custom, message });
});

export const totpCodeSchema = z.string().trim().regex(/^\d{6}$/, 'must be a 6-digit code');
/** A login second factor: a 6-digit TOTP code or a one-time recovery code (xxxxx-xxxxx). */
export const secondFactorSchema = z
  .string()
  .trim()
  .regex(/^(\d{6}|[a-z0-9]{5}-[a-z0-9]{5})$/i, 'must be a 6-digit code or a recovery code');

export const loginRequestSchema = z.object({
  email: z.string().trim().toLowerCase().min(1).max(254),
  password: z.string().min(1).max(1024),
  totp_code: secondFactorSchema.optional(),
});
export type LoginRequest = z.infer<typeof loginRequestSchema>;

export const refreshRequestSchema = z.object({ refresh_token: z.string().min(10).max(512) });
export type RefreshRequest = z.infer<typeof refreshRequestSchema>;

export const logoutRequestSchema = z.object({ refresh_token: z.string().min(10).max(512).optional() });

export const changePasswordSchema = z.object({
  current_password: z.string().min(1).max(1024),
  new_password: newPasswordSchema,
});
export type ChangePasswordRequest = z.infer<typeof changePasswordSchema>;

export const mfaEnableSchema = z.object({ code: totpCodeSchema });
export const mfaDisableSchema = z.object({ code: secondFactorSchema, password: z.string().min(1).max(1024) });

export const createApiTokenSchema = z.object({
  name: z.string().trim().min(1).max(100),
  /** read (default), write or admin; never above the owner's role */
  scope: z.enum(ApiTokenScopes).default('read'),
  expires_in_days: z.number().int().min(1).max(365).default(90),
});
export type CreateApiTokenRequest = z.infer<typeof createApiTokenSchema>;

export const roleSchema = z.enum(Roles);

export const createUserSchema = z
  .object({
    email: emailSchema,
    password: newPasswordSchema,
    role: roleSchema.default('viewer'),
  })
  .superRefine((v, ctx) => {
    const name = v.email.split('@')[0];
    if (name.length >= 4 && v.password.toLowerCase().includes(name))
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['password'], message: 'must not contain the email name' });
  });
export type CreateUserRequest = z.infer<typeof createUserSchema>;

export const updateUserSchema = z
  .object({ role: roleSchema.optional(), is_active: z.boolean().optional(), email: emailSchema.optional() })
  .refine((v) => v.role !== undefined || v.is_active !== undefined || v.email !== undefined, { message: 'role, is_active or email is required' });
export type UpdateUserRequest = z.infer<typeof updateUserSchema>;

export const listUsersSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(500).optional(),
  skip: z.coerce.number().int().min(0).max(100000).optional(),
  role: roleSchema.optional(),
  q: z.string().max(254).optional(),
});
export type ListUsersRequest = z.infer<typeof listUsersSchema>;

/** Public user shape (SPEC §4): never a hash or a secret. */
export interface UserView {
  id: string;
  email: string;
  role: (typeof Roles)[number];
  is_active: boolean;
  mfa_enabled: boolean;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

/**
 * GET /api/auth/me: the user plus the permissions of their role (from RolePermissions), so clients such as
 * the console decide what to show from capabilities, never from role names. The server still enforces.
 */
export interface MeView extends UserView {
  permissions: Permission[];
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  scope: ApiTokenScope;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** What the gateway gets back when it verifies a personal API token. */
export interface VerifiedPrincipal {
  user_id: string;
  email: string;
  role: (typeof Roles)[number];
  token_id: string;
  scope: ApiTokenScope;
  expires_at: string;
}

/** JWT access-token claims (EdDSA by default, see ./jwks.ts; iss/aud/exp checked by every verifier). */
export interface AccessTokenClaims {
  sub: string;
  sid: string;
  jti: string;
  email: string;
  role: (typeof Roles)[number];
  /** issued-at in milliseconds: revocation cut-offs compare at millisecond precision */
  iat_ms: number;
  iat?: number;
  exp?: number;
  iss?: string;
  aud?: string | string[];
}

export const JWT_ISSUER = 'opsdesk-auth';
export const JWT_AUDIENCE = 'opsdesk-api';
export const API_TOKEN_PREFIX = 'odp_';

/** Keys of the revocation KV bucket, watched by every gateway replica. */
export const RevocationKeys = {
  session: (sid: string) => `sid.${sid}`,
  userCutoff: (userId: string) => `user.${userId}`,
  apiToken: (tokenId: string) => `tok.${tokenId}`,
};
export const DEFAULT_REVOCATION_BUCKET = 'OPSDESK_REVOCATIONS';
