import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { headers as natsHeaders, type JetStreamClient } from 'nats';
import { eventEnvelopeSchema, eventSubject, type EventEnvelope, type NewEvent } from '@opsdesk/contracts';
import { NATS_HANDLES, type NatsHandles } from '@opsdesk/messaging';
import { counter, gauge, traceHeaders } from '@opsdesk/observability';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';

export interface PublisherOptions {
  subjectPrefix: string;
  /** events kept while NATS is unreachable; beyond this, new events are dropped and counted */
  maxBuffered?: number;
  publishTimeoutMs?: number;
  maxBackoffMs?: number;
}

/** every buffer of this process (several gateways run in one test process), for the gauge */
const liveBuffers = new Set<GatewayEventBuffer>();

interface Pending {
  subject: string;
  envelope: EventEnvelope;
  headers: Record<string, string>;
}

/**
 * The gateway's own events (gateway.request.denied, gateway.rate.limited). The gateway has no database,
 * so no outbox: events go into a bounded in-memory buffer that is published in order with JetStream
 * `js.publish` and retried with backoff while NATS blips. Nats-Msg-Id = event id, so a retry after a
 * lost ack is dropped by the stream's duplicate window. A full buffer drops new events and counts them
 * (opsdesk_gateway_events_dropped_total): a request is never slowed down or failed by auditing it.
 */
export class GatewayEventBuffer {
  private readonly queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private stopped = false;
  private failures = 0;
  private readonly maxBuffered: number;
  private readonly dropped = counter('opsdesk_gateway_events_dropped_total', 'Gateway events dropped (retry buffer full or shutdown)', ['type']);
  private readonly published = counter('opsdesk_gateway_events_published_total', 'Gateway events published to JetStream', ['type']);
  private readonly retries = counter('opsdesk_gateway_events_publish_failures_total', 'Failed gateway event publish attempts (retried)');

  constructor(
    private readonly js: Pick<JetStreamClient, 'publish'>,
    private readonly opts: PublisherOptions,
    private readonly logger?: { warn(msg: string): void },
  ) {
    this.maxBuffered = opts.maxBuffered ?? 10_000;
    liveBuffers.add(this);
    gauge('opsdesk_gateway_events_buffered', 'Gateway events waiting to be published', [], function collect() {
      let n = 0;
      for (const b of liveBuffers) n += b.size;
      this.set(n);
    });
  }

  get size(): number {
    return this.queue.length;
  }

  /** Never throws and never waits: the event is queued (or dropped and counted when the buffer is full). */
  emit(event: NewEvent): EventEnvelope | null {
    const envelope: EventEnvelope = {
      id: randomUUID(),
      type: event.type,
      version: event.version ?? 1,
      occurred_at: new Date().toISOString(),
      source: 'gateway',
      actor: event.actor,
      request_id: event.request_id,
      subject: event.subject,
      data: event.data,
    };
    const valid = eventEnvelopeSchema.safeParse(envelope);
    if (!valid.success || this.stopped || this.queue.length >= this.maxBuffered) {
      this.dropped.inc({ type: event.type });
      this.logger?.warn(`gateway event ${event.type} dropped (${!valid.success ? 'invalid envelope' : this.stopped ? 'shutting down' : 'buffer full'})`);
      return null;
    }
    this.queue.push({ subject: eventSubject(this.opts.subjectPrefix, event.type), envelope, headers: traceHeaders() });
    this.kick();
    return envelope;
  }

  private kick(): void {
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
      if (this.queue.length > 0 && !this.stopped) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const next = this.queue[0];
      try {
        const h = natsHeaders();
        for (const [k, v] of Object.entries(next.headers)) h.set(k, v);
        await this.js.publish(next.subject, Buffer.from(JSON.stringify(next.envelope)), {
          msgID: next.envelope.id,
          headers: h,
          timeout: this.opts.publishTimeoutMs ?? 5000,
        });
        this.queue.shift();
        this.failures = 0;
        this.published.inc({ type: next.envelope.type });
      } catch (err) {
        this.failures++;
        this.retries.inc();
        const delay = Math.min(100 * 2 ** Math.min(this.failures, 10), this.opts.maxBackoffMs ?? 5000);
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.logger?.warn(`gateway events: publish failed (${(err as Error).message}); ${this.queue.length} buffered, retrying in ${delay} ms`);
        }
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  /** Gives the buffer a last chance to drain, then counts what is left as dropped. */
  async close(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      this.kick();
      await new Promise((r) => setTimeout(r, 25));
    }
    this.stopped = true;
    liveBuffers.delete(this);
    for (const p of this.queue.splice(0)) this.dropped.inc({ type: p.envelope.type });
    await this.draining;
  }
}

/** Nest wrapper: one buffer per gateway process, publishing under EVENTS_SUBJECT_PREFIX. */
@Injectable()
export class GatewayEventPublisher implements BeforeApplicationShutdown {
  readonly buffer: GatewayEventBuffer;

  constructor(@Inject(NATS_HANDLES) nats: NatsHandles, @Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.buffer = new GatewayEventBuffer(nats.js, { subjectPrefix: config.EVENTS_SUBJECT_PREFIX }, new Logger('GatewayEvents'));
  }

  emit(event: NewEvent): EventEnvelope | null {
    return this.buffer.emit(event);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.buffer.close();
  }
}
