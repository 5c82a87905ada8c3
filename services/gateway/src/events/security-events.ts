import type { Principal } from '@opsdesk/authn';
import { EventTypes, untrustedText, type NewEvent } from '@opsdesk/contracts';
import { actorOf, type AuthedRequest } from '../common/request-context';

function route(req: AuthedRequest): { method: string; path: string; route: string } {
  // the raw path is the client's: bounded and sanitised before it reaches the audit trail
  const path = untrustedText((req.raw?.url ?? req.url ?? '').split('?')[0], 200);
  const pattern = (req as { routeOptions?: { url?: string } }).routeOptions?.url ?? path;
  return { method: req.method, path, route: pattern };
}

/** gateway.request.denied: a 403 (RBAC refusal, or a 403 answer from a service). */
export function deniedEvent(req: AuthedRequest, detail: { permission?: string; principal?: Principal; code?: string }): NewEvent {
  const r = route(req);
  const principal = detail.principal ?? req.user;
  return {
    type: EventTypes.REQUEST_DENIED,
    actor: actorOf(req),
    request_id: String(req.id),
    subject: { entity_type: 'route', entity_id: `${r.method} ${r.route}` },
    data: {
      ...r,
      status: 403,
      ...(detail.permission ? { permission: detail.permission } : {}),
      ...(principal ? { role: principal.role } : {}),
      ...(detail.code ? { code: detail.code } : {}),
    },
  };
}

/** gateway.rate.limited: a 429. */
export function rateLimitedEvent(req: AuthedRequest, bucket: string): NewEvent {
  const r = route(req);
  return {
    type: EventTypes.RATE_LIMITED,
    actor: actorOf(req),
    request_id: String(req.id),
    subject: { entity_type: 'route', entity_id: `${r.method} ${r.route}` },
    // no retry_after: it differs per request and would only make the aggregated summary misleading
    data: { ...r, status: 429, bucket },
  };
}
