import { Client } from 'pg';
import { EventTypes } from '@opsdesk/contracts';
import { DistSystem, OTLP_SPAN_KIND as KIND, startOtlpReceiver, waitFor, type OtlpReceiver, type ReceivedSpan } from '@opsdesk/testing';

/**
 * Issue 14, traces you can open: the real system from dist/ (five processes, as `npm start` runs them, started by
 * the shared launcher) exports to an OTLP/HTTP receiver inside the test. One host creation through the gateway must
 * arrive as ONE trace:
 *
 *   gateway   HTTP server  POST /api/hosts                      the root
 *   gateway   RPC client   rpc inventory.hosts.create           child of the HTTP span
 *   inventory RPC server   rpc <prefix>.inventory.hosts.create  child of the RPC client span (traceparent in the NATS headers)
 *   inventory SQL          INSERT … hosts, INSERT … outbox       children of the RPC server span
 *   inventory publish      <subject> publish (PRODUCER)         child of the span that wrote the outbox row (its stored
 *                                                              traceparent): the relay continues the request's trace
 *   audit     consume      consume … (CONSUMER)                 child of the publish span AND linked to it
 *   audit     SQL          inbox claim, INSERT … audit.records   children of the consumer span
 *
 * and while it happens (plus one full period of every poller) no background work — the outbox relay's polling, the
 * consumers' lag reads, the dead-letter and business gauges, /metrics scrapes, health checks, KV watches, a service
 * booting — makes a root span: the only roots in the window are the requests the test itself sends.
 */

const SERVICES = ['auth', 'inventory', 'audit', 'artifacts', 'gateway'] as const;
// the longest period of a background poller in the services (the consumers' lag timer, the dead-letter gauge: 5 s)
const LONGEST_POLL_MS = 5000;

let receiver: OtlpReceiver;
let system: DistSystem;
let token: string;

const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const describeSpan = (s: ReceivedSpan) =>
  `${s.service} ${KIND_NAMES[s.kind] ?? s.kind} "${s.name}" ${s.spanId} parent=${s.parentSpanId ?? '-'} ${JSON.stringify(s.attributes).slice(0, 160)}`;
const isSql = (s: ReceivedSpan) => (s.attributes['db.system.name'] ?? s.attributes['db.system']) === 'postgresql';
const statement = (s: ReceivedSpan) => String(s.attributes['db.query.text'] ?? s.attributes['db.statement'] ?? '');

/** The spans of one trace, with the lookups the assertions need. */
function traceOf(traceId: string) {
  const spans = receiver.spans.filter((s) => s.traceId === traceId);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const dump = () => spans.map(describeSpan).join('\n');
  return {
    spans,
    dump,
    roots: spans.filter((s) => !s.parentSpanId),
    /** spans whose parent never arrived: a broken chain */
    dangling: spans.filter((s) => s.parentSpanId && !byId.has(s.parentSpanId)).map(describeSpan),
    one(what: string, f: (s: ReceivedSpan) => boolean): ReceivedSpan {
      const found = spans.filter(f);
      if (found.length !== 1) throw new Error(`expected exactly one ${what} in trace ${traceId}, found ${found.length}:\n${dump()}`);
      return found[0];
    },
    childrenOf: (parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId),
  };
}

async function createHost(hostname: string, ip: string): Promise<string> {
  const r = await fetch(`${system.url}/api/hosts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ hostname, ip, environment: 'prod', os: 'linux', criticality: 'high', team: 'platform', tags: ['web'] }),
  });
  expect(r.status).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

/** What a Prometheus and the orchestrator's probes do all the time: scrapes and health checks run collectors
 * (SQL, JetStream reads) that must not become traces of their own. */
async function probeAll(): Promise<void> {
  for (const i of system.instances) {
    if (!i.proc) continue;
    for (const path of ['/metrics', '/readyz', '/healthz']) await fetch(`http://127.0.0.1:${system.probePort(i)}${path}`).then((r) => r.arrayBuffer()).catch(() => undefined);
  }
}

/** event id and trace id of each host's creation, from audit's records (the trace id the audit page links) */
async function auditRecords(hostIds: string[]): Promise<Map<string, { event_id: string; trace_id: string | null }>> {
  const db = new Client({ connectionString: system.databaseUrl });
  await db.connect();
  try {
    return await waitFor(
      async () => {
        const { rows } = await db.query<{ entity_id: string; event_id: string; trace_id: string | null }>(
          `SELECT entity_id, event_id, trace_id FROM audit.records WHERE type = $1 AND entity_id = ANY($2)`,
          [EventTypes.HOST_CREATED, hostIds],
        );
        return rows.length === hostIds.length && new Map(rows.map((r) => [r.entity_id, r]));
      },
      { timeoutMs: 60_000, what: `the audit records of ${hostIds.length} host creation(s)` },
    );
  } finally {
    await db.end();
  }
}

