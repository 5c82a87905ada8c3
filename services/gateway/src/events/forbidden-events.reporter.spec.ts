import { ForbiddenException, NotFoundException } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { ErrorCodes, type NewEvent } from '@opsdesk/contracts';
import { PERMISSION, PermissionsGuard } from '@opsdesk/authn';
import { RpcCallError } from '@opsdesk/messaging';
import type { AuthedRequest } from '../common/request-context';
import { ForbiddenEventsReporter, reportForbidden } from './forbidden-events.reporter';
import type { SecurityEventReporter } from './security-event-reporter';

describe('403s reported from the problem filter (no interceptor)', () => {
  const server = {};
  const reported: Array<{ event: NewEvent; reason: string }> = [];
  const events = { report: (event: NewEvent, reason: string) => void reported.push({ event, reason }) } as unknown as SecurityEventReporter;
  new ForbiddenEventsReporter(events, { httpAdapter: { getInstance: () => server } } as unknown as HttpAdapterHost).onModuleInit();
  const req = { id: 'r1', server, method: 'GET', url: '/api/hosts', routeOptions: { url: '/api/hosts' }, headers: {}, ip: '203.0.113.5' } as unknown as AuthedRequest;

  beforeEach(() => (reported.length = 0));

  it('reports a service refusal and a handler 403, once each', () => {
    reportForbidden(new RpcCallError({ code: ErrorCodes.FORBIDDEN, message: 'no' }), req);
    reportForbidden(new ForbiddenException('mine'), req);
    expect(reported.map((r) => [r.event.type, r.reason])).toEqual([
      ['gateway.request.denied', ErrorCodes.FORBIDDEN],
      ['gateway.request.denied', 'forbidden'],
    ]);
  });

  it('leaves the RBAC guard refusals (reported by the guard) and other statuses alone', () => {
    const guard = new PermissionsGuard({ getAllAndOverride: (key: string) => (key === PERMISSION ? 'audit:read' : undefined) } as never, () => undefined);
    const ctx = { getHandler: () => undefined, getClass: () => undefined, switchToHttp: () => ({ getRequest: () => ({ user: { kind: 'session', role: 'viewer', user_id: 'u1' } }) }) };
    let refusal: unknown;
    try {
      guard.canActivate(ctx as never);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(ForbiddenException);
    reportForbidden(refusal, req);
    reportForbidden(new NotFoundException(), req);
    reportForbidden(new RpcCallError({ code: ErrorCodes.NOT_FOUND, message: 'gone' }), req);
    // another app (another Fastify instance) has its own hook: none here
    reportForbidden(new ForbiddenException('x'), { ...req, server: {} } as unknown as AuthedRequest);
    expect(reported).toEqual([]);
  });
});
