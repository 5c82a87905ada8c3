import type { FastifyInstance } from 'fastify';
import { Metrics } from './metrics';

/** RED metrics for every HTTP route, labelled by the route template (never the raw URL: bounded cardinality). */
export function installHttpMetrics(app: FastifyInstance): void {
  const hist = Metrics.httpDuration();
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    hist.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
