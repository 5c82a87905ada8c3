import { ArgumentsHost, Catch, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problem } from '@opsdesk/contracts';
import { httpErrorOf } from '@opsdesk/messaging';

/**
 * Errors of a service's internal HTTP routes (streamed bodies: uploads, downloads, CSV import, exports): an RFC 9457
 * problem document (libs/contracts problem.ts) with the status of the one code table (libs/contracts
 * http-status.ts), plus `message` (= `detail`), which the gateway's InternalProxy reads when it relays the error as
 * its own problem document. The document is whole because on the edge's one-hop artifact routes
 * (deploy/nginx/opsdesk.conf) it reaches the client as it is, without the gateway. Headers that give an error its
 * meaning travel too (Retry-After for 429/503, Content-Range for 416).
 */
@Catch()
export class InternalHttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('InternalHttp');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const { status, body } = httpErrorOf(exception, this.logger);
    if (reply.sent || reply.raw.headersSent) {
      // a streamed answer already started: the only honest signal left is to cut the connection
      reply.raw.destroy();
      return;
    }
    const range = body.meta?.['content_range'];
    if (typeof range === 'string') void reply.header('Content-Range', range);
    const retryAfter = body.meta?.['retry_after'];
    if (typeof retryAfter === 'number') void reply.header('Retry-After', String(retryAfter));
    const doc = problem(status, body.code, body.message, String(req.id), {
      ...(body.errors ? { errors: body.errors } : {}),
      ...(typeof retryAfter === 'number' ? { retry_after: retryAfter } : {}),
      message: body.message,
    });
    // An upload not read to the end (413 while streaming, a malformed form, a failed guard): its rest is read and
    // dropped, the socket closed after a linger if the peer goes on sending (the app's onSend hook: service-app.ts,
    // lingerAfterAnswer) — never `Connection: close` here, whose reset under a peer still writing could reach it
    // before this answer.
    void reply.status(status).header('x-request-id', String(req.id)).type('application/problem+json').send(doc);
  }
}
