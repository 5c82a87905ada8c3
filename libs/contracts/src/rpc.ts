import { z } from 'zod';
import { actorSchema, type Actor } from './events';

/**
 * RPC patterns are logical names; the NATS subject is `<rpc prefix>.<pattern>` (prefix `rpc` by default)
 * so requests never fall under a JetStream stream's subjects (`opsdesk.>`).
 */
export const RpcPatterns = {
  Auth: {
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
  },
} as const;

export const DEFAULT_RPC_SUBJECT_PREFIX = 'rpc';

export function rpcSubject(prefix: string, pattern: string): string {
  return `${prefix}.${pattern}`;
}

/** Every RPC payload carries who asks and for which request, so services can put it on events. */
export const rpcContextSchema = z.object({
  actor: actorSchema.nullable(),
  request_id: z.string().nullable(),
});
export type RpcContext = z.infer<typeof rpcContextSchema>;

export interface RpcRequest<T = unknown> {
  ctx: RpcContext;
  data: T;
}

export const anonymousActor = (ip: string | null = null, userAgent: string | null = null): Actor => ({
  user_id: null,
  email: null,
  ip,
  user_agent: userAgent,
});
