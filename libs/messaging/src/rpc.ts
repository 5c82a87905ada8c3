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
import { ClientNats, NatsContext, NatsRecordBuilder, RpcException, ServerNats, type NatsOptions } from '@nestjs/microservices';
import { headers as natsHeaders, type Msg, type Subscription } from 'nats';
import { context as otelContext } from '@opentelemetry/api';
import { Observable, TimeoutError, firstValueFrom, throwError, timeout } from 'rxjs';
import { ZodError, type ZodType } from 'zod';
import {
  AppError,
  ErrorCodes,
  RETRY_AFTER_SECONDS,
  httpStatusForCode,
  isAppErrorPayload,
  rpcSubject,
  type AppErrorPayload,
  type ErrorCode,
  type FieldError,
  type RpcContext,
  type RpcRequest,
} from '@opsdesk/contracts';
import { Metrics, SpanKind, contextFromHeaders, requestContext, traceHeaders, withSpan } from '@opsdesk/observability';
import { isDependencyFailure } from './failures';

type NatsClientLike = { subscribe(subject: string, opts: { queue?: string; callback: (err: Error | null, msg: Msg) => void }): Subscription };

/**
 * Nest's NATS transport with two additions: every pattern is subscribed under a subject prefix
 * (`rpc.` by default, so test suites and deployments can be isolated and requests never land in a
 * JetStream stream's subjects), and every subscription joins the service's queue group so replicas share
 * the load. The handler is still looked up by the bare pattern, so `@MessagePattern('auth.login')` works.
 */
export class PrefixedNatsServer extends ServerNats {
  private readonly queue: string;

  constructor(
    options: Required<NatsOptions>['options'] & { queue: string },
    private readonly subjectPrefix: string,
  ) {
    super({ maxReconnectAttempts: -1, reconnectTimeWait: 500, ...options });
    this.queue = options.queue;
  }

  override bindEvents(client: unknown): void {
    const nats = client as NatsClientLike;
    const queue = this.queue;
    for (const pattern of this.messageHandlers.keys()) {
      const sub = nats.subscribe(rpcSubject(this.subjectPrefix, pattern), {
        queue,
        callback: this.getMessageHandler(pattern).bind(this),
      });
      (this as unknown as { subscriptions: Subscription[] }).subscriptions.push(sub);
    }
  }
}

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
}

/**
 * Caller side of request/reply: wraps Nest's ClientNats, sends `{ctx, data}` to `<prefix>.<pattern>`,
 * carries the trace context in NATS headers, enforces REQUEST_TIMEOUT and turns every failure into an
 * RpcCallError with a string code.
 */
export class RpcClient implements OnModuleDestroy {
  private readonly client: ClientNats;
  private readonly hist = Metrics.rpcClientDuration();

  constructor(private readonly opts: RpcClientOptions) {
    this.client = new ClientNats({ servers: opts.servers, name: opts.name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async call<T>(pattern: string, data: unknown, ctx: RpcContext, timeoutMs = this.opts.timeoutMs): Promise<T> {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(traceHeaders())) h.set(k, v);
    if (ctx.request_id) h.set('x-request-id', ctx.request_id);
    const record = new NatsRecordBuilder<RpcRequest>({ ctx, data }).setHeaders(h).build();
    const started = process.hrtime.bigint();
    const subject = rpcSubject(this.opts.subjectPrefix, pattern);
    try {
      const result = await firstValueFrom(this.client.send<T>(subject, record).pipe(timeout(timeoutMs)), { defaultValue: undefined as T });
      this.hist.observe({ pattern, outcome: 'ok' }, Number(process.hrtime.bigint() - started) / 1e9);
      return result;
    } catch (err) {
      const e = toCallError(err, pattern);
      this.hist.observe({ pattern, outcome: e.code }, Number(process.hrtime.bigint() - started) / 1e9);
      throw e;
    }
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
