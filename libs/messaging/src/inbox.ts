import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type ConsumerMessages, type JsMsg, type NatsHandles } from './nats-types';
import type { DataSource, EntityManager } from 'typeorm';
import { parseEventEnvelope, type EventEnvelope } from '@opsdesk/contracts';
import { Metrics, SpanKind, contextFromHeaders, untraced, withSpan } from '@opsdesk/observability';
import { recordConsumerInfo } from './nats-metrics';
import { isNatsUsable, isNotFound } from './nats';
import { classifyFailure } from './failures';

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
  /**
   * Says whether the consumer's dependencies are usable: null when they are, else the reason. Default:
   * the database answers `SELECT 1` and the NATS connection flushes, each within 2 s.
   */
  probe?: () => Promise<string | null>;
  /** pause probing backoff: first wait and cap (ms); default 250 and 5000 */
  pauseBackoffMs?: { initial: number; max: number };
  /** the events subject prefix: when set, an event whose `source` is not its subject's producer is invalid */
  eventPrefix?: string;
  /**
   * The event types the handler has an effect for, when the filter subject is wider (nats-server 2.9 allows one
   * filter subject per consumer, and event subjects are part of the contract). Any other type is validated like
   * every message (an invalid or forged one is still dead-lettered) and then acknowledged without a transaction:
   * no inbox row, no handler call — nothing happened, so there is nothing to make exactly-once. Counted as
   * outcome `ignored`. Unset: every event goes to the handler.
   */
  handles?: ReadonlySet<string>;
}

/** What /readyz and the logs say about a consumer. */
export interface ConsumerStatus {
  durable: string;
  state: 'running' | 'paused' | 'stopped';
  /** why it paused (the dependency that is down) */
  reason?: string;
  /** when it paused (ISO time) */
  since?: string;
}

/** A dependency is down: the consumer stops pulling until the probe says it is back. */
interface Pause {
  reason: string;
}


/**
 * Durable pull consumer with explicit ack. Effects happen exactly once: the event id goes into the inbox
 * in the same transaction as the handler's effects; a redelivered id is acknowledged without effects.
 *
 * Failure policy (docs/ARCHITECTURE.md, "Reliability rules"): a message is dead-lettered only for its own
 * faults, never because a dependency is down, and it is never both unrecorded and un-dead-lettered.
 *   - unparseable / invalid envelope          -> dead-letter row + term (never redelivered, never blocks)
 *   - handler fails while the dependencies are healthy and the error is the message's (classifyFailure)
 *                                             -> the attempt is recorded in `inbox_failures`; nak with
 *                                                exponential backoff; at maxDeliver attempts -> dead-letter
 *                                                row + term, metric
 *   - a dependency is down (the probe fails)  -> nothing is counted; the consumer PAUSES: it stops pulling,
 *                                                hands back (nak) what it holds, probes with capped backoff
 *                                                and resumes when the database and NATS answer again
 *   - a dependency-shaped error while the probe is healthy (deadlock, lock timeout, a blip)
 *                                             -> nak with capped backoff, not counted
 *   - any write of the failure path (attempt, dead letter) fails -> pause, the message stays in JetStream
 * JetStream itself never gives up on a message (max_deliver -1): only this code decides to dead-letter, and
 * only after the dead-letter row is committed does it `term`.
 */
export class InboxConsumer {
  private messages: ConsumerMessages | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;
  private wakeStop: (() => void) | null = null;
  private lagTimer: NodeJS.Timeout | null = null;
  private pausedAt: Date | null = null;
  private pauseReason: string | null = null;
  /** messages acked/nak'd/termed already: a pause hands back (naks) only the others */
  private readonly settled = new WeakSet<JsMsg>();
  readonly maxDeliver: number;
  private readonly consumed = Metrics.eventsConsumed();
  private readonly deadLetters = Metrics.deadLetters();
  private readonly invalid = Metrics.invalidMessages();
  private readonly lag = Metrics.consumerLag();
  private readonly pausedGauge = Metrics.consumerPaused();

  constructor(
    private readonly nats: NatsHandles,
    private readonly dataSource: DataSource,
    private readonly handler: InboxHandler,
    private readonly opts: InboxConsumerOptions,
  ) {
    this.maxDeliver = opts.maxDeliver ?? 5;
  }

  get durable(): string {
    return this.opts.durable;
  }

