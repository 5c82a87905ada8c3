import {
  ArgumentsHost,
  CallHandler,
  Catch,
  ExecutionContext,
  HttpException,
  Injectable,
  Logger,
  type NestInterceptor,
  type OnModuleDestroy,
  type ExceptionFilter,
} from '@nestjs/common';
import { ClientNats, NatsContext, NatsRecordBuilder, RpcException, ServerNats, type NatsOptions, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';
import { context as otelContext } from '@opentelemetry/api';
import { Observable, TimeoutError, firstValueFrom, throwError, timeout } from 'rxjs';
import { ZodError, type ZodType } from 'zod';
import {
  AppError,
  ErrorCodes,
  IDEMPOTENT_RPC_PATTERNS,
  RETRY_AFTER_SECONDS,
  httpStatusForCode,
  isAppErrorPayload,
  rpcSubject,
  type AppErrorPayload,
  type ErrorCode,
  type FieldError,
  type RpcContext,
  type RpcPattern,
  type RpcRequest,
  type RpcRequestOf,
  type RpcResponseOf,
} from '@opsdesk/contracts';
import { natsAuthOptions, type NatsCredentials } from './nats';
import { watchNatsConnection } from './nats-metrics';
import { Metrics, SpanKind, contextFromHeaders, requestContext, traceHeaders, withSpan } from '@opsdesk/observability';
import { isDependencyFailure } from './failures';

type NatsClientLike = {
  subscribe(subject: string, opts: { queue?: string; callback: (err: Error | null, msg: Msg) => void }): Subscription;
  publish(subject: string, data?: Uint8Array, opts?: { headers?: MsgHdrs }): void;
};

/** Header of the early "accepted" reply: the id of the instance that took the request. */
export const RPC_INSTANCE_HEADER = 'opsdesk-instance';

/** Subject an instance answers on while it is alive: `<prefix>.<service>._instance.<id>` (no queue group). */
export function instanceSubject(prefix: string, service: string, instanceId: string): string {
  return `${prefix}.${service}._instance.${instanceId}`;
}

/**
 * Nest's NATS transport with three additions: every pattern is subscribed under a subject prefix
 * (`rpc.` by default, so test suites and deployments can be isolated and requests never land in a
 * JetStream stream's subjects); every subscription joins the service's queue group so replicas share
 * the load; and each request is acknowledged at once with this instance's id, on a subject the instance
 * keeps answering while it lives, so a caller learns within about a second that the instance holding its
 * request died (kill -9, OOM) instead of waiting for REQUEST_TIMEOUT (see RpcClient).
 * The handler is still looked up by the bare pattern, so `@MessagePattern('auth.login')` works.
 */
export class PrefixedNatsServer extends ServerNats {
  private readonly queue: string;
  readonly instanceId = randomUUID();
  private readonly requestSubs: Subscription[] = [];
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    options: Required<NatsOptions>['options'] & { queue: string },
    private readonly subjectPrefix: string,
  ) {
    super({ maxReconnectAttempts: -1, reconnectTimeWait: 500, ...options });
    this.queue = options.queue;
  }

  /**
   * Listening means the broker has the subscriptions: Nest calls back right after queueing the SUBs, so a
   * request sent at once by another connection (a replica that just became ready, a test) could reach the
   * server first and get "no responders" (503). A flush round-trip after subscribing closes that window.
   */
  override start(callback: (err?: unknown) => void): void {
    this.bindEvents((this as unknown as { natsClient: NatsConnection }).natsClient);
    const nc = (this as unknown as { natsClient: NatsConnection }).natsClient;
    nc.flush().then(
      () => callback(),
      (err: unknown) => callback(err),
    );
  }

  override bindEvents(client: unknown): void {
    const nats = client as NatsClientLike;
    const queue = this.queue;
    const subscriptions = (this as unknown as { subscriptions: Subscription[] }).subscriptions;
    const ackHeaders = natsHeaders();
    ackHeaders.set(RPC_INSTANCE_HEADER, this.instanceId);
    for (const pattern of this.messageHandlers.keys()) {
      const handle = this.getMessageHandler(pattern).bind(this) as (err: Error | null, msg: Msg) => unknown;
      const sub = nats.subscribe(rpcSubject(this.subjectPrefix, pattern), {
        queue,
        callback: (err, msg) => {
          if (!err && msg.reply) {
            // the "accepted by <instance>" reply comes before any work; Nest's client ignores it (no packet id)
            nats.publish(msg.reply, EMPTY_JSON, { headers: ackHeaders });
            // counted until answered, so a graceful stop can wait for it
            this.inFlight++;
            const respond = msg.respond.bind(msg);
            let answered = false;
            msg.respond = (...args: Parameters<Msg['respond']>) => {
              if (!answered) {
                answered = true;
                this.settleOne();
              }
              return respond(...args);
            };
          }
          handle(err, msg);
        },
      });
      subscriptions.push(sub);
      this.requestSubs.push(sub);
    }
    subscriptions.push(
      nats.subscribe(instanceSubject(this.subjectPrefix, this.queue, this.instanceId), {
        callback: (_err, msg) => {
          if (msg.reply) nats.publish(msg.reply, EMPTY_JSON);
        },
      }),
    );
  }

  /**
   * The handler of a message. Nest first tries JSON.parse on the pattern (for object patterns), which throws
   * for every dotted-string pattern like ours: an exception per request (~1% of a service's CPU in a
   * profile, docs/PERFORMANCE.md). Plain string patterns are their own route.
   */
  override getRouteFromPattern(pattern: string): string {
    const c = pattern.charCodeAt(0);
    return c === 123 /* { */ || c === 91 /* [ */ || c === 34 /* " */ ? super.getRouteFromPattern(pattern) : pattern;
  }

  private settleOne(): void {
    this.inFlight--;
    if (this.inFlight <= 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Graceful stop, step one: take no new requests (the queue group sends them to the other replicas) and
   * wait until every request in hand is answered, at most `graceMs`. The instance subject keeps answering
   * meanwhile, so callers do not give up on requests that are still being worked on.
   */
  async stopAccepting(graceMs: number): Promise<number> {
    for (const sub of this.requestSubs.splice(0)) sub.unsubscribe();
    const nc = (this as unknown as { natsClient: NatsConnection | null }).natsClient;
    await nc?.flush().catch(() => undefined);
    if (this.inFlight > 0) {
      await Promise.race([new Promise<void>((resolve) => this.idleWaiters.push(resolve)), new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
    return Math.max(0, this.inFlight);
  }
}

const EMPTY_JSON = new TextEncoder().encode('{}');

/** Converts whatever a handler throws into the cross-process error payload (code, message, errors). */
@Catch()
export class RpcErrorFilter implements ExceptionFilter<unknown> {
  private readonly logger = new Logger('RpcErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => toErrorPayload(exception, this.logger));
    // Registered on the microservice only (createServiceApp), so this is not reached for HTTP today; kept
    // correct for a caller that registers it on an HTTP app.
    const reply = host.switchToHttp().getResponse<{ status(code: number): { send(body: unknown): void } }>();
    const { status, body } = httpErrorOf(exception, this.logger);
    reply.status(status).send(body);
  }
}

export function toErrorPayload(exception: unknown, logger?: Logger): AppErrorPayload {
  if (exception instanceof AppError) return exception.toPayload();
  if (exception instanceof ZodError) return validationPayload(exception);
  if (exception instanceof RpcException) {
    const e = exception.getError();
    if (isAppErrorPayload(e)) return e;
  }
  if (exception instanceof RpcCallError) return exception.payload;
  // The database (or NATS) is down or overloaded: the request may succeed shortly, so say so (503 with
  // Retry-After at the gateway) instead of an internal error.
  if (isDependencyFailure(exception)) {
    logger?.warn(`dependency unavailable: ${exception instanceof Error ? exception.message : String(exception)}`);
    return { code: ErrorCodes.SERVICE_UNAVAILABLE, message: 'Service temporarily unavailable, retry shortly', meta: { retry_after: RETRY_AFTER_SECONDS } };
  }
  logger?.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  return { code: ErrorCodes.INTERNAL, message: 'Internal error' };
}

/**
 * Status and JSON body `{code, message, errors?, meta?}` for an error of an internal HTTP route (streamed
 * bodies): the same payload as over RPC, the status from the one code table. The gateway's InternalProxy
 * keeps the status and turns the body into a problem document.
 */
export function httpErrorOf(exception: unknown, logger?: Logger): { status: number; body: AppErrorPayload } {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status < 500) {
      const code: ErrorCode = status === 401 ? ErrorCodes.UNAUTHENTICATED : status === 403 ? ErrorCodes.FORBIDDEN : `HTTP.${status}`;
      return { status, body: { code, message: exception.message } };
    }
  }
  const body = toErrorPayload(exception, logger);
  const status = httpStatusForCode(body.code);
  // an unregistered code is a bug: answer it like any internal error, without its message
  if (status === 500) return { status, body: { code: ErrorCodes.INTERNAL, message: 'Internal error' } };
  return { status, body };
}

export function zodFieldErrors(err: ZodError): FieldError[] {
  return err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
}

export function validationPayload(err: ZodError): AppErrorPayload {
  return { code: ErrorCodes.VALIDATION_FAILED, message: 'Request validation failed', errors: zodFieldErrors(err) };
}

/** Validates an RPC payload's data; failures become VALIDATION_FAILED with field errors. */
export function parseRpcData<T>(schema: ZodType<T, any, any>, data: unknown): T { // eslint-disable-line @typescript-eslint/no-explicit-any -- zod's input type is irrelevant here
  const r = schema.safeParse(data);
  if (!r.success) {
    const p = validationPayload(r.error);
    throw new AppError(p.code, p.message, p.errors);
  }
  return r.data;
}

/**
 * Server-side RPC observability: continues the caller's trace from the NATS headers, puts the request id
 * into the logging context, and records the RED histogram per pattern.
 */
@Injectable()
export class RpcObservabilityInterceptor implements NestInterceptor {
  private readonly hist = Metrics.rpcDuration();

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'rpc') return next.handle();
    const natsCtx = ctx.switchToRpc().getContext<NatsContext>();
    const payload = ctx.switchToRpc().getData<Partial<RpcRequest>>();
    const hdrs = natsCtx?.getHeaders?.() as { get(k: string): string } | undefined;
    const parent = contextFromHeaders((k) => hdrs?.get(k) || undefined);
    const subject = natsCtx?.getSubject?.() ?? 'unknown';
    const requestId = payload?.ctx?.request_id ?? 'none';
    const started = process.hrtime.bigint();
    return new Observable((subscriber) => {
      void requestContext.run({ request_id: requestId }, () =>
        withSpan(`rpc ${subject}`, SpanKind.SERVER, { 'messaging.system': 'nats', 'rpc.subject': subject }, async () => {
          try {
            const value = await firstValueFrom(otelContext.with(otelContext.active(), () => next.handle()), { defaultValue: undefined });
            this.hist.observe({ pattern: subject, outcome: 'ok' }, Number(process.hrtime.bigint() - started) / 1e9);
            subscriber.next(value);
            subscriber.complete();
          } catch (err) {
            this.hist.observe({ pattern: subject, outcome: 'error' }, Number(process.hrtime.bigint() - started) / 1e9);
            subscriber.error(err);
          }
        }, parent),
      );
    });
  }
}

/** An RPC failure seen by the caller, with the code the service (or the transport) gave. */
export class RpcCallError extends Error {
  constructor(public readonly payload: AppErrorPayload) {
    super(payload.message);
    this.name = 'RpcCallError';
  }
  get code(): string {
    return this.payload.code;
  }
}

export interface RpcClientOptions {
  servers: string[];
  subjectPrefix: string;
  timeoutMs: number;
  name: string;
  /** how often a request in flight checks that the instance holding it is alive (ms); default 1000 */
  livenessIntervalMs?: number;
  /**
   * Signs the caller context of each request (libs/authn rpcContextSigner with the caller's context key).
   * Without it requests go unsigned and every service refuses them: only tools and tests that probe
   * that refusal leave it out.
   */
  signContext?: (pattern: string, data: unknown, ctx: RpcContext) => string;
  /** the caller's NATS login (replies come on its own inbox prefix) */
  credentials?: NatsCredentials;
}

/** The instance that accepted a request is gone (its process died): NATS has no responder for it anymore. */
class InstanceGoneError extends Error {
  constructor(readonly instanceId: string) {
    super(`the instance ${instanceId} that accepted the request went away`);
    this.name = 'InstanceGoneError';
  }
}

/**
 * Nest's NATS client plus liveness of the instance holding each request: when the "accepted by <instance>"
 * reply has come and the answer has not, the client asks the instance's own subject every interval. NATS
 * answers "no responders" at once when that instance's connection is gone, and the call then fails at once
 * instead of at REQUEST_TIMEOUT.
 */
class InstanceAwareClientNats extends ClientNats {
  private readonly watches = new Map<string, NodeJS.Timeout>();

  constructor(
    options: Required<NatsOptions>['options'],
    private readonly subjectPrefix: string,
    private readonly intervalMs: number,
  ) {
    super(options);
  }

  override createSubscriptionHandler(packet: ReadPacket & { id: string }, callback: (packet: WritePacket) => unknown) {
    const inner = super.createSubscriptionHandler(packet, callback);
    const service = String(packet.pattern).slice(this.subjectPrefix.length + 1).split('.')[0];
    // Nest types the message as its own NatsMsg (any of the nats package's shapes); it is nats' Msg here
    return async (error: string | Error | undefined, natsMsg: Parameters<typeof inner>[1]) => {
      const msg = natsMsg as unknown as Msg | undefined;
      const instance = !error ? msg?.headers?.get(RPC_INSTANCE_HEADER) : '';
      if (instance) {
        this.watch(packet.id, service, instance, callback);
        return;
      }
      this.unwatch(packet.id);
      return inner(error, natsMsg);
    };
  }

  protected override publish(partialPacket: ReadPacket, callback: (packet: WritePacket) => unknown): () => void {
    const teardown = super.publish(partialPacket, callback);
    // Nest assigned the packet id on the object it was given
    const id = (partialPacket as ReadPacket & { id?: string }).id;
    return () => {
      if (id) this.unwatch(id);
      teardown();
    };
  }

  private watch(id: string, service: string, instance: string, callback: (packet: WritePacket) => unknown): void {
    if (this.watches.has(id)) return;
    const subject = instanceSubject(this.subjectPrefix, service, instance);
    const timer = setInterval(() => {
      const nc = this.natsClient as unknown as NatsConnection | null;
      if (!nc || nc.isClosed()) return;
      nc.request(subject, EMPTY_JSON, { timeout: this.intervalMs, noMux: true }).catch((err: { code?: string }) => {
        // only "no responders" proves the instance is gone; a slow answer or a broker blip proves nothing
        if (err?.code !== '503' || !this.watches.has(id)) return;
        this.unwatch(id);
        callback({ err: new InstanceGoneError(instance), isDisposed: true });
      });
    }, this.intervalMs);
    timer.unref();
    this.watches.set(id, timer);
  }

  private unwatch(id: string): void {
    const t = this.watches.get(id);
    if (t) clearInterval(t);
    this.watches.delete(id);
  }
}

/**
 * Caller side of request/reply: wraps Nest's ClientNats, sends `{ctx, data}` to `<prefix>.<pattern>`,
 * carries the trace context in NATS headers, enforces REQUEST_TIMEOUT and turns every failure into an
 * RpcCallError with a string code. A request whose instance dies fails within about `livenessIntervalMs`;
 * a read-only pattern (IDEMPOTENT_RPC_PATTERNS) is then sent once more, to another replica.
 */
export class RpcClient implements OnModuleDestroy {
  private readonly client: ClientNats;
  private readonly hist = Metrics.rpcClientDuration();

  constructor(private readonly opts: RpcClientOptions) {
    this.client = new InstanceAwareClientNats(
      { servers: opts.servers, name: opts.name, maxReconnectAttempts: -1, reconnectTimeWait: 500, ...natsAuthOptions(opts.credentials) },
      opts.subjectPrefix,
      opts.livenessIntervalMs ?? 1000,
    );
  }

  async connect(): Promise<void> {
    const nc = (await this.client.connect()) as NatsConnection;
    watchNatsConnection(nc, this.opts.name);
  }

  /** Sends a request typed by the contract map (libs/contracts rpc-contracts.ts): data and answer match the pattern. */
  call<P extends RpcPattern>(pattern: P, data: RpcRequestOf<P>, ctx: RpcContext, timeoutMs = this.opts.timeoutMs): Promise<RpcResponseOf<P>> {
    return this.callUnchecked<RpcResponseOf<P>>(pattern, data, ctx, timeoutMs);
  }

  /**
   * Any pattern, any data: only for tests that must send what no typed caller can (forged, malformed or unknown
   * requests) to prove the receiving side refuses it.
   */
  callUnchecked<T>(pattern: string, data: unknown, ctx: RpcContext, timeoutMs = this.opts.timeoutMs): Promise<T> {
    // the caller's span: the request carries its context (send → traceHeaders), so the server span is its child
    return withSpan(`rpc ${pattern}`, SpanKind.CLIENT, { 'rpc.system': 'nats', 'rpc.method': pattern, 'messaging.system': 'nats' }, () =>
      this.callUntraced<T>(pattern, data, ctx, timeoutMs),
    );
  }

  private async callUntraced<T>(pattern: string, data: unknown, ctx: RpcContext, timeoutMs: number): Promise<T> {
    const started = process.hrtime.bigint();
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.send<T>(pattern, data, ctx, Math.max(1, deadline - Date.now()));
        this.hist.observe({ pattern, outcome: 'ok' }, Number(process.hrtime.bigint() - started) / 1e9);
        return result;
      } catch (err) {
        if (err instanceof InstanceGoneError && attempt === 1 && IDEMPOTENT_RPC_PATTERNS.has(pattern) && deadline - Date.now() > 100) continue;
        const e = toCallError(err, pattern);
        this.hist.observe({ pattern, outcome: e.code }, Number(process.hrtime.bigint() - started) / 1e9);
        throw e;
      }
    }
  }

  private send<T>(pattern: string, data: unknown, ctx: RpcContext, timeoutMs: number): Promise<T> {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(traceHeaders())) h.set(k, v);
    if (ctx.request_id) h.set('x-request-id', ctx.request_id);
    const payload: RpcRequest = { ctx, data };
    if (this.opts.signContext) payload.auth = this.opts.signContext(pattern, data, ctx);
    const record = new NatsRecordBuilder<RpcRequest>(payload).setHeaders(h).build();
    const subject = rpcSubject(this.opts.subjectPrefix, pattern);
    return firstValueFrom(this.client.send<T>(subject, record).pipe(timeout(timeoutMs)), { defaultValue: undefined as T });
  }

  async onModuleDestroy(): Promise<void> {
    await this.client.close();
  }
}

