import { z } from 'zod';

/**
 * Event types of SPEC §5. The subject of an event is `<prefix>.<type>` (prefix `opsdesk` by default),
 * e.g. `opsdesk.auth.user.created`. A breaking payload change gets a new type.
 */
export const EventTypes = {
  // auth
  USER_CREATED: 'auth.user.created',
  USER_UPDATED: 'auth.user.updated',
  USER_DEACTIVATED: 'auth.user.deactivated',
  USER_DELETED: 'auth.user.deleted',
  USER_ROLE_CHANGED: 'auth.user.role_changed',
  LOGIN_SUCCEEDED: 'auth.login.succeeded',
  LOGIN_FAILED: 'auth.login.failed',
  LOGOUT: 'auth.logout',
  SESSION_REVOKED: 'auth.session.revoked',
  SESSION_REUSE_DETECTED: 'auth.session.reuse_detected',
  MFA_ENABLED: 'auth.mfa.enabled',
  MFA_DISABLED: 'auth.mfa.disabled',
  MFA_RESET: 'auth.mfa.reset',
  PASSWORD_CHANGED: 'auth.password.changed',
  TOKEN_CREATED: 'auth.token.created',
  TOKEN_REVOKED: 'auth.token.revoked',
  ACCOUNT_LOCKED: 'auth.account.locked',
  // inventory
  HOST_CREATED: 'inventory.host.created',
  HOST_UPDATED: 'inventory.host.updated',
  HOST_DELETED: 'inventory.host.deleted',
  HOSTS_IMPORTED: 'inventory.hosts.imported',
  HOST_ACCESS_ISSUED: 'inventory.host.access_issued',
  HOST_METRICS_COLLECTED: 'inventory.host.metrics_collected',
  SETTINGS_UPDATED: 'inventory.settings.updated',
  // artifacts
  ARTIFACT_UPLOADED: 'artifacts.artifact.uploaded',
  ARTIFACT_DOWNLOADED: 'artifacts.artifact.downloaded',
  ARTIFACT_DELETED: 'artifacts.artifact.deleted',
  ARTIFACT_VERIFIED: 'artifacts.artifact.verified',
  // gateway
  REQUEST_DENIED: 'gateway.request.denied',
  RATE_LIMITED: 'gateway.rate.limited',
  // audit
  AUDIT_EXPORTED: 'audit.audit.exported',
  // every service: an RPC refused by its caller-context check (libs/platform RpcCallerGuard)
  AUTH_RPC_DENIED: 'auth.rpc.denied',
  INVENTORY_RPC_DENIED: 'inventory.rpc.denied',
  AUDIT_RPC_DENIED: 'audit.rpc.denied',
  ARTIFACTS_RPC_DENIED: 'artifacts.rpc.denied',
} as const;

/** `<service>.rpc.denied`: the event a service emits (through its outbox) when it refuses an RPC's caller context. */
export function rpcDeniedEventType(service: string): string {
  return `${service}.rpc.denied`;
}
export type EventType = (typeof EventTypes)[keyof typeof EventTypes];

export const DEFAULT_EVENT_SUBJECT_PREFIX = 'opsdesk';
export const DEFAULT_EVENTS_STREAM = 'OPSDESK_EVENTS';

export function eventSubject(prefix: string, type: string): string {
  return `${prefix}.${type}`;
}

export const actorSchema = z.object({
  user_id: z.string().nullable(),
  email: z.string().nullable(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
});
export type Actor = z.infer<typeof actorSchema>;

export const eventEnvelopeSchema = z.object({
  id: z.string().uuid(),
  type: z.string().min(3).regex(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/),
  version: z.number().int().positive(),
  occurred_at: z.string().datetime({ offset: true }),
  source: z.string().min(1),
  actor: actorSchema.nullable(),
  request_id: z.string().nullable(),
  subject: z.object({ entity_type: z.string().min(1), entity_id: z.string().nullable() }),
  data: z.record(z.unknown()),
});
export type EventEnvelope<D extends Record<string, unknown> = Record<string, unknown>> = Omit<
  z.infer<typeof eventEnvelopeSchema>,
  'data'
> & { data: D };

/** What a producer supplies; id/occurred_at/source/version are filled in by the outbox writer. */
export interface NewEvent<D extends Record<string, unknown> = Record<string, unknown>> {
  type: EventType | string;
  version?: number;
  actor: Actor | null;
  request_id: string | null;
  subject: { entity_type: string; entity_id: string | null };
  data: D;
}

/**
 * A domain event caused by a request: it carries the caller's actor and request id from the RPC context (SPEC §5
 * envelope), about one entity. Every service builds its events with this.
 */
export function domainEvent(
  type: EventType | string,
  ctx: { actor: Actor | null; request_id: string | null },
  entity: { type: string; id: string | null },
  data: Record<string, unknown>,
): NewEvent {
  return { type, actor: ctx.actor, request_id: ctx.request_id, subject: { entity_type: entity.type, entity_id: entity.id }, data };
}

export function parseEventEnvelope(raw: unknown): { ok: true; event: EventEnvelope } | { ok: false; error: string } {
  const r = eventEnvelopeSchema.safeParse(raw);
  if (r.success) return { ok: true, event: r.data };
  return {
    ok: false,
    error: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
  };
}
