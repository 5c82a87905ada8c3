import { metricsRegistry } from '@opsdesk/observability';
import { GatewayEventBuffer } from './gateway-event.publisher';

const event = (n: number) => ({
  type: 'gateway.request.denied',
  actor: { user_id: 'u', email: null, ip: '10.0.0.1', user_agent: null },
  request_id: `r${n}`,
  subject: { entity_type: 'route', entity_id: 'GET /api/audit' },
  data: { n },
});

async function dropped(): Promise<number> {
  const m = await metricsRegistry.getSingleMetric('opsdesk_gateway_events_dropped_total')?.get();
  return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
}

describe('GatewayEventBuffer', () => {
  it('keeps events while NATS fails and publishes them in order with the event id as Nats-Msg-Id', async () => {
    let down = true;
    const sent: Array<{ subject: string; msgID: string; n: number }> = [];
    const js = {
      publish: jest.fn(async (subject: string, data: Uint8Array, opts?: { msgID?: string }) => {
        if (down) throw new Error('connection closed');
        sent.push({ subject, msgID: opts?.msgID ?? '', n: (JSON.parse(Buffer.from(data).toString()) as { data: { n: number } }).data.n });
        return { seq: sent.length, duplicate: false, stream: 'S', domain: '' };
      }),
    };
    const buf = new GatewayEventBuffer(js as never, { subjectPrefix: 'p.opsdesk', maxBackoffMs: 20 });
    const ids = [1, 2, 3].map((n) => buf.emit(event(n))!.id);
    // instead of sleeping: wait until the buffer has tried (and failed) a few times while NATS is down
    const tried = Date.now() + 5000;
    while (js.publish.mock.calls.length < 3 && Date.now() < tried) await new Promise((r) => setTimeout(r, 5));
    expect(js.publish.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(sent).toHaveLength(0);
    expect(buf.size).toBe(3);
    down = false;
    const deadline = Date.now() + 5000;
    while (sent.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(sent.map((s) => s.n)).toEqual([1, 2, 3]);
    expect(sent.map((s) => s.msgID)).toEqual(ids);
    expect(sent[0].subject).toBe('p.opsdesk.gateway.request.denied');
    await buf.close();
  });

  it('drops and counts beyond the bound, never throws', async () => {
    const js = { publish: jest.fn(async () => Promise.reject(new Error('down'))) };
    const buf = new GatewayEventBuffer(js as never, { subjectPrefix: 'p', maxBuffered: 2, maxBackoffMs: 10 });
    const before = await dropped();
    expect(buf.emit(event(1))).not.toBeNull();
    expect(buf.emit(event(2))).not.toBeNull();
    expect(buf.emit(event(3))).toBeNull();
    expect(await dropped()).toBe(before + 1);
    await buf.close(50);
    expect(await dropped()).toBe(before + 3);
  });
});
