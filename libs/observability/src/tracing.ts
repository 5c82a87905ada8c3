import { ROOT_CONTEXT, context, isSpanContextValid, propagation, trace, type Context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { hostname } from 'node:os';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { AlwaysOffSampler, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';

let sdk: { provider: NodeTracerProvider; disable: () => void } | null = null;

/**
 * Starts tracing. Must run before Nest (and pg/http) are required, so main.ts calls it first.
 * Without OTEL_EXPORTER_OTLP_ENDPOINT nothing is recorded (AlwaysOff sampler, no instrumentation), but every
 * request still gets a trace id that reaches the logs and the NATS/outbox headers: createServiceApp gives each
 * incoming request its trace context (`requestTraceContext`). With an endpoint, the HTTP and pg instrumentations
 * are registered, spans are sampled as OTEL_TRACES_SAMPLER says (default parentbased_always_on) and exported over
 * OTLP/HTTP.
 * The tracer provider, instrumentations and exporter are loaded one by one rather than through the NodeSDK,
 * whose import alone loads every exporter (~2,300 files, ~60 MB of RSS per service; docs/PERFORMANCE.md).
 */
export function startTracing(serviceName: string, endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT): void {
  if (sdk) return;
  // Only work that is part of a traced operation makes SQL and outgoing-HTTP spans: a query or call with no parent
  // (a poller, a metrics collector, a boot step) would otherwise be a root trace of its own and drown the real
  // ones. Incoming requests are roots by nature, except the probes and scrapes, which are not traced at all.
  const instrumentations: Instrumentation[] = [];
  let exporter: SpanExporter | null = null;
  if (endpoint) {
    // Only when spans leave the process: with nothing exported, the HTTP instrumentation's per-request work (≈ 20
    // attributes, a span, every listener of the request and response wrapped, per body chunk too) bought nothing
    // but a trace id, which requestTraceContext gives for a fraction of the cost (docs/PERFORMANCE.md, change 18).
    /* eslint-disable @typescript-eslint/no-require-imports -- lazy: only a process that exports pays for these modules */
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
    const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
    /* eslint-enable @typescript-eslint/no-require-imports */
    exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` });
    instrumentations.push(
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => PROBE_PATHS.test(req.url ?? ''), requireParentforOutgoingSpans: true }),
      new PgInstrumentation({ requireParentSpan: true }),
    );
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes(tracingResourceAttributes(serviceName, process.env)),
    spanProcessors: exporter ? [new BatchSpanProcessor(exporter)] : [],
    ...(exporter ? {} : { sampler: new AlwaysOffSampler() }),
  });
  provider.register();
  sdk = { provider, disable: registerInstrumentations({ instrumentations, tracerProvider: provider }) };
  httpInstrumentation = !!endpoint;
}

/** Probes and scrapes are not traced (they would be most of the traces). */
const PROBE_PATHS = /^\/(healthz|readyz|metrics)/;
let httpInstrumentation = false;

/**
 * The trace context an incoming HTTP request runs in, when no HTTP instrumentation does it (nothing is exported):
 * the caller's W3C traceparent continued, or a new trace, in a non-recording server span — the ids the
 * instrumentation would give the request under the AlwaysOff sampler. Null when the instrumentation handles
 * requests (an exporter is configured) or for probes and scrapes.
 */
export function requestTraceContext(url: string, headers: Record<string, string | string[] | undefined>): Context | null {
  if (httpInstrumentation || PROBE_PATHS.test(url)) return null;
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  return trace.setSpan(parent, tracer().startSpan('HTTP', { kind: SpanKind.SERVER }, parent));
}

/** Runs fn in ctx (when there is one): how createServiceApp enters a request's trace context in its hooks. */
export function runInContext<T>(ctx: Context | null, fn: () => T): T {
  return ctx ? context.with(ctx, fn) : fn();
}

/**
 * Resource attributes of every span: which service, deployment and machine it came from. Read from the
 * environment because tracing starts before the validated config exists (main.ts calls it first);
 * libs/config validates the same variables at boot.
 */
export function tracingResourceAttributes(serviceName: string, env: NodeJS.ProcessEnv): Record<string, string> {
  return {
    'service.name': `opsdesk-${serviceName}`,
    'service.namespace': env.OTEL_SERVICE_NAMESPACE || 'opsdesk',
    'service.version': env.OPSDESK_VERSION || env.npm_package_version || '0.0.0',
    'deployment.environment': env.ENVIRONMENT || 'production',
    'deployment.environment.name': env.ENVIRONMENT || 'production',
    // Kubernetes sets HOSTNAME to the pod name; compose to the container id
    'host.name': env.HOSTNAME || hostname(),
    'service.instance.id': `${env.HOSTNAME || hostname()}:${process.pid}`,
  };
}

export async function stopTracing(): Promise<void> {
  if (!sdk) return;
  const s = sdk;
  sdk = null;
  s.disable();
  await s.provider.shutdown().catch(() => undefined);
}

export function currentTraceId(): string | null {
  const span = trace.getActiveSpan();
  const id = span?.spanContext().traceId;
  return id && !/^0+$/.test(id) ? id : null;
}

/** W3C trace context of the active span as a plain header map (traceparent, tracestate). */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Context from a carrier such as NATS headers or a stored outbox row. */
export function contextFromHeaders(get: (key: string) => string | undefined): Context {
  return propagation.extract(context.active(), {}, {
    get: (_carrier, key) => get(key),
    keys: () => ['traceparent', 'tracestate'],
  });
}

const tracer = () => trace.getTracer('opsdesk');

/** Runs fn in a new span (child of parent or of the active context), recording errors. */
export async function withSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
  /** contexts this span is caused by besides its parent (a consumer's producers): span links */
  linkTo: Context[] = [],
): Promise<T> {
  const links = linkTo.map((c) => trace.getSpanContext(c)).filter((sc): sc is NonNullable<typeof sc> => !!sc && isSpanContextValid(sc)).map((sc) => ({ context: sc }));
  return tracer().startActiveSpan(name, { kind, attributes, links }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };

/**
 * Runs fn with tracing suppressed: background polling (outbox relay, lag and dead-letter reads) would
 * otherwise make a root trace of SQL spans every few seconds and drown the real ones. A span started with an
 * explicit parent taken from message headers (`contextFromCarrier`) is still recorded.
 */
export function untraced<T>(fn: () => T): T {
  return context.with(suppressTracing(context.active()), fn);
}

/** Context of a stored/received W3C carrier on a clean root (ignores a suppressed or unrelated active context). */
export function contextFromCarrier(carrier: Record<string, string>): Context {
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** OpenTelemetry messaging attributes of a JetStream publish. */
export function publishSpanAttributes(subject: string, messageId: string): Record<string, string> {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': 'send',
    'messaging.destination.name': subject,
    'messaging.message.id': messageId,
  };
}
