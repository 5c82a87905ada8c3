import { Global, Module } from '@nestjs/common';
import { ForbiddenEventsReporter } from './forbidden-events.reporter';
import { GatewayEventPublisher } from './gateway-event.publisher';
import { SecurityEventReporter } from './security-event-reporter';

/** The gateway's event publisher (no database: bounded retry buffer) and the 403 reporter. */
@Global()
@Module({
  providers: [GatewayEventPublisher, SecurityEventReporter, ForbiddenEventsReporter],
  exports: [GatewayEventPublisher, SecurityEventReporter],
})
export class GatewayEventsModule {}
