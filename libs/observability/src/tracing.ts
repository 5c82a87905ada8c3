import { ROOT_CONTEXT, context, isSpanContextValid, propagation, trace, type Context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { hostname } from 'node:os';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';

let sdk: NodeSDK | null = null;

/**
 * Starts the OpenTelemetry NodeSDK. Must run before Nest (and pg/http) are required, so main.ts calls it
 * first. Without OTEL_EXPORTER_OTLP_ENDPOINT spans are still created (trace ids reach logs and NATS headers)
 * but nothing is exported.
 */
export function startTracing(serviceName: string, endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT): void {
  if (sdk) return;
  const processors: SpanProcessor[] = endpoint
    ? [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }))]
    : [new NoopSpanProcessor()];
  sdk = new NodeSDK({
    resource: resourceFromAttributes(tracingResourceAttributes(serviceName, process.env)),
    spanProcessors: processors,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)/.test(req.url ?? '') }),
      new PgInstrumentation(),
    ],
  });
  sdk.start();
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
  await s.shutdown().catch(() => undefined);
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
