import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { KV } from 'nats';
import { EventTypes, RevocationKeys, type EventEnvelope } from '@opsdesk/contracts';
import { EventHandler, NATS_HANDLES, assertBucketReplicas, type NatsHandles } from '@opsdesk/messaging';
import { AUTH_CONFIG, type AuthConfig } from '../config/auth.config';

export interface RevocationEntry {
  /** for user keys: tokens issued before this instant (ms) are refused */
  cutoff_ms?: number;
  reason: string;
}

/** The auth events that can imply a revocation: the cases of revocationsForEvent (its unit test keeps them equal). */
export const REVOCATION_EVENT_TYPES: readonly string[] = [
  EventTypes.LOGOUT,
  EventTypes.SESSION_REVOKED,
  EventTypes.SESSION_REUSE_DETECTED,
  EventTypes.PASSWORD_CHANGED,
  EventTypes.MFA_RESET,
  EventTypes.USER_DEACTIVATED,
  EventTypes.USER_DELETED,
  EventTypes.USER_ROLE_CHANGED,
  EventTypes.TOKEN_REVOKED,
];

/**
 * Writes revocations into the JetStream KV bucket every gateway replica watches.
 * Two paths, on purpose: the request path writes right after its transaction commits (fast: the caller's
 * next request already sees it), and a durable consumer of auth's own events writes them again
 * (guaranteed: if NATS was down at commit time, the outbox event still arrives later and is applied).
 * Both write the same values, so applying twice is harmless.
 */
@Injectable()
export class RevocationService implements OnApplicationBootstrap {
  private readonly logger = new Logger(RevocationService.name);
  private kv: KV | null = null;

  constructor(
    @Inject(NATS_HANDLES) private readonly nats: NatsHandles,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bucket();
    // the bucket that makes logouts reach every gateway must survive losing a NATS node like the events do
    await assertBucketReplicas(this.nats.jsm, this.config.REVOCATION_BUCKET, this.config.NATS_STREAM_REPLICAS);
  }

  private async bucket(): Promise<KV> {
    // Entries only need to outlive the longest access token they can refuse.
    this.kv ??= await this.nats.js.views.kv(this.config.REVOCATION_BUCKET, {
      history: 1,
      ttl: (this.config.JWT_EXPIRATION_HOURS + 1) * 3600_000,
    });
    return this.kv;
  }

  async put(key: string, entry: RevocationEntry): Promise<void> {
    const kv = await this.bucket();
    await kv.put(key, JSON.stringify(entry));
  }

  /** Fast path: never fails the request (the event path guarantees the write). */
  async putNow(entries: Array<[string, RevocationEntry]>): Promise<void> {
    for (const [key, entry] of entries) {
      await this.put(key, entry).catch((err: Error) =>
        this.logger.warn(`revocation ${key} not written now (${err.message}); the event consumer will write it`),
      );
    }
  }

  // auth.> carries every auth event (logins above all); only these imply a revocation, the rest are acknowledged
  // without a transaction (nats-server 2.9: one filter subject per consumer)
  @EventHandler({ filter: 'auth.>', name: 'revocations', types: REVOCATION_EVENT_TYPES })
  async onAuthEvent(event: EventEnvelope): Promise<void> {
    for (const [key, entry] of revocationsForEvent(event)) await this.put(key, entry);
  }
}

/** Which KV entries an auth event implies. Pure, so it is unit-tested. */
export function revocationsForEvent(event: EventEnvelope): Array<[string, RevocationEntry]> {
  const d = event.data as { session_ids?: string[]; session_id?: string; user_id?: string; cutoff_ms?: number; token_id?: string };
  const out: Array<[string, RevocationEntry]> = [];
  const sids = [...(d.session_ids ?? []), ...(d.session_id ? [d.session_id] : [])];
  switch (event.type) {
    case EventTypes.LOGOUT:
    case EventTypes.SESSION_REVOKED:
    case EventTypes.SESSION_REUSE_DETECTED:
    case EventTypes.PASSWORD_CHANGED:
    case EventTypes.MFA_RESET:
      for (const sid of sids) out.push([RevocationKeys.session(sid), { reason: event.type }]);
      break;
    case EventTypes.USER_DEACTIVATED:
    case EventTypes.USER_DELETED:
    case EventTypes.USER_ROLE_CHANGED:
      if (d.user_id && d.cutoff_ms) out.push([RevocationKeys.userCutoff(d.user_id), { cutoff_ms: d.cutoff_ms, reason: event.type }]);
      for (const sid of sids) out.push([RevocationKeys.session(sid), { reason: event.type }]);
      break;
    case EventTypes.TOKEN_REVOKED:
      if (d.token_id) out.push([RevocationKeys.apiToken(d.token_id), { reason: event.type }]);
      break;
    default:
      break;
  }
  return out;
}
