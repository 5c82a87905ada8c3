import { HttpException, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, throwError, type Observable } from 'rxjs';
import { AppError } from '@opsdesk/contracts';
import { RpcCallError } from '@opsdesk/messaging';
import { statusForCode } from '../common/problem';
import type { AuthedRequest } from '../common/request-context';
import { SecurityEventReporter } from './security-event-reporter';
import { deniedEvent } from './security-events';

/**
 * 403s that do not come from the RBAC guard (that one reports through DENIED_LISTENER, and guard
 * refusals never reach interceptors): a service answering FORBIDDEN/…DENIED, or a handler's own 403.
 */
@Injectable()
export class ForbiddenEventsInterceptor implements NestInterceptor {
  constructor(private readonly events: SecurityEventReporter) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((err: unknown) => {
        const code = err instanceof RpcCallError ? err.code : err instanceof AppError ? err.code : undefined;
        const status = code ? statusForCode(code) : err instanceof HttpException ? err.getStatus() : 0;
        if (status === 403 && context.getType() === 'http') {
          this.events.report(deniedEvent(context.switchToHttp().getRequest<AuthedRequest>(), { code }), code ?? 'forbidden');
        }
        return throwError(() => err);
      }),
    );
  }
}
