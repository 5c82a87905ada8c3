import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError, ErrorCodes } from '@opsdesk/contracts';
import { RpcCallError, zodFieldErrors } from '@opsdesk/messaging';
import { problem, statusForCode, type Problem } from './problem';
import { reportForbidden } from '../events/forbidden-events.reporter';
import type { AuthedRequest } from './request-context';

const HTTP_CODES: Record<number, string> = {
  400: ErrorCodes.VALIDATION_FAILED,
  401: ErrorCodes.UNAUTHENTICATED,
  403: ErrorCodes.FORBIDDEN,
  404: ErrorCodes.NOT_FOUND,
  409: ErrorCodes.CONFLICT,
  412: ErrorCodes.PRECONDITION_FAILED,
  413: ErrorCodes.PAYLOAD_TOO_LARGE,
  429: ErrorCodes.RATE_LIMITED,
};

/** Every error leaves the gateway as an RFC 9457 problem document with a string code and the request id. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const body = this.toProblem(exception, String(req.id));
    // a 403 the RBAC guard did not report itself (a service's refusal, a handler's own) becomes a security event
    if (body.status === 403) reportForbidden(exception, req as unknown as AuthedRequest);
    if (body.status >= 500) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    const retryAfter = body.retry_after;
    if (typeof retryAfter === 'number') reply.header('Retry-After', String(retryAfter));
    void reply.status(body.status).type('application/problem+json').send(body);
  }

  toProblem(exception: unknown, requestId: string): Problem {
    if (exception instanceof RpcCallError || exception instanceof AppError) {
      const p = exception instanceof RpcCallError ? exception.payload : exception.toPayload();
      const status = statusForCode(p.code);
      const detail = status >= 500 && p.code === ErrorCodes.INTERNAL ? 'Internal error' : p.message;
      return problem(status, p.code, detail, requestId, { ...(p.errors?.length ? { errors: p.errors } : {}), ...(p.meta ?? {}) });
    }
    if (exception instanceof ZodError) {
      return problem(400, ErrorCodes.VALIDATION_FAILED, 'Request validation failed', requestId, { errors: zodFieldErrors(exception) });
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse() as { message?: unknown; code?: string; retry_after?: number } | string;
      const detail =
        typeof response === 'string' ? response : Array.isArray(response.message) ? response.message.join('; ') : String(response.message ?? exception.message);
      const code = (typeof response === 'object' && response.code) || HTTP_CODES[status] || (status >= 500 ? ErrorCodes.INTERNAL : `HTTP.${status}`);
      const extra = typeof response === 'object' && typeof response.retry_after === 'number' ? { retry_after: response.retry_after } : {};
      return problem(status, code, detail, requestId, extra);
    }
    // Fastify's own errors (body too large, bad JSON, wrong content type) carry a statusCode.
    const fe = exception as { statusCode?: number; code?: string; message?: string };
    if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      const code = HTTP_CODES[fe.statusCode] ?? `HTTP.${fe.statusCode}`;
      return problem(fe.statusCode, code, fe.message ?? 'Bad request', requestId);
    }
    return problem(500, ErrorCodes.INTERNAL, 'Internal error', requestId);
  }
}
