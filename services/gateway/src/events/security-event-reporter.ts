import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { NewEvent } from '@opsdesk/contracts';
import { counter } from '@opsdesk/observability';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { SecurityEventAggregator } from '../security/security-event-aggregator';
import { GatewayEventPublisher } from './gateway-event.publisher';

const securityEvents = () =>
  counter('opsdesk_gateway_security_events_total', 'Refused requests (403 denials, 429 rate limits) seen by the gateway, before aggregation', ['type', 'reason']);

/**
 * Every gateway.request.denied / gateway.rate.limited goes through here: counted in full (the alert on flood
 * rate reads the counter), written to the audit trail aggregated per (source IP, route, reason) and window.
 */
@Injectable()
export class SecurityEventReporter implements OnModuleDestroy {
  private readonly aggregator: SecurityEventAggregator;
  private readonly timer: NodeJS.Timeout;
  private readonly counted = securityEvents();

  constructor(events: GatewayEventPublisher, @Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    const windowMs = config.SECURITY_EVENT_WINDOW_SECONDS * 1000;
    this.aggregator = new SecurityEventAggregator((e) => events.emit(e), { windowMs, maxKeys: config.SECURITY_EVENT_MAX_KEYS });
    this.timer = setInterval(() => this.aggregator.flush(), Math.max(250, Math.floor(windowMs / 4)));
    this.timer.unref();
  }

  report(event: NewEvent, reason: string): void {
    this.counted.inc({ type: event.type, reason });
    this.aggregator.report(event, reason);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    // the open windows' summaries still go out (the publisher drains before shutdown)
    this.aggregator.flush(true);
  }
}