  status(): ConsumerStatus {
    if (this.stopped || !this.loop) return { durable: this.opts.durable, state: 'stopped' };
    if (this.pausedAt) return { durable: this.opts.durable, state: 'paused', reason: this.pauseReason ?? undefined, since: this.pausedAt.toISOString() };
    return { durable: this.opts.durable, state: 'running' };
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.ensureConsumer();
    // the first subscription is made here so a broken setup fails the boot; later ones by the loop
    const first = await this.subscribe();
    const stopSignal = new Promise<void>((resolve) => (this.wakeStop = resolve));
    this.loop = this.run(first, stopSignal);
    this.pausedGauge.set({ consumer: this.opts.durable }, 0);
    // background polling: never a root trace of its own
    this.lagTimer = setInterval(() => void untraced(() => this.updateLag()), 5000);
    this.lagTimer.unref();
  }

  /**
   * Stops taking messages, finishes the batch in hand, hands back (nak) what was buffered so another
   * replica takes it at once, and returns when the loop has ended.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeStop?.();
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.messages?.stop();
    await this.loop?.catch(() => undefined);
    this.messages = null;
    this.loop = null;
  }

  private async subscribe(): Promise<ConsumerMessages> {
    const consumer = await this.nats.js.consumers.get(this.opts.stream, this.opts.durable);
    // the client buffer is at least one transaction batch, so a full batch can be taken at once
    this.messages = await consumer.consume({ max_messages: Math.max(this.opts.batch ?? 100, this.opts.transactionBatch ?? 1) });
    return this.messages;
  }

  /** Consume sessions separated by pauses, until stopped. */
  private async run(first: ConsumerMessages, stopSignal: Promise<void>): Promise<void> {
    let messages: ConsumerMessages | null = first;
    let backoff = this.opts.pauseBackoffMs?.initial ?? 250;
    const maxBackoff = this.opts.pauseBackoffMs?.max ?? 5000;
    while (!this.stopped) {
      if (!messages) {
        try {
          messages = await this.subscribe();
          backoff = this.opts.pauseBackoffMs?.initial ?? 250;
        } catch (err) {
          // NATS is unreachable or the consumer is gone: try again, never give up
          this.opts.logger?.warn(`consumer ${this.opts.durable}: cannot subscribe (${(err as Error).message}), retry in ${backoff} ms`);
          await this.sleep(backoff, stopSignal);
          backoff = Math.min(backoff * 2, maxBackoff);
          continue;
        }
      }
      const pause = await this.session(messages);
      messages = null;
      if (this.stopped) break;
      if (pause) await this.pauseUntilHealthy(pause, stopSignal);
      else await this.sleep(backoff, stopSignal); // the iterator ended by itself (consumer deleted?): resubscribe
    }
  }

