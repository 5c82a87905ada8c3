import { ArgumentsHost, Catch, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { httpErrorOf } from '@opsdesk/messaging';

/**
 * Internal HTTP routes (streamed CSV) answer errors as {code, message, errors} with the status of the one
 * code table (libs/contracts http-status.ts); the gateway's InternalProxy turns them into problem documents.
 */
@Catch()
export class InternalHttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('InternalHttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body } = httpErrorOf(exception, this.logger);
    if (reply.sent) {
      reply.raw.destroy();
      return;
    }
    const retryAfter = body.meta?.['retry_after'];
    if (typeof retryAfter === 'number') void reply.header('Retry-After', String(retryAfter));
    // the upload may not have been read to the end (413): do not keep the connection for another request
    void reply.status(status).header('connection', 'close').type('application/json').send(body);
  }
}
