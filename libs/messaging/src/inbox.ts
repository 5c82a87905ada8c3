import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type ConsumerMessages, type JsMsg, type NatsHandles } from './nats-types';
import type { DataSource, EntityManager } from 'typeorm';
import { parseEventEnvelope, type EventEnvelope } from '@opsdesk/contracts';
import { Metrics, SpanKind, contextFromHeaders, withSpan } from '@opsdesk/observability';
import { isNotFound } from './nats';

export interface DeliveryMeta {
  subject: string;
  deliveryCount: number;
  streamSequence: number;
  /** NATS message headers (e.g. `traceparent`), lower-cased names; absent when the message had none */
  headers?: Record<string, string>;
}

/** An event handler runs inside the transaction that also records the event id in the inbox. */
export type InboxHandler = (event: EventEnvelope, manager: EntityManager, meta: DeliveryMeta) => Promise<void>;

/** A batch handler gets every new event of a batch at once, in stream order (fewer round trips). */
export type InboxBatchHandler = (items: Array<{ event: EventEnvelope; meta: DeliveryMeta }>, manager: EntityManager) => Promise<void>;

export interface InboxConsumerOptions {
  /** durable consumer name, also the inbox `consumer` key */
  durable: string;
  stream: string;
  /** full filter subject, e.g. `opsdesk.inventory.host.deleted` or `opsdesk.>` */
  filterSubject: string;
  schema: string;
  maxDeliver?: number;
  ackWaitMs?: number;
  batch?: number;
  logger?: { warn(msg: string): void; error(msg: string): void; log(msg: string): void };
  /**
   * Up to this many messages already delivered to the client are handled in one transaction (one commit,
   * one lock acquisition for chained writers). A failing event rolls the batch back and the batch is then
   * handled one message at a time, so only the bad message is retried or dead-lettered. Default 1.
   */
  transactionBatch?: number;
  /**
   * When set, every event goes to this handler, never to the single-event one: batches in one call (ids
   * claimed in one statement), a lone message or the one-at-a-time fallback after a failed batch as a
   * batch of one.
   */
  batchHandler?: InboxBatchHandler;
  /** test hook: runs after the transaction committed and before the ack (crash window) */
  afterCommit?: (event: EventEnvelope) => Promise<void> | void;
  /** the events subject prefix: when set, an event whose `source` is not its subject's producer is invalid */
  eventPrefix?: string;
}

/**
 * Durable pull consumer with explicit ack. Effects happen exactly once: the event id goes into the inbox
 * in the same transaction as the handler's effects; a redelivered id is acknowledged without effects.
 * Poison handling is explicit:
 *   - unparseable / invalid envelope -> dead-letter row + term (never redelivered, never blocks the stream)
 *   - handler error                 -> nak with exponential backoff
 *   - handler error on the last allowed delivery (MaxDeliver) -> dead-letter row + term, metric
 */
export class InboxConsumer {
  private messages: ConsumerMessages | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;
  private lagTimer: NodeJS.Timeout | null = null;
  readonly maxDeliver: number;
  private readonly consumed = Metrics.eventsConsumed();
  private readonly deadLetters = Metrics.deadLetters();
  private readonly invalid = Metrics.invalidMessages();
  private readonly lag = Metrics.consumerLag();

  constructor(
    private readonly nats: NatsHandles,
    private readonly dataSource: DataSource,
    private readonly handler: InboxHandler,
    private readonly opts: InboxConsumerOptions,
  ) {
    this.maxDeliver = opts.maxDeliver ?? 5;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.ensureConsumer();
    const consumer = await this.nats.js.consumers.get(this.opts.stream, this.opts.durable);
    // the client buffer is at least one transaction batch, so a full batch can be taken at once
    this.messages = await consumer.consume({ max_messages: Math.max(this.opts.batch ?? 100, this.opts.transactionBatch ?? 1) });
    const messages = this.messages;
    const maxBatch = Math.max(1, this.opts.transactionBatch ?? 1);
    this.loop = (async () => {
      const it = messages[Symbol.asyncIterator]();
      // A next() that did not resolve in time is kept for the following round, so no message is lost.
      let pending: Promise<IteratorResult<JsMsg>> | null = null;
      const take = () => (pending ??= it.next());
      const NONE = Symbol('none');
      for (;;) {
        const first = await take();
        pending = null;
        if (first.done) break;
        // Take only what is already buffered (never wait for more): batching adds no latency. A buffered
        // message resolves within the microtasks before setImmediate fires.
        const batch: JsMsg[] = [first.value];
        while (batch.length < maxBatch) {
          const r = await Promise.race([take(), new Promise<typeof NONE>((res) => setImmediate(() => res(NONE)))]);
          if (r === NONE) break;
          pending = null;
          if (r.done) break;
          batch.push(r.value);
        }
        const run = batch.length === 1 ? this.process(batch[0]) : this.processBatch(batch);
        await run.catch((err) => {
          this.opts.logger?.error(`consumer ${this.opts.durable}: unexpected ${(err as Error).stack ?? String(err)}`);
          for (const m of batch) m.nak(1000);
        });
        if (this.stopped) break;
      }
    })();
    this.lagTimer = setInterval(() => void this.updateLag(), 5000);
    this.lagTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.messages?.stop();
    await this.loop?.catch(() => undefined);
    this.messages = null;
    this.loop = null;
  }