  /** Takes batches from one subscription; returns a Pause when a dependency failed, null when it ended. */
  private async session(messages: ConsumerMessages): Promise<Pause | null> {
    const maxBatch = Math.max(1, this.opts.transactionBatch ?? 1);
    const it = messages[Symbol.asyncIterator]();
    // A next() that did not resolve in time is kept for the following round, so no message is lost.
    let pending: Promise<IteratorResult<JsMsg>> | null = null;
    const take = () => (pending ??= it.next());
    const NONE = Symbol('none');
    let pause: Pause | null = null;
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
      // Slow work (a long probe, a big batch) must not let the ack deadline pass: JetStream would deliver a
      // second copy while the first is still in hand, and both would count an attempt.
      const keepalive = setInterval(() => {
        for (const m of batch) if (!this.settled.has(m)) m.working();
      }, Math.max(100, Math.floor((this.opts.ackWaitMs ?? 30_000) / 3)));
      try {
        pause = batch.length === 1 ? await this.process(batch[0]) : await this.processBatch(batch);
      } catch (err) {
        // a bug in this class, not in the message: hand the batch back and let the pause probe decide
        this.opts.logger?.error(`consumer ${this.opts.durable}: unexpected ${(err as Error).stack ?? String(err)}`);
        pause = { reason: `unexpected error: ${(err as Error).message}` };
      }
      clearInterval(keepalive);
      if (pause || this.stopped) {
        for (const m of batch) this.handBack(m);
        break;
      }
    }
    // Stop pulling; whatever the client still buffers goes back to JetStream now (redelivered to whoever
    // pulls next) instead of waiting for the ack deadline.
    messages.stop();
    if (pending) await this.handBackRest(pending, it);
    else await this.handBackRest(null, it);
    return pause;
  }

  private async handBackRest(pending: Promise<IteratorResult<JsMsg>> | null, it: AsyncIterator<JsMsg>): Promise<void> {
    const deadline = Date.now() + 1000;
    let next = pending ?? it.next();
    while (Date.now() < deadline) {
      const r = await Promise.race([next, new Promise<null>((res) => setTimeout(() => res(null), Math.max(1, deadline - Date.now())).unref())]);
      if (!r || r.done) return;
      this.handBack(r.value);
      next = it.next();
    }
  }

  /** nak without delay a message nobody settled, so it is redelivered as soon as someone pulls. */
  private handBack(m: JsMsg): void {
    if (this.settled.has(m)) return;
    this.settled.add(m);
    m.nak();
  }

  /** A valid event of a type the handler has no effect for (`handles`): acknowledged here, nothing else. */
  private ignores(m: JsMsg, event: EventEnvelope): boolean {
    if (!this.opts.handles || this.opts.handles.has(event.type)) return false;
    this.ack(m);
    this.consumed.inc({ consumer: this.opts.durable, outcome: 'ignored' });
    return true;
  }

  private ack(m: JsMsg): void {
    this.settled.add(m);
    m.ack();
  }

  private nak(m: JsMsg, delayMs: number): void {
    this.settled.add(m);
    m.nak(delayMs);
  }

  private term(m: JsMsg, reason: string): void {
    this.settled.add(m);
    // No reason on the wire: nats-server 2.9 does not recognise `+TERM <reason>` and redelivers the message
    // (found by the fault suite's poison run). The reason is in the dead-letter row and the log instead.
    void reason;
    m.term();
  }

  private async pauseUntilHealthy(pause: Pause, stopSignal: Promise<void>): Promise<void> {
    this.pausedAt = new Date();
    this.pauseReason = pause.reason;
    this.pausedGauge.set({ consumer: this.opts.durable }, 1);
    this.opts.logger?.warn(`consumer ${this.opts.durable}: paused, ${pause.reason}`);
    let wait = this.opts.pauseBackoffMs?.initial ?? 250;
    const maxWait = this.opts.pauseBackoffMs?.max ?? 5000;
    try {
      while (!this.stopped) {
        await this.sleep(wait, stopSignal);
        if (this.stopped) return;
        const reason = await this.probe();
        if (!reason) break;
        this.pauseReason = reason;
        wait = Math.min(wait * 2, maxWait);
      }
      const seconds = ((Date.now() - this.pausedAt.getTime()) / 1000).toFixed(1);
      this.opts.logger?.log(`consumer ${this.opts.durable}: resumed after ${seconds} s`);
    } finally {
      this.pausedAt = null;
      this.pauseReason = null;
      this.pausedGauge.set({ consumer: this.opts.durable }, 0);
    }
  }

  private sleep(ms: number, stopSignal: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      void stopSignal.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** null when the database and NATS are usable, else which one is not. */
  private async probe(): Promise<string | null> {
    if (this.opts.probe) return this.opts.probe();
    const db = await Promise.race([
      this.dataSource.query('SELECT 1').then(
        () => null,
        (err: Error) => `database unavailable: ${err.message}`,
      ),
      new Promise<string>((res) => setTimeout(() => res('database unavailable: no answer in 2 s'), 2000).unref()),
    ]);
    if (db) return db;
    if (!(await isNatsUsable(this.nats.nc))) return 'NATS unavailable';
    return null;
  }

  private async ensureConsumer(): Promise<void> {
    const config: Partial<ConsumerConfig> = {
      durable_name: this.opts.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.opts.filterSubject,
      // JetStream never drops a message on its own: after max_deliver it would stop redelivering one
      // whose last attempt failed because our database was down. Only our code dead-letters.
      max_deliver: -1,
      ack_wait: nanos(this.opts.ackWaitMs ?? 30_000),
      max_ack_pending: 1000,
    };
    try {
      const info = await this.nats.jsm.consumers.info(this.opts.stream, this.opts.durable);
      if (
        info.config.filter_subject !== config.filter_subject ||
        info.config.max_deliver !== config.max_deliver ||
        info.config.ack_wait !== config.ack_wait
      ) {
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
      recordConsumerInfo(info);
    } catch {
      // lag is best effort; NATS may be reconnecting
    }
  }

  /** Parses a message; invalid ones are dead-lettered and terminated here (`invalid`). */
  private async decode(m: JsMsg): Promise<{ event: EventEnvelope; meta: DeliveryMeta } | 'invalid' | Pause> {
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
      return (await this.deadLetter(m, meta, 'invalid', `not JSON: ${(err as Error).message}`, null)) ?? 'invalid';
    }
    const parsed = parseEventEnvelope(raw);
    if (!parsed.ok) {
      const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : null;
      return (await this.deadLetter(m, meta, 'invalid', parsed.error, id)) ?? 'invalid';
    }
    const forged = this.opts.eventPrefix === undefined ? null : sourceMismatch(this.opts.eventPrefix, m.subject, parsed.event);
    // the subject names the producer NATS let publish it: a `source` claiming another one is forged
    if (forged) return (await this.deadLetter(m, meta, 'invalid', forged, parsed.event.id)) ?? 'invalid';
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
    if (todo.length > 0) await batchHandler(todo, manager);
    return dup;
  }

  /**
   * Several messages, one transaction. A dependency failure pauses with the whole batch handed back; any
   * other failure falls back to one message at a time, so only the bad message is retried or dead-lettered.
   */
  async processBatch(msgs: JsMsg[]): Promise<Pause | null> {
    const items: Array<{ m: JsMsg; event: EventEnvelope; meta: DeliveryMeta }> = [];
    for (const m of msgs) {
      const d = await this.decode(m);
      if (d === 'invalid') continue;
      if ('reason' in d) return d;
      if (this.ignores(m, d.event)) continue;
      items.push({ m, ...d });
    }
    if (items.length === 0) return null;
    let duplicates: boolean[];
    // one span for the batch's whole transaction (claims, handler, commit), so none of its SQL is a root of its
    // own: it continues the first event's trace and links to the publish span of every event
    const producers = items.map((it) => contextFromHeaders((k) => it.m.headers?.get(k) || undefined));
    const attrs = { ...this.spanAttrs(items[0].m), 'messaging.batch.message_count': items.length };
    try {
      duplicates = await withSpan(`consume batch of ${items.length}`, SpanKind.CONSUMER, attrs, () => this.dataSource.transaction(async (manager) => {
        if (this.opts.batchHandler) return this.applyBatch(items, manager, this.opts.batchHandler);
        const dup: boolean[] = [];
        for (const it of items) {
          const fresh = await this.claim(manager, it.event.id);
          dup.push(!fresh);
          if (!fresh) continue;
          const parent = contextFromHeaders((k) => it.m.headers?.get(k) || undefined);
          await withSpan(`consume ${it.event.type}`, SpanKind.CONSUMER, this.spanAttrs(it.m), () => this.handler(it.event, manager, it.meta), parent, [parent]);
        }
        return dup;
      }), producers[0], producers);
    } catch (err) {
      const down = await this.probe();
      if (down) return { reason: down };
      if (classifyFailure(err) === 'dependency') {
        for (const it of items) this.retryLater(it.m, it.event, it.meta, err);
        return null;
      }
      for (const it of items) {
        const pause = await this.process(it.m);
        if (pause) return pause;
      }
      return null;
    }
    for (let i = 0; i < items.length; i++) {
      if (this.opts.afterCommit) await this.opts.afterCommit(items[i].event);
      this.ack(items[i].m);
      this.consumed.inc({ consumer: this.opts.durable, outcome: duplicates[i] ? 'duplicate' : 'ok' });
    }
    return null;
  }

  /** Handles one message in its own transaction. */
  async process(m: JsMsg): Promise<Pause | null> {
    const decoded = await this.decode(m);
    if (decoded === 'invalid') return null;
    if ('reason' in decoded) return decoded;
    const { event, meta } = decoded;
    if (this.ignores(m, event)) return null;
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
          this.ack(m);
          this.consumed.inc({ consumer: this.opts.durable, outcome: duplicate ? 'duplicate' : 'ok' });
        },
        parent,
        // child of the publish span (one trace) and linked to it (the messaging convention for consumers)
        [parent],
      );
      return null;
    } catch (err) {
      return this.onFailure(m, event, meta, err);
    }
  }

  /** The failure path of one message: pause, retry without counting, or count and maybe dead-letter. */
  private async onFailure(m: JsMsg, event: EventEnvelope, meta: DeliveryMeta, err: unknown): Promise<Pause | null> {
    const down = await this.probe();
    if (down) return { reason: down };
    if (classifyFailure(err) === 'dependency') {
      this.retryLater(m, event, meta, err);
      return null;
    }
    const message = (err as Error)?.message ?? String(err);
    let attempts: number;
    try {
      const r = await this.recordAttempt(event.id, message);
      if (r.deadLettered) {
        // a second copy of a message already dead-lettered (redelivered before the term arrived)
        this.term(m, 'already dead-lettered');
        return null;
      }
      attempts = r.attempts;
    } catch (dbErr) {
      return { reason: `cannot record the failed attempt: ${(dbErr as Error).message}` };
    }
    if (attempts >= this.maxDeliver) {
      return this.deadLetter(m, { ...meta, deliveryCount: attempts }, 'max_deliver', message, event.id);
    }
    const delay = Math.min(500 * 2 ** (attempts - 1), 30_000);
    this.opts.logger?.warn(
      `consumer ${this.opts.durable}: ${event.type} ${event.id} failed (attempt ${attempts}/${this.maxDeliver}), retry in ${delay} ms: ${message}`,
    );
    this.consumed.inc({ consumer: this.opts.durable, outcome: 'retry' });
    this.nak(m, delay);
    return null;
  }

  /** A dependency-shaped error while the dependencies look healthy: retry with capped backoff, uncounted. */
  private retryLater(m: JsMsg, event: EventEnvelope, meta: DeliveryMeta, err: unknown): void {
    const delay = Math.min(250 * 2 ** Math.min(meta.deliveryCount - 1, 10), 10_000);
    this.opts.logger?.warn(
      `consumer ${this.opts.durable}: ${event.type} ${event.id} hit a dependency error (delivery ${meta.deliveryCount}), retry in ${delay} ms, not counted: ${(err as Error)?.message ?? String(err)}`,
    );
    this.consumed.inc({ consumer: this.opts.durable, outcome: 'retry_dependency' });
    this.nak(m, delay);
  }

  /**
   * Failed attempts are rows (append-only, so audit's INSERT/SELECT-only login can write them), counted per
   * event: they survive restarts and are shared by replicas, unlike JetStream's delivery count, which also
   * counts deliveries handed back during pauses.
   */
  private async recordAttempt(eventId: string, error: string): Promise<{ attempts: number; deadLettered: boolean }> {
    const s = `"${this.opts.schema}"`;
    const rows: Array<{ n: number; dead: number }> = await this.dataSource.query(
      `WITH dl AS (SELECT 1 FROM ${s}.dead_letters WHERE consumer = $1 AND event_id = $4 LIMIT 1),
            ins AS (INSERT INTO ${s}.inbox_failures (consumer, event_id, error)
                    SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM dl) RETURNING 1)
       SELECT (SELECT count(*) FROM dl)::int AS dead,
              (SELECT count(*) FROM ${s}.inbox_failures WHERE consumer = $1 AND event_id = $2)::int + (SELECT count(*) FROM ins)::int AS n`,
      [this.opts.durable, eventId, error.slice(0, 2000), eventId],
    );
    return { attempts: rows[0].n, deadLettered: rows[0].dead > 0 };
  }

  /** Writes the dead-letter row, then terms. If the row cannot be written, nothing is termed: pause. */
  private async deadLetter(m: JsMsg, meta: DeliveryMeta, reason: 'invalid' | 'max_deliver', error: string, eventId: string | null): Promise<Pause | null> {
    try {
      await this.dataSource.query(
        `INSERT INTO "${this.opts.schema}".dead_letters (consumer, event_id, subject, stream_seq, payload, reason, error, deliveries)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [this.opts.durable, eventId, meta.subject, meta.streamSequence, Buffer.from(m.data).toString('utf8').slice(0, 1_000_000), reason, error.slice(0, 4000), meta.deliveryCount],
      );
    } catch (dbErr) {
      this.opts.logger?.error(`consumer ${this.opts.durable}: cannot write dead letter: ${(dbErr as Error).message}`);
      return { reason: `cannot write the dead letter: ${(dbErr as Error).message}` };
    }
    if (reason === 'invalid') this.invalid.inc({ consumer: this.opts.durable });
    else this.deadLetters.inc({ consumer: this.opts.durable });
    this.consumed.inc({ consumer: this.opts.durable, outcome: reason });
    this.opts.logger?.warn(`consumer ${this.opts.durable}: message seq ${meta.streamSequence} on ${meta.subject} dead-lettered (${reason}): ${error}`);
    this.term(m, reason);
    return null;
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
