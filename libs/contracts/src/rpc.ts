import { z } from 'zod';
import { actorSchema, type Actor } from './events';
import { Roles } from './roles';

/**
 * RPC patterns are logical names (AuthRpc, InventoryRpc, ArtifactsRpc, AuditRpc; each with its request schema and
 * response type in rpc-contracts.ts); the NATS subject is `<rpc prefix>.<pattern>` (prefix `rpc` by default) so
 * requests never fall under a JetStream stream's subjects (`opsdesk.>`).
 */
export const DEFAULT_RPC_SUBJECT_PREFIX = 'rpc';

/**
 * Read-only patterns: safe to send again when the instance that had the request died (RpcClient retries
 * them once, on another replica). Anything that changes state or emits an event is not here.
 */
export const IDEMPOTENT_RPC_PATTERNS: ReadonlySet<string> = new Set([
  'auth.me',
  'auth.tokens.list',
  'auth.users.list',
  'auth.users.get',
  'inventory.hosts.list',
  'inventory.hosts.get',
  'inventory.hosts.get_as_of',
  'inventory.hosts.history',
  'inventory.hosts.summary',
  'inventory.tags.list',
  'inventory.metrics.latest',
  'inventory.metrics.list',
  'inventory.settings.get',
  'inventory.settings.runtime',
  'artifacts.list',
  'artifacts.get',
  'artifacts.limits',
  'audit.list',
  'audit.verify',
]);

export function rpcSubject(prefix: string, pattern: string): string {
  return `${prefix}.${pattern}`;
}

/** The authenticated user behind an RPC (null for public calls: login, refresh, API token verification). */
export const rpcPrincipalSchema = z.object({
  user_id: z.string(),
  role: z.enum(Roles),
});
export type RpcPrincipal = z.infer<typeof rpcPrincipalSchema>;

/**
 * Every RPC payload carries who asks and for which request, so services can put it on events. On the
 * receiving side the context handlers see is the one the caller SIGNED (`RpcRequest.auth`, checked by
 * libs/platform's RpcCallerGuard), never the unsigned copy a client put next to it.
 */
export const rpcContextSchema = z.object({
  actor: actorSchema.nullable(),
  request_id: z.string().nullable(),
  principal: rpcPrincipalSchema.nullable().optional(),
});
export type RpcContext = z.infer<typeof rpcContextSchema>;

export interface RpcRequest<T = unknown> {
  ctx: RpcContext;
  data: T;
  /** signed caller context (docs/SECURITY.md "RPC caller context"); services refuse a request without it */
  auth?: string;
}

/** The service an RPC pattern is addressed to: its first segment (`auth.users.list` -> `auth`). */
export function rpcAudience(pattern: string): string {
  return pattern.split('.')[0];
}

/**
 * Claims of a signed RPC caller context. `aud` and `pat` bind it to one service and one pattern, `dig`
 * (SHA-256 of the JSON data) to one request body, `exp` keeps it short-lived, `iss` names the signer
 * (`gateway`, or a service calling another, e.g. `artifacts`).
 */
export interface RpcCallerClaims {
  iss: string;
  aud: string;
  pat: string;
  iat: number;
  exp: number;
  dig: string;
  request_id: string | null;
  actor: Actor | null;
  principal: RpcPrincipal | null;
}

export const anonymousActor = (ip: string | null = null, userAgent: string | null = null): Actor => ({
  user_id: null,
  email: null,
  ip,
  user_agent: userAgent,
});
