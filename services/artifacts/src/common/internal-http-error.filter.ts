import { ArgumentsHost, Catch, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { httpErrorOf } from '@opsdesk/messaging';

/**
 * Errors of the internal HTTP routes (bodies): {code, message, errors, meta} with the status of the one code
 * table (libs/contracts http-status.ts). The gateway's InternalProxy keeps the status and turns the JSON into
 * a problem document.
 */
@Catch()
export class InternalHttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ArtifactsHttp');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body } = httpErrorOf(exception, this.logger);
    const range = body.meta?.['content_range'];
    if (typeof range === 'string') void reply.header('Content-Range', range);
    const retryAfter = body.meta?.['retry_after'];
    if (typeof retryAfter === 'number') void reply.header('Retry-After', String(retryAfter));
    if (reply.sent || reply.raw.headersSent) {
      // a streamed answer already started: the only honest signal left is to cut the connection
      reply.raw.destroy();
      return;
    }
    void reply.status(status).type('application/json').send(body);
  }
}