/** Keeps the window open until `arrived` holds and then one full period of every poller more, probing meanwhile. */
async function observe(arrived: () => boolean, what: string): Promise<bigint> {
  let at = 0;
  await waitFor(
    async () => {
      if (!at && arrived()) at = Date.now();
      if (at && Date.now() - at > LONGEST_POLL_MS + 1000) return true;
      await probeAll();
      return false;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: `${what} (received ${receiver.spans.length} spans)` },
  );
  return nowNs();
}

/** Roots in [from, to] other than the test's own requests: background work traced as a root. */
function strayRoots(from: bigint, to: bigint, own: Set<string>): string[] {
  return receiver.spans.filter((s) => !s.parentSpanId && s.startNs >= from && s.startNs <= to && !own.has(s.spanId)).map(describeSpan);
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  system = await DistSystem.start({
    label: 'otlp',
    services: SERVICES,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      // export within a fraction of a second instead of the SDK's 5 s
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_SERVICE_NAMESPACE: 'opsdesk-e2e',
      OPSDESK_VERSION: '9.9.9-e2e',
    },
  });
  const r = await fetch(`${system.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: system.admin.email, password: system.admin.password }),
  });
  expect(r.status).toBe(200);
  token = ((await r.json()) as { access_token: string }).access_token;
}, 240_000);

afterAll(async () => {
  await system?.stop();
  await receiver?.close();
});

describe('traces exported over OTLP by the system from dist/', () => {
  it('one host creation is one trace: gateway → RPC → inventory SQL → outbox publish → audit consumer; no background root meanwhile', async () => {
    const windowStart = nowNs();
    const hostId = await createHost(`otlp-${Date.now().toString(36)}`, '192.0.2.77');
    await probeAll();
    const record = (await auditRecords([hostId])).get(hostId)!;
    expect(record.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const traceId = record.trace_id as string;
    const windowEnd = await observe(
      () => receiver.spans.some((s) => s.traceId === traceId && s.service === 'opsdesk-audit' && s.kind === KIND.CONSUMER),
      `the audit consumer span of trace ${traceId}`,
    );
    expect(receiver.rejected).toEqual([]);
    const t = traceOf(traceId);

    // one root, no dangling parent
    expect(t.roots.map(describeSpan)).toEqual([expect.stringContaining('opsdesk-gateway server')]);
    expect(t.dangling).toEqual([]);

    // gateway: the HTTP server span, named by its route; the RPC client span its child
    const http = t.roots[0];
    expect(http).toMatchObject({ service: 'opsdesk-gateway', kind: KIND.SERVER, name: 'POST /api/hosts' });
    expect(http.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.path': '/api/hosts', 'http.route': '/api/hosts', 'http.response.status_code': 201 });
    const rpcClient = t.one('gateway RPC client span', (s) => s.service === 'opsdesk-gateway' && s.kind === KIND.CLIENT);
    expect(rpcClient).toMatchObject({ parentSpanId: http.spanId, attributes: expect.objectContaining({ 'rpc.method': 'inventory.hosts.create' }) });

    // inventory: the RPC server span continues the client's (through the NATS headers); the SQL below it
    const rpcServer = t.one('inventory RPC server span', (s) => s.service === 'opsdesk-inventory' && s.kind === KIND.SERVER);
    expect(rpcServer.parentSpanId).toBe(rpcClient.spanId);
    expect(rpcServer.attributes['rpc.subject']).toBe(`${system.env.RPC_SUBJECT_PREFIX}.inventory.hosts.create`);
    const sql = t.childrenOf(rpcServer).filter(isSql);
    // the host, its revision and its event are written by one statement (CTEs) or several: either way under this span
    const hostInsert = sql.find((s) => /\bINSERT INTO inventory\.hosts\b/i.test(statement(s)));
    const outboxInsert = sql.find((s) => /\bINSERT INTO "inventory"\.outbox\b/i.test(statement(s)));
    if (!hostInsert || !outboxInsert) throw new Error(`no INSERT into inventory.hosts and inventory.outbox under the RPC server span:\n${t.dump()}`);

    // the outbox relay: the publish span continues the trace stored with the row, whose writer ran in the RPC
    // server span (SQL spans are never active around other code)
    const publish = t.one('outbox publish span', (s) => s.kind === KIND.PRODUCER);
    const subject = `${system.subjectPrefix}.${EventTypes.HOST_CREATED}`;
    expect(publish).toMatchObject({ service: 'opsdesk-inventory', name: `${subject} publish`, parentSpanId: rpcServer.spanId });
    expect(publish.attributes).toEqual({ 'messaging.system': 'nats', 'messaging.operation.type': 'send', 'messaging.destination.name': subject, 'messaging.message.id': record.event_id });
    // after the row was written: the statement's span ends when its result is read, while the row is visible (and the
    // relay, woken by NOTIFY on its own connection, may publish it) from the server's commit on — so the start bounds it
    expect(publish.startNs).toBeGreaterThanOrEqual(outboxInsert.startNs);

    // audit: the consumer span is the publish span's child and links to it; the inbox claim and the record are its SQL
    const consumer = t.one('audit consumer span', (s) => s.service === 'opsdesk-audit' && s.kind === KIND.CONSUMER);
    expect(consumer.parentSpanId).toBe(publish.spanId);
    expect(consumer.links).toEqual([{ traceId, spanId: publish.spanId }]);
    expect(consumer.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': subject, 'messaging.consumer.group.name': expect.any(String) });
    const auditSql = t.childrenOf(consumer).filter(isSql).map(statement);
    expect(auditSql).toEqual(expect.arrayContaining([expect.stringMatching(/^INSERT INTO "audit"\.inbox\b/), expect.stringMatching(/^INSERT INTO audit\.records\b/)]));
    // nothing of the trace came from services the request never touched
    expect([...new Set(t.spans.map((s) => s.service))].sort()).toEqual(['opsdesk-audit', 'opsdesk-gateway', 'opsdesk-inventory']);

    // resource attributes: which service, namespace, version and deployment each span came from
    for (const s of [http, rpcServer, consumer])
      expect(s.resource).toMatchObject({ 'service.namespace': 'opsdesk-e2e', 'service.version': '9.9.9-e2e', 'deployment.environment': 'test', 'host.name': expect.any(String) });

    // no root span from background work in the window: the only root is the test's request
    expect(strayRoots(windowStart, windowEnd, new Set([http.spanId]))).toEqual([]);
  }, 180_000);

  it('events consumed as one batch: the batch span continues the first event and links every publish; its SQL is under it; a restart makes no root', async () => {
    const windowStart = nowNs();
    // audit down while hosts are created: their events wait in the stream and reach it as one batch when it is back
    await system.stopInstance('audit');
    const run = Date.now().toString(36);
    const hostIds: string[] = [];
    for (let i = 0; i < 5; i++) hostIds.push(await createHost(`otlpb-${run}-${i}`, `192.0.2.${100 + i}`));
    const publishes = () => receiver.spans.filter((s) => s.kind === KIND.PRODUCER && s.startNs >= windowStart);
    await waitFor(() => publishes().length >= hostIds.length, { timeoutMs: 30_000, what: 'the publish span of every creation' });
    await system.startInstance('audit');
    const records = await auditRecords(hostIds);
    const consumers = () => receiver.spans.filter((s) => s.service === 'opsdesk-audit' && s.kind === KIND.CONSUMER && s.startNs >= windowStart);
    const windowEnd = await observe(() => consumers().reduce((n, c) => n + c.links.length, 0) >= hostIds.length, 'consumer spans linking every publish');
    expect(receiver.rejected).toEqual([]);

    // every creation is its own trace up to its publish span; the event's trace id is what audit recorded
    const publishOf = new Map<string, ReceivedSpan>();
    for (const id of hostIds) {
      const rec = records.get(id)!;
      const t = traceOf(rec.trace_id as string);
      expect(t.roots.map((s) => s.name)).toEqual(['POST /api/hosts']);
      expect(t.dangling).toEqual([]);
      publishOf.set(rec.event_id, t.one('publish span', (s) => s.kind === KIND.PRODUCER && s.attributes['messaging.message.id'] === rec.event_id));
    }
    const publishIds = new Set([...publishOf.values()].map((p) => p.spanId));

    // each consumer span: a child of the publish span of its first event, linked to the publish span of every event
    // it took; together they link each publish exactly once; at least one took several (the batch path)
    const linked: string[] = [];
    for (const c of consumers()) {
      expect(c.links.length).toBeGreaterThan(0);
      for (const l of c.links) expect(publishIds.has(l.spanId)).toBe(true);
      expect({ parent: c.parentSpanId, traceId: c.traceId }).toEqual({ parent: c.links[0].spanId, traceId: c.links[0].traceId });
      if (c.links.length > 1) expect(c).toMatchObject({ name: `consume batch of ${c.links.length}`, attributes: expect.objectContaining({ 'messaging.batch.message_count': c.links.length }) });
      linked.push(...c.links.map((l) => l.spanId));
    }
    expect(linked.sort()).toEqual([...publishIds].sort());
    const batch = consumers().find((c) => c.links.length > 1);
    if (!batch) throw new Error(`no consumer span took several events:\n${consumers().map(describeSpan).join('\n')}`);
    // the batch's transaction — claims in the inbox, the records, the commit — is its SQL, not a root of its own
    const batchSql = receiver.spans.filter((s) => s.parentSpanId === batch.spanId && isSql(s)).map(statement);
    expect(batchSql).toEqual(expect.arrayContaining(['START TRANSACTION', expect.stringMatching(/^INSERT INTO "audit"\.inbox\b/), expect.stringMatching(/^INSERT INTO audit\.records\b/), 'COMMIT']));

    // the only roots in the window are the test's requests (audit's stop and boot, the pollers and probes make none)
    const own = new Set(receiver.spans.filter((s) => !s.parentSpanId && s.service === 'opsdesk-gateway' && s.name === 'POST /api/hosts').map((s) => s.spanId));
    expect(own.size).toBeGreaterThanOrEqual(hostIds.length);
    expect(strayRoots(windowStart, windowEnd, own)).toEqual([]);
  }, 240_000);
});
