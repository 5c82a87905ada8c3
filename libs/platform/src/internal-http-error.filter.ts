import { ArgumentsHost, Catch, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { httpErrorOf } from '@opsdesk/messaging';

/**
 * Errors of a service's internal HTTP routes (streamed bodies: uploads, downloads, CSV import, exports):
 * `{code, message, errors, meta}` with the status of the one code table (libs/contracts http-status.ts). The
 * gateway's InternalProxy keeps the status and turns the JSON into a problem document. Headers that give an
 * error its meaning travel too (Retry-After for 429/503, Content-Range for 416).
 */
@Catch()
export class InternalHttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('InternalHttp');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
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
    // an upload may not have been read to the end (413, 415, 507): do not keep the connection for another request
    void reply.status(status).header('connection', 'close').type('application/json').send(body);
  }
}