function toCallError(err: unknown, pattern: string): RpcCallError {
  if (err instanceof TimeoutError) {
    return new RpcCallError({ code: ErrorCodes.UPSTREAM_TIMEOUT, message: `No answer from ${pattern.split('.')[0]} in time` });
  }
  if (isAppErrorPayload(err)) return new RpcCallError(err);
  if (err instanceof InstanceGoneError) {
    return new RpcCallError({
      code: ErrorCodes.UPSTREAM_UNAVAILABLE,
      message: `Service ${pattern.split('.')[0]} went away while handling the request`,
      meta: { retry_after: RETRY_AFTER_SECONDS },
    });
  }
  const name = (err as Error)?.name ?? '';
  const message = (err as Error)?.message ?? String(err);
  if (name === 'EmptyResponseException' || /no responders|503|empty response/i.test(message)) {
    return new RpcCallError({
      code: ErrorCodes.UPSTREAM_UNAVAILABLE,
      message: `Service ${pattern.split('.')[0]} is unavailable`,
      meta: { retry_after: RETRY_AFTER_SECONDS },
    });
  }
  if (/CONNECTION_CLOSED|disconnect|connection/i.test(message)) {
    return new RpcCallError({ code: ErrorCodes.UPSTREAM_UNAVAILABLE, message: 'Message broker unavailable', meta: { retry_after: RETRY_AFTER_SECONDS } });
  }
  return new RpcCallError({ code: ErrorCodes.INTERNAL, message: 'Internal error' });
}
