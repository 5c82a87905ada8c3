import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per process. Metric names follow the deployment guide (opsdesk_*); every series carries a
 * `service` default label so one Prometheus job can scrape all services.
 */
export const metricsRegistry = new Registry();
let defaultsStarted = false;

export function initMetrics(service: string): void {
  metricsRegistry.setDefaultLabels({ service });
  if (!defaultsStarted) {
    collectDefaultMetrics({ register: metricsRegistry });
    defaultsStarted = true;
  }
}

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  const existing = metricsRegistry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames: [...labelNames], registers: [metricsRegistry] });
}

export function gauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  collect?: (this: Gauge<L>) => void | Promise<void>,
): Gauge<L> {
  const existing = metricsRegistry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [metricsRegistry], collect });
}

export function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
): Histogram<L> {
  const existing = metricsRegistry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram<L>({ name, help, labelNames: [...labelNames], buckets, registers: [metricsRegistry] });
}

/** Metrics shared by every service, created once here so names never drift. */
export const Metrics = {
  httpDuration: () =>
    histogram('opsdesk_http_request_duration_seconds', 'HTTP request duration (RED)', ['method', 'route', 'status_code']),
  rpcDuration: () =>
    histogram('opsdesk_rpc_duration_seconds', 'RPC handler duration by pattern and outcome', ['pattern', 'outcome']),
  rpcClientDuration: () =>
    histogram('opsdesk_rpc_client_duration_seconds', 'RPC round trip seen by the caller', ['pattern', 'outcome']),
  rpcDenied: () =>
    counter('opsdesk_rpc_denied_total', 'RPCs refused by the caller-context check (docs/SECURITY.md)', ['pattern', 'reason']),
  outboxPublished: () => counter('opsdesk_outbox_published_total', 'Events published from the outbox'),
  outboxPublishFailures: () => counter('opsdesk_outbox_publish_failures_total', 'Failed outbox publish attempts'),
  eventsConsumed: () =>
    counter('opsdesk_events_consumed_total', 'Events handled by consumers', ['consumer', 'outcome']),
  consumerLag: () => gauge('opsdesk_consumer_pending_messages', 'Messages not yet delivered to a consumer', ['consumer']),
  consumerPaused: () =>
    gauge('opsdesk_consumer_paused', '1 while a consumer has stopped pulling because a dependency (database, NATS) is unavailable', ['consumer']),
  deadLetters: () => counter('opsdesk_dead_letters_total', 'Messages moved to the dead-letter table', ['consumer']),
  invalidMessages: () => counter('opsdesk_invalid_messages_total', 'Malformed messages terminated', ['consumer']),
  logins: () => counter('opsdesk_logins_total', 'Login attempts by outcome', ['outcome']),
  auditVerifications: () =>
    counter('opsdesk_audit_verifications_total', 'Audit chain verifications by result (ok, failed: a hash, link or signature did not check)', ['result']),
  auditLastVerification: () =>
    gauge('opsdesk_audit_last_verification_timestamp_seconds', 'When this replica last finished an audit chain verification (Unix time)', ['result']),
};

/** Counts one finished audit chain verification (API or scheduled). */
export function recordAuditVerification(ok: boolean): void {
  const result = ok ? 'ok' : 'failed';
  Metrics.auditVerifications().inc({ result });
  Metrics.auditLastVerification().set({ result }, Date.now() / 1000);
}
