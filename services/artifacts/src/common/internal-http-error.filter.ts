import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError, ArtifactsErrors, ErrorCodes } from '@opsdesk/contracts';

const STATUS: Record<string, number> = {
  [ArtifactsErrors.NOT_FOUND]: 404,
  [ArtifactsErrors.HOST_NOT_FOUND]: 404,
  [ArtifactsErrors.TOO_LARGE]: 413,
  [ArtifactsErrors.FILE_REQUIRED]: 400,
  [ArtifactsErrors.INVALID_UPLOAD]: 400,
  [ArtifactsErrors.RANGE_NOT_SATISFIABLE]: 416,
  [ArtifactsErrors.INTEGRITY_CONFLICT]: 409,
  [ArtifactsErrors.INVENTORY_UNAVAILABLE]: 503,
  [ArtifactsErrors.FORBIDDEN]: 403,
  [ErrorCodes.VALIDATION_FAILED]: 400,
  [ErrorCodes.UPSTREAM_UNAVAILABLE]: 503,
};

/**
 * Errors of the internal HTTP routes (bodies). The gateway's InternalProxy keeps the status and turns the
 * JSON {code, message, errors} into a problem document, so the status is set here for the body routes,
 * while RPC errors are mapped by the gateway from the code alone.
 */
@Catch()
export class InternalHttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ArtifactsHttp');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status = 500;
    let body: Record<string, unknown> = { code: ErrorCodes.INTERNAL, message: 'Internal error' };
    if (exception instanceof AppError) {
      status = STATUS[exception.code] ?? 500;
      body = status >= 500 && !STATUS[exception.code] ? body : exception.toPayload() as unknown as Record<string, unknown>;
      const range = exception.meta?.['content_range'];
      if (typeof range === 'string') void reply.header('Content-Range', range);
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      body = { code: status === 401 ? ErrorCodes.UNAUTHENTICATED : `HTTP.${status}`, message: exception.message };
    }
    if (status >= 500) this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    if (reply.sent || reply.raw.headersSent) {
      // a streamed answer already started: the only honest signal left is to cut the connection
      reply.raw.destroy();
      return;
    }
    void reply.status(status).type('application/json').send(body);
  }
}
