import {
  ArgumentsHost,
  Catch,
  HttpException,
  Logger,
  type OnModuleDestroy,
  type ExceptionFilter,
} from '@nestjs/common';
import { NatsContext, RpcException, ServerNats, type MessageHandler, type NatsOptions, type WritePacket } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { connect as natsConnect, createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';
import { SpanStatusCode } from '@opentelemetry/api';
import { Observable, isObservable, throwError } from 'rxjs';
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
  private readonly hist = Metrics.rpcDuration();
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
    for (const [pattern, handler] of this.messageHandlers) {
      const sub = nats.subscribe(rpcSubject(this.subjectPrefix, pattern), {
        queue,
        callback: (err, msg) => {
          if (err) {
            this.logger.error(err);
            return;
          }
          if (msg.reply) {
            // the "accepted by <instance>" reply comes before any work; the client watches this instance from then on
            nats.publish(msg.reply, EMPTY_JSON, { headers: ackHeaders });
            // counted until answered, so a graceful stop can wait for it
            this.inFlight++;
          }
          void this.dispatch(pattern, handler, msg);
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
   * One request: what Nest's ServerNats.handleMessage does (the handler is Nest's, with the guards, interceptors,
   * pipes and exception filter registered for it), without its rxjs detour for plain answers, and with the
   * server-side observability around it: the caller's trace continued from the NATS headers, the request id in
   * the logging context, the RED histogram per pattern (this was RpcObservabilityInterceptor, which needed
   * Nest's interceptor chain: an AsyncResource and two rxjs defers per call).
   */
  private async dispatch(pattern: string, handler: MessageHandler, msg: Msg): Promise<void> {
    let answered = false;
    let outcome = 'ok' as 'ok' | 'error';
    const respond = (packet: WritePacket, id?: string): void => {
      if (packet.err !== undefined) outcome = 'error';
      if (!msg.reply || answered) return;
      if (packet.isDisposed) {
        answered = true;
        this.settleOne();
      }
      try {
        msg.respond(encoder.encode(JSON.stringify({ ...packet, id })));
      } catch (err) {
        // the connection closed meanwhile: the caller's liveness check or timeout ends its wait
        this.logger.warn(`answer to ${msg.subject} not sent: ${(err as Error).message}`);
      }
    };
    let message: { id?: string; data?: unknown };
    try {
      message = (await this.deserializer.deserialize(msg.data, { channel: pattern, replyTo: msg.reply })) as { id?: string; data?: unknown };
    } catch (err) {
      this.logger.warn(`malformed request on ${msg.subject}: ${(err as Error).message}`);
      respond({ err: { code: ErrorCodes.VALIDATION_FAILED, message: 'Malformed RPC request' }, isDisposed: true });
      return;
    }
    const id = message.id;
    const natsCtx = new NatsContext([msg.subject, msg.headers]);
    if (id === undefined) {
      // an event (publish without an id): Nest's own path
      if (msg.reply && !answered) {
        answered = true;
        this.settleOne();
      }
      await this.handleEvent(pattern, message as never, natsCtx);
      return;
    }
    const hdrs = msg.headers;
    const parent = contextFromHeaders((k) => hdrs?.get(k) || undefined);
    // the request id the caller claims, for log correlation only (the guard replaces ctx with the signed one)
    const requestId = (message.data as Partial<RpcRequest> | undefined)?.ctx?.request_id ?? 'none';
    const subject = msg.subject;
    const started = process.hrtime.bigint();
    await requestContext.run({ request_id: requestId }, () =>
      withSpan(
        `rpc ${subject}`,
        SpanKind.SERVER,
        { 'messaging.system': 'nats', 'rpc.subject': subject },
        async (span) => {
          try {
            const result: unknown = await handler(message.data, natsCtx);
            if (isObservable(result)) {
              // an interceptor, or the exception filter's error: Nest's own sending (rxjs) settles it
              await new Promise<void>((resolve) => {
                this.send(result, (packet: WritePacket) => {
                  respond(packet, id);
                  if (packet.isDisposed) resolve();
                });
              });
            } else {
              respond({ response: result, isDisposed: true }, id);
            }
          } catch (err) {
            // Nest's proxy hands every error to the exception filter; this is a failure of that machinery itself
            respond({ err: toErrorPayload(err, serverLogger), isDisposed: true }, id);
          }
          if (outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR });
          this.hist.observe({ pattern: subject, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
        },
        parent,
      ),
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
const serverLogger = new Logger('PrefixedNatsServer');

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
  signContext?: (pattern: string, data: unknown, ctx: RpcContext) => string | Promise<string>;
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

/** No answer within the request's deadline. */
class RpcTimeoutError extends Error {
  constructor() {
    super('RPC timed out');
    this.name = 'RpcTimeoutError';
  }
}

/** NATS answered "no responders" on the reply subject: nobody subscribes to the pattern. */
class NoRespondersError extends Error {
  constructor(subject: string) {
    super(`no responders for ${subject}`);
    this.name = 'NoRespondersError';
  }
}

/** One request in flight: settled by its answer, its deadline, the death of its instance or the connection closing. */
interface PendingRequest {
  resolve(value: unknown): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
  service: string;
  /** the instance that accepted it (its "accepted" reply came): watched for liveness until the answer */
  instance?: string;
}

/** The answer the server sends (Nest's NATS wire format, see PrefixedNatsServer). */
interface ResponsePacket {
  id?: string;
  err?: unknown;
  response?: unknown;
  isDisposed?: boolean;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Caller side of request/reply, straight on the nats client: sends `{pattern, data: {ctx, data, auth}, id}` (the
 * wire format Nest's NATS server reads) to `<prefix>.<pattern>`, carries the trace context in NATS headers,
 * enforces REQUEST_TIMEOUT and turns every failure into an RpcCallError with a string code.
 *
 * Replies come on ONE wildcard subscription (`<inbox>.*`, the request's number as last token), so a request is a
 * single PUB: Nest's ClientNats made a SUB and an UNSUB per request (two more socket writes in the caller and
 * interest-graph work in the broker) and ran each through rxjs (docs/PERFORMANCE.md).
 *
 * Liveness: when the "accepted by <instance>" reply has come and the answer has not, the instance's own subject is
 * asked every `livenessIntervalMs` (one probe per instance, whatever the number of requests it holds). NATS
 * answers "no responders" at once when that instance's connection is gone, and its requests then fail at once
 * instead of at REQUEST_TIMEOUT; a read-only pattern (IDEMPOTENT_RPC_PATTERNS) is sent once more, to another
 * replica.
 */
export class RpcClient implements OnModuleDestroy {
  private readonly hist = Metrics.rpcClientDuration();
  private nc: NatsConnection | null = null;
  private connecting: Promise<NatsConnection> | null = null;
  private inbox = '';
  private seq = 0;
  private readonly pending = new Map<string, PendingRequest>();
  private livenessTimer: NodeJS.Timeout | null = null;
  private readonly intervalMs: number;

  constructor(private readonly opts: RpcClientOptions) {
    this.intervalMs = opts.livenessIntervalMs ?? 1000;
  }

  async connect(): Promise<void> {
    await this.connection();
  }

  private connection(): Promise<NatsConnection> {
    if (this.nc && !this.nc.isClosed()) return Promise.resolve(this.nc);
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async open(): Promise<NatsConnection> {
    const auth = natsAuthOptions(this.opts.credentials);
    const nc = await natsConnect({ servers: this.opts.servers, name: this.opts.name, maxReconnectAttempts: -1, reconnectTimeWait: 500, ...auth });
    watchNatsConnection(nc, this.opts.name);
    // the login may subscribe only below its own inbox prefix (nats-permissions.ts)
    const inbox = createInbox(auth.inboxPrefix);
    nc.subscribe(`${inbox}.*`, { callback: (err, msg) => (err ? undefined : this.onReply(msg)) });
    this.inbox = inbox;
    this.nc = nc;
    void nc.closed().then(() => this.failAll(new Error('CONNECTION_CLOSED: the NATS connection was closed')));
    return nc;
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

  private async send<T>(pattern: string, data: unknown, ctx: RpcContext, timeoutMs: number): Promise<T> {
    const nc = this.nc && !this.nc.isClosed() ? this.nc : await this.connection();
    const h = natsHeaders();
    const trace = traceHeaders();
    for (const k in trace) h.set(k, trace[k]);
    if (ctx.request_id) h.set('x-request-id', ctx.request_id);
    const payload: RpcRequest = { ctx, data };
    if (this.opts.signContext) {
      const auth = this.opts.signContext(pattern, data, ctx);
      payload.auth = typeof auth === 'string' ? auth : await auth;
    }
    const subject = rpcSubject(this.opts.subjectPrefix, pattern);
    const id = String(++this.seq);
    const body = encoder.encode(JSON.stringify({ pattern: subject, data: payload, id }));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new RpcTimeoutError()), timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, service: pattern.split('.')[0] });
      try {
        nc.publish(subject, body, { reply: `${this.inbox}.${id}`, headers: h });
      } catch (err) {
        this.settle(id, err);
      }
    });
  }

  /** A message on the reply subscription: the "accepted" reply, the answer, or the broker's "no responders". */
  private onReply(msg: Msg): void {
    const id = msg.subject.slice(this.inbox.length + 1);
    const p = this.pending.get(id);
    if (!p) return; // answered, timed out or given up already
    if (msg.data.length === 0) {
      // a status message: 503 "no responders" (nobody listens on the pattern)
      this.settle(id, new NoRespondersError(msg.subject));
      return;
    }
    const instance = msg.headers?.get(RPC_INSTANCE_HEADER);
    if (instance) {
      p.instance = instance;
      this.livenessTimer ??= setInterval(() => this.checkLiveness(), this.intervalMs).unref();
      return;
    }
    let packet: ResponsePacket;
    try {
      packet = JSON.parse(decoder.decode(msg.data)) as ResponsePacket;
    } catch {
      this.settle(id, new Error('malformed RPC answer'));
      return;
    }
    if (packet.err !== undefined && packet.err !== null) this.settle(id, packet.err);
    else this.settle(id, undefined, packet.response);
  }

  private settle(id: string, err: unknown, value?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err !== undefined) p.reject(err);
    else p.resolve(value);
  }

  /**
   * One probe per instance holding requests: only "no responders" proves it is gone (a slow answer or a broker
   * blip proves nothing), and then every request it held fails with InstanceGoneError.
   */
  private checkLiveness(): void {
    const held = new Map<string, { service: string; ids: string[] }>();
    for (const [id, p] of this.pending) {
      if (!p.instance) continue;
      const h = held.get(p.instance) ?? { service: p.service, ids: [] };
      h.ids.push(id);
      held.set(p.instance, h);
    }
    const nc = this.nc;
    if (held.size === 0 || !nc || nc.isClosed()) {
      if (held.size === 0 && this.livenessTimer) {
        clearInterval(this.livenessTimer);
        this.livenessTimer = null;
      }
      return;
    }
    for (const [instance, { service, ids }] of held) {
      nc.request(instanceSubject(this.opts.subjectPrefix, service, instance), EMPTY_JSON, { timeout: this.intervalMs, noMux: true }).catch((err: { code?: string }) => {
        if (err?.code !== '503') return;
        for (const id of ids) if (this.pending.get(id)?.instance === instance) this.settle(id, new InstanceGoneError(instance));
      });
    }
  }

  private failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, err);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.livenessTimer = null;
    const nc = this.nc ?? (await this.connecting?.catch(() => null)) ?? null;
    this.nc = null;
    await nc?.close();
    this.failAll(new Error('CONNECTION_CLOSED: the RPC client was closed'));
  }
}

function toCallError(err: unknown, pattern: string): RpcCallError {
  if (err instanceof RpcTimeoutError) {
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
  if (err instanceof NoRespondersError || name === 'EmptyResponseException' || /no responders|503|empty response/i.test(message)) {
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
