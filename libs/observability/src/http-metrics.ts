import type { FastifyInstance } from 'fastify';
import { trace } from '@opentelemetry/api';
import { Metrics } from './metrics';

/** RED metrics for every HTTP route, labelled by the route template (never the raw URL: bounded cardinality). */
export function installHttpMetrics(app: FastifyInstance): void {
  const hist = Metrics.httpDuration();
  // The HTTP server span knows only the method (the instrumentation sees Node's request, not Fastify's router):
  // name it after the route template, as the trace UI lists it (`POST /api/hosts`, never the raw URL).
  // A callback hook, not an async one: no promise per request when tracing records nothing (no exporter).
  app.addHook('onRequest', (request, _reply, done) => {
    const span = trace.getActiveSpan();
    const route = request.routeOptions?.url;
    if (route && span?.isRecording()) {
      span.setAttribute('http.route', route);
      span.updateName(`${request.method} ${route}`);
    }
    done();
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    hist.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
