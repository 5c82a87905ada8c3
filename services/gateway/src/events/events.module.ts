import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { ForbiddenEventsInterceptor } from './forbidden-events.interceptor';
import { GatewayEventPublisher } from './gateway-event.publisher';
import { SecurityEventReporter } from './security-event-reporter';

/** The gateway's event publisher (no database: bounded retry buffer) and the 403 reporter. */
@Global()
@Module({
  providers: [GatewayEventPublisher, SecurityEventReporter, { provide: APP_INTERCEPTOR, useClass: ForbiddenEventsInterceptor }],
  exports: [GatewayEventPublisher, SecurityEventReporter],
})
export class GatewayEventsModule {}
