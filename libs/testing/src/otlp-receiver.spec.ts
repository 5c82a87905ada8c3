import { SpanKind, context, trace } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLP_SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from './otlp-receiver';
import { waitFor } from './wait';

// The receiver must decode what the services' exporter really sends, not a hand-made body: the OTLP/HTTP exporter
// (@opentelemetry/exporter-trace-otlp-http) serialises with JsonTraceSerializer and posts it as application/json.
// (The exporter itself loads its HTTP agent with a dynamic import, which jest's VM cannot run.)
describe('OTLP receiver', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver.close());

  it('decodes the OTLP/HTTP exporter’s spans: ids, parent, kind, attributes, links, resource', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'opsdesk-test', 'service.namespace': 'ns' }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('spec');
    const producer = tracer.startSpan('publish', { kind: SpanKind.PRODUCER });
    const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER, attributes: { n: 3, ok: true, s: 'x' } });
    const child = tracer.startSpan('child', { kind: SpanKind.CONSUMER, links: [{ context: producer.spanContext() }] }, trace.setSpan(context.active(), parent));
    for (const s of [child, parent, producer]) s.end();
    const r = await fetch(`${receiver.endpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JsonTraceSerializer.serializeRequest(memory.getFinishedSpans()),
    });
    expect(r.status).toBe(200);
    await waitFor(() => receiver.spans.length === 3, { what: 'three spans' });
    await provider.shutdown();

    const by = (name: string) => receiver.spans.find((s) => s.name === name)!;
    expect(by('parent')).toMatchObject({
      service: 'opsdesk-test',
      resource: expect.objectContaining({ 'service.namespace': 'ns' }),
      scope: 'spec',
      traceId: parent.spanContext().traceId,
      spanId: parent.spanContext().spanId,
      parentSpanId: null,
      kind: OTLP_SPAN_KIND.SERVER,
      attributes: { n: 3, ok: true, s: 'x' },
    });
    expect(by('child')).toMatchObject({ parentSpanId: parent.spanContext().spanId, kind: OTLP_SPAN_KIND.CONSUMER, links: [{ traceId: producer.spanContext().traceId, spanId: producer.spanContext().spanId }] });
    expect(by('child').endNs).toBeGreaterThanOrEqual(by('child').startNs);
    expect(by('child').startNs).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n);
    expect(receiver.rejected).toEqual([]);
  });

  it('answers anything but OTLP/JSON traces with an error and records it', async () => {
    const r = await fetch(`${receiver.endpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([1, 2]) });
    expect(r.status).toBe(415);
    expect(receiver.rejected).toEqual(['POST /v1/traces application/x-protobuf']);
  });
});
