import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { InternalTokenIssuer, principalHas } from '@opsdesk/authn';
import { actorOf, type AuthedRequest } from '../common/request-context';
import { EDGE_RATE_LIMITED, EdgeTicketLimit } from '../security/rate-limit.guard';
import { edgeRouteOf } from './edge-routes';

/** Where nginx's `auth_request` asks (deploy/nginx/opsdesk.conf); served on the gateway's internal port only. */
export const EDGE_TICKET_PATH = '/api/edge/artifact-ticket';
/** The response header that carries the ticket to nginx (never to the client: auth_request answers are not relayed). */
export const EDGE_TICKET_HEADER = 'x-opsdesk-ticket';

/**
 * Artifact tickets for the edge: the bytes of an upload or a download go from nginx straight to the artifacts
 * service, one hop instead of two through this gateway (docs/PERFORMANCE.md change 20).
 *
 * nginx asks here before it reads the body, with the client's headers (its credentials) and the original method
 * and URI (X-Original-Method, X-Original-URI). The caller is authenticated by the global guard as on any route and
 * charged to its API rate limit; when the request is one of the two byte routes and the caller holds that route's
 * permission, the answer is 204 with a ticket: the same internal token the gateway would have sent with the bytes
 * (bound to user, actor, request id, the artifacts service, method and internal path; 60 s; signed with the
 * gateway's context key, docs/SECURITY.md). The artifacts service enforces the rest as it does behind the gateway:
 * host existence, size limit (413 while streaming), quota, upload slots, chain of custody and the audit events.
 *
 * Every other answer is a quiet 401/403 (no problem document, no denied event): nginx then sends the request
 * itself to the gateway, which answers it as today (problem document, 401/403/429, the denied or rate-limited
 * event), so refusals keep one implementation and are reported once.
 */
@Controller('edge')
export class EdgeController {
  constructor(private readonly tokens: InternalTokenIssuer) {}

  @Get('artifact-ticket')
  @EdgeTicketLimit()
  ticket(@Req() req: AuthedRequest, @Res() reply: FastifyReply): void {
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const route = edgeRouteOf(header('x-original-method'), header('x-original-uri'));
    const principal = req.user;
    const limited = (req as AuthedRequest & { [EDGE_RATE_LIMITED]?: true })[EDGE_RATE_LIMITED] === true;
    if (!principal || !route || limited || !principalHas(principal, route.permission)) {
      void reply.status(403).send();
      return;
    }
    const token = this.tokens.sign({ principal, actor: actorOf(req), request_id: String(req.id), aud: 'artifacts', method: route.method, path: route.path });
    void reply.status(204).header(EDGE_TICKET_HEADER, token).send();
  }
}
