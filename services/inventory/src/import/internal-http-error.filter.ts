import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ZodError } from 'zod';
import { AppError, ErrorCodes } from '@opsdesk/contracts';
import { zodFieldErrors } from '@opsdesk/messaging';

/** Same status rules as the gateway's problem mapping, for the few codes the internal HTTP routes raise. */
export function statusForInternalCode(code: string): number {
  if (/NOT_FOUND$/.test(code)) return 404;
  if (/(CONFLICT|_TAKEN|_EXISTS|DUPLICATE)$/.test(code)) return 409;
  if (/PRECONDITION/.test(code)) return 412;
  if (/TOO_LARGE$/.test(code)) return 413;
  if (/UNSUPPORTED_MEDIA_TYPE$/.test(code)) return 415;
  if (/(FORBIDDEN|DENIED)$/.test(code)) return 403;
  if (/(UNAVAILABLE|UNREACHABLE)$/.test(code)) return 503;
  if (/(VALIDATION|INVALID|_REQUIRED)/.test(code)) return 400;
  return 500;
}

/**
 * Internal HTTP routes (streamed CSV) answer errors as {code, message, errors} with the right status; the
 * gateway's InternalProxy turns them into problem documents. (The platform's global filter is made for RPC.)
 */
@Catch()
export class InternalHttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('InternalHttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status = 500;
    let body: { code: string; message: string; errors?: unknown } = { code: ErrorCodes.INTERNAL, message: 'Internal error' };
    if (exception instanceof AppError) {
      status = statusForInternalCode(exception.code);
      body = { code: exception.code, message: exception.message, ...(exception.errors?.length ? { errors: exception.errors } : {}) };
    } else if (exception instanceof ZodError) {
      status = 400;
      body = { code: ErrorCodes.VALIDATION_FAILED, message: 'Request validation failed', errors: zodFieldErrors(exception) };
    } else if (exception instanceof HttpException && exception.getStatus() < 500) {
      status = exception.getStatus();
      body = { code: status === 401 ? ErrorCodes.UNAUTHENTICATED : status === 403 ? ErrorCodes.FORBIDDEN : `HTTP.${status}`, message: exception.message };
    }
    if (status >= 500) this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    if (reply.sent) {
      reply.raw.destroy();
      return;
    }
    // the upload may not have been read to the end (413): do not keep the connection for another request
    void reply.status(status).header('connection', 'close').type('application/json').send(body);
  }
}