  private async ensureConsumer(): Promise<void> {
    const config: Partial<ConsumerConfig> = {
      durable_name: this.opts.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.opts.filterSubject,
      // JetStream stops at max_deliver; our last attempt writes the dead letter and terms explicitly.
      max_deliver: this.maxDeliver,
      ack_wait: nanos(this.opts.ackWaitMs ?? 30_000),
      max_ack_pending: 1000,
    };
    try {
      const info = await this.nats.jsm.consumers.info(this.opts.stream, this.opts.durable);
      if (info.config.filter_subject !== config.filter_subject || info.config.max_deliver !== config.max_deliver) {
        await this.nats.jsm.consumers.update(this.opts.stream, this.opts.durable, {
          filter_subject: config.filter_subject,
          max_deliver: config.max_deliver,
          ack_wait: config.ack_wait,
        });
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.nats.jsm.consumers.add(this.opts.stream, config);
    }
  }

  private async updateLag(): Promise<void> {
    try {
      const info = await this.nats.jsm.consumers.info(this.opts.stream, this.opts.durable);
      this.lag.set({ consumer: this.opts.durable }, info.num_pending + info.num_ack_pending);
    } catch {
      // lag is best effort; NATS may be reconnecting
    }
  }

  /** Parses a message; invalid ones are dead-lettered and terminated here (null returned). */
  private async decode(m: JsMsg): Promise<{ event: EventEnvelope; meta: DeliveryMeta } | null> {
    const meta: DeliveryMeta = { subject: m.subject, deliveryCount: m.info.deliveryCount, streamSequence: m.seq };
    if (m.headers) {
      const headers: Record<string, string> = {};
      for (const k of m.headers.keys()) headers[k.toLowerCase()] = m.headers.get(k);
      meta.headers = headers;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(m.data).toString('utf8'));
    } catch (err) {
      await this.poison(m, meta, 'invalid', `not JSON: ${(err as Error).message}`, null);
      return null;
    }
    const parsed = parseEventEnvelope(raw);
    if (!parsed.ok) {
      const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : null;
      await this.poison(m, meta, 'invalid', parsed.error, id);
      return null;
    }
    const forged = this.opts.eventPrefix === undefined ? null : sourceMismatch(this.opts.eventPrefix, m.subject, parsed.event);
    if (forged) {
      await this.poison(m, meta, 'invalid', forged, parsed.event.id);
      return null;
    }
    return { event: parsed.event, meta };
  }

  private async claim(manager: EntityManager, eventId: string): Promise<boolean> {
    const inserted: unknown[] = await manager.query(
      `INSERT INTO "${this.opts.schema}".inbox (consumer, event_id) VALUES ($1, $2)
       ON CONFLICT DO NOTHING RETURNING event_id`,
      [this.opts.durable, eventId],
    );
    return inserted.length > 0;
  }

  private spanAttrs(m: JsMsg) {
    return { 'messaging.system': 'nats', 'messaging.destination.name': m.subject, 'messaging.consumer.group.name': this.opts.durable };
  }

  /** Claims every id of the batch in one statement and hands the new events to the batch handler. */
  private async applyBatch(
    items: Array<{ m: JsMsg; event: EventEnvelope; meta: DeliveryMeta }>,
    manager: EntityManager,
    batchHandler: InboxBatchHandler,
  ): Promise<boolean[]> {
    const claimed: Array<{ event_id: string }> = await manager.query(
      `INSERT INTO "${this.opts.schema}".inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])
       ON CONFLICT DO NOTHING RETURNING event_id`,
      [this.opts.durable, items.map((it) => it.event.id)],
    );
    const fresh = new Set(claimed.map((r) => r.event_id));
    const dup: boolean[] = [];
    const todo: Array<{ event: EventEnvelope; meta: DeliveryMeta }> = [];
    for (const it of items) {
      const isFresh = fresh.delete(it.event.id); // a second copy inside the same batch is a duplicate too
      dup.push(!isFresh);
      if (isFresh) todo.push({ event: it.event, meta: it.meta });
    }
    if (todo.length > 0) {
      const parent = contextFromHeaders((k) => items[0].m.headers?.get(k) || undefined);
      await withSpan(`consume batch of ${todo.length}`, SpanKind.CONSUMER, this.spanAttrs(items[0].m), () => batchHandler(todo, manager), parent);
    }
    return dup;
  }

