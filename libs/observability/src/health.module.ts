import { Controller, DynamicModule, type OnModuleDestroy, Get, Header, HttpCode, Inject, Module, Res, SetMetadata, type Provider } from '@nestjs/common';
import { PUBLIC_ROUTE_METADATA } from '@opsdesk/contracts';
import type { FastifyReply } from 'fastify';
import { gauge, metricsRegistry } from './metrics';
import { untraced } from './tracing';

export interface ReadinessCheck {
  name: string;
  /** true when usable; false or `{ok: false, reason}` when not (the reason is shown by /readyz) */
  check: () => Promise<boolean | { ok: boolean; reason?: string }>;
}
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/** the checks of every live HealthController of the process (one in production; tests may boot several apps) */
const scrapedChecks = new Set<ReadinessCheck[]>();

async function runCheck(c: ReadinessCheck): Promise<{ ok: boolean; reason?: string }> {
  const r = await c.check().catch((err: Error) => ({ ok: false, reason: err.message }));
  return typeof r === 'boolean' ? { ok: r } : r;
}

@SetMetadata(PUBLIC_ROUTE_METADATA, true)
@Controller()
class HealthController implements OnModuleDestroy {
  constructor(@Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[]) {
    // The same checks as /readyz, run at scrape time: Prometheus scrapes /metrics, not /readyz, and
    // OpsDeskServiceNotReady needs to see what the load balancer sees.
    scrapedChecks.add(this.checks);
    gauge('opsdesk_readiness_check_ok', '1 when the readiness check (database, nats, consumers, ...) passes, 0 when /readyz would fail on it', ['check'], async function collect() {
      const results = await untraced(() => Promise.all([...scrapedChecks].flat().map(async (c) => [c.name, (await runCheck(c)).ok] as const)));
      this.reset();
      // one app per process in production; apps booted together (tests) report a check failed if any app fails it
      const merged = new Map<string, boolean>();
      for (const [name, ok] of results) merged.set(name, (merged.get(name) ?? true) && ok);
      for (const [name, ok] of merged) this.set({ check: name }, ok ? 1 : 0);
    });
  }

  onModuleDestroy(): void {
    scrapedChecks.delete(this.checks);
  }

  /** Alive: the process answers. Never touches dependencies, so a DB outage does not restart pods. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready: every dependency this service needs (DB, NATS) is usable right now. */
  @Get('readyz')
  @HttpCode(200)
  async readyz(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: string; checks: Record<string, string>; reasons?: Record<string, string> }> {
    const results = await Promise.all(this.checks.map(async (c) => ({ name: c.name, ...(await runCheck(c)) })));
    const checks = Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : 'fail']));
    const reasons = Object.fromEntries(results.filter((r) => !r.ok && r.reason).map((r) => [r.name, r.reason as string]));
    const ready = results.every((r) => r.ok);
    if (!ready) reply.status(503);
    return { status: ready ? 'ready' : 'not_ready', checks, ...(Object.keys(reasons).length ? { reasons } : {}) };
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
