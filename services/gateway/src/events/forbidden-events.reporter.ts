import { HttpException, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppError } from '@opsdesk/contracts';
import { isReportedDenial } from '@opsdesk/authn';
import { RpcCallError } from '@opsdesk/messaging';
import { statusForCode } from '../common/problem';
import type { AuthedRequest } from '../common/request-context';
import { SecurityEventReporter } from './security-event-reporter';
import { deniedEvent } from './security-events';

type ForbiddenHook = (err: unknown, req: AuthedRequest) => void;

/** The hook of each gateway app, by its Fastify instance (tests boot several gateways in one process). */
const hooks = new WeakMap<object, ForbiddenHook>();

/**
 * Reports 403s that do not come from the RBAC guard (that one reports through DENIED_LISTENER): a service
 * answering FORBIDDEN/…DENIED, or a handler's own 403. Called by ProblemFilter, which sees every error of a
 * route; this used to be a global interceptor, and Nest's interceptor chain cost every request an
 * AsyncResource and two rxjs defers (docs/PERFORMANCE.md).
 */
export function reportForbidden(err: unknown, req: AuthedRequest): void {
  const server = (req as { server?: object }).server;
  if (server) hooks.get(server)?.(err, req);
}

@Injectable()
export class ForbiddenEventsReporter implements OnModuleInit {
  constructor(
    private readonly events: SecurityEventReporter,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const server = this.adapterHost.httpAdapter?.getInstance() as object | undefined;
    if (!server) return;
    hooks.set(server, (err, req) => {
      if (isReportedDenial(err)) return;
      const code = err instanceof RpcCallError ? err.code : err instanceof AppError ? err.code : undefined;
      const status = code ? statusForCode(code) : err instanceof HttpException ? err.getStatus() : 0;
      if (status === 403) this.events.report(deniedEvent(req, { code }), code ?? 'forbidden');
    });
  }
}