  /** Several messages, one transaction; on any failure, falls back to one message at a time. */
  async processBatch(msgs: JsMsg[]): Promise<void> {
    const items: Array<{ m: JsMsg; event: EventEnvelope; meta: DeliveryMeta }> = [];
    for (const m of msgs) {
      const d = await this.decode(m);
      if (d) items.push({ m, ...d });
    }
    if (items.length === 0) return;
    let duplicates: boolean[];
    try {
      duplicates = await this.dataSource.transaction(async (manager) => {
        if (this.opts.batchHandler) return this.applyBatch(items, manager, this.opts.batchHandler);
        const dup: boolean[] = [];
        for (const it of items) {
          const fresh = await this.claim(manager, it.event.id);
          dup.push(!fresh);
          if (!fresh) continue;
          const parent = contextFromHeaders((k) => it.m.headers?.get(k) || undefined);
          await withSpan(`consume ${it.event.type}`, SpanKind.CONSUMER, this.spanAttrs(it.m), () => this.handler(it.event, manager, it.meta), parent);
        }
        return dup;
      });
    } catch {
      for (const it of items) await this.process(it.m);
      return;
    }
    for (let i = 0; i < items.length; i++) {
      if (this.opts.afterCommit) await this.opts.afterCommit(items[i].event);
      items[i].m.ack();
      this.consumed.inc({ consumer: this.opts.durable, outcome: duplicates[i] ? 'duplicate' : 'ok' });
    }
  }

  /** Handles one message in its own transaction. */
  async process(m: JsMsg): Promise<void> {
    const decoded = await this.decode(m);
    if (!decoded) return;
    const { event, meta } = decoded;
    const parent = contextFromHeaders((k) => m.headers?.get(k) || undefined);
    try {
      await withSpan(
        `consume ${event.type}`,
        SpanKind.CONSUMER,
        this.spanAttrs(m),
        async () => {
          let duplicate = false;
          await this.dataSource.transaction(async (manager) => {
            if (!(await this.claim(manager, event.id))) {
              duplicate = true;
              return;
            }
            // a batch consumer sees a lone message as a batch of one: the same code path for every event
            if (this.opts.batchHandler) await this.opts.batchHandler([{ event, meta }], manager);
            else await this.handler(event, manager, meta);
          });
          if (this.opts.afterCommit) await this.opts.afterCommit(event);
          m.ack();
          this.consumed.inc({ consumer: this.opts.durable, outcome: duplicate ? 'duplicate' : 'ok' });
        },
        parent,
      );
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (meta.deliveryCount >= this.maxDeliver) {
        return this.poison(m, meta, 'max_deliver', message, event.id, event);
      }
      const delay = Math.min(500 * 2 ** (meta.deliveryCount - 1), 30_000);
      this.opts.logger?.warn(`consumer ${this.opts.durable}: ${event.type} ${event.id} failed (delivery ${meta.deliveryCount}), retry in ${delay} ms: ${message}`);
      this.consumed.inc({ consumer: this.opts.durable, outcome: 'retry' });
      m.nak(delay);
    }
  }

  private async poison(
    m: JsMsg,
    meta: DeliveryMeta,
    reason: 'invalid' | 'max_deliver',
    error: string,
    eventId: string | null,
    _event?: EventEnvelope,
  ): Promise<void> {
    try {
      await this.dataSource.query(
        `INSERT INTO "${this.opts.schema}".dead_letters (consumer, event_id, subject, stream_seq, payload, reason, error, deliveries)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [this.opts.durable, eventId, meta.subject, meta.streamSequence, Buffer.from(m.data).toString('utf8').slice(0, 1_000_000), reason, error.slice(0, 4000), meta.deliveryCount],
      );
    } catch (dbErr) {
      // Without the dead-letter row we must not drop the message: retry later.
      this.opts.logger?.error(`consumer ${this.opts.durable}: cannot write dead letter: ${(dbErr as Error).message}`);
      m.nak(5000);
      return;
    }
    if (reason === 'invalid') this.invalid.inc({ consumer: this.opts.durable });
    else this.deadLetters.inc({ consumer: this.opts.durable });
    this.consumed.inc({ consumer: this.opts.durable, outcome: reason });
    this.opts.logger?.warn(`consumer ${this.opts.durable}: message seq ${meta.streamSequence} on ${meta.subject} dead-lettered (${reason}): ${error}`);
    m.term(reason);
  }
}

/**
 * An event's `source` is its authenticated producer: only <svc> may publish `<prefix>.<svc>.…` (NATS
 * permissions, nats-permissions.ts), so the subject proves who sent it and the payload must agree with it.
 * Returns why it does not, or null.
 */
export function sourceMismatch(eventPrefix: string, subject: string, event: Pick<EventEnvelope, 'type' | 'source'>): string | null {
  if (subject !== `${eventPrefix}.${event.type}`) return `type ${event.type} does not match subject ${subject}`;
  const producer = event.type.split('.')[0];
  if (event.source !== producer) return `source ${event.source} is not the producer ${producer} that published ${subject}`;
  return null;
}
