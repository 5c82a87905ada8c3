import { Controller, DynamicModule, Get, Header, HttpCode, Inject, Module, Res, SetMetadata, type Provider } from '@nestjs/common';
import { PUBLIC_ROUTE_METADATA } from '@opsdesk/contracts';
import type { FastifyReply } from 'fastify';
import { metricsRegistry } from './metrics';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

@SetMetadata(PUBLIC_ROUTE_METADATA, true)
@Controller()
class HealthController {
  constructor(@Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[]) {}

  /** Alive: the process answers. Never touches dependencies, so a DB outage does not restart pods. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready: every dependency this service needs (DB, NATS) is usable right now. */
  @Get('readyz')
  @HttpCode(200)
  async readyz(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: string; checks: Record<string, string> }> {
    const results = await Promise.all(this.checks.map(async (c) => [c.name, await c.check().catch(() => false)] as const));
    const checks = Object.fromEntries(results.map(([n, ok]) => [n, ok ? 'ok' : 'fail']));
    const ready = results.every(([, ok]) => ok);
    if (!ready) reply.status(503);
    return { status: ready ? 'ready' : 'not_ready', checks };
  }

  @Get('metrics')
  @Header('Content-Type', metricsRegistry.contentType)
  async metrics(): Promise<string> {
    return metricsRegistry.metrics();
  }
}

@Module({})
export class HealthModule {
  /** `checks` is a provider that resolves to ReadinessCheck[] (so it can inject DataSource, NATS, ...). */
  static forRoot(checks: Omit<Provider, 'provide'> & { useFactory: (...args: never[]) => ReadinessCheck[] | Promise<ReadinessCheck[]>; inject?: unknown[] }): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [{ provide: READINESS_CHECKS, useFactory: checks.useFactory, inject: (checks.inject ?? []) as never[] }],
    };
  }
}
