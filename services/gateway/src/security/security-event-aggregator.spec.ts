import type { NewEvent } from '@opsdesk/contracts';
import { SecurityEventAggregator } from './security-event-aggregator';

const event = (ip: string, id: string, route = 'POST /api/auth/login'): NewEvent => ({
  type: 'gateway.rate.limited',
  actor: { user_id: null, email: null, ip, user_agent: null },
  request_id: id,
  subject: { entity_type: 'route', entity_id: route },
  data: { status: 429, bucket: 'auth attempts' },
});

describe('SecurityEventAggregator', () => {
  let now = 0;
  let out: NewEvent[] = [];
  const make = (maxKeys = 100) => new SecurityEventAggregator((e) => out.push(e), { windowMs: 60_000, maxKeys, now: () => now });
  beforeEach(() => {
    now = 1_000_000;
    out = [];
  });

  it('emits the first event of a window at once and the repeats as one summary with a count', () => {
    const agg = make();
    for (let i = 0; i < 1000; i++) agg.report(event('198.51.100.1', `r${i}`), 'auth attempts');
    expect(out).toHaveLength(1);
    expect(out[0].request_id).toBe('r0');
    agg.flush();
    expect(out).toHaveLength(1); // the window is still open
    now += 60_000;
    agg.flush();
    expect(out).toHaveLength(2);
    expect(out[1]).toMatchObject({ request_id: null, actor: { ip: '198.51.100.1' }, data: { aggregated: true, count: 999, bucket: 'auth attempts' } });
    expect(agg.size).toBe(0);
  });

  it('keeps sources, routes and reasons apart', () => {
    const agg = make();
    agg.report(event('198.51.100.1', 'a'), 'auth attempts');
    agg.report(event('198.51.100.2', 'b'), 'auth attempts');
    agg.report(event('198.51.100.1', 'c', 'GET /api/hosts'), 'auth attempts');
    agg.report(event('198.51.100.1', 'd'), 'api');
    expect(out.map((e) => e.request_id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a new window starts with a single event again (and reports the last window)', () => {
    const agg = make();
    agg.report(event('198.51.100.1', 'a'), 'x');
    agg.report(event('198.51.100.1', 'b'), 'x');
    now += 61_000;
    agg.report(event('198.51.100.1', 'c'), 'x');
    expect(out.map((e) => [e.request_id, (e.data as { count?: number }).count])).toEqual([
      ['a', undefined],
      [null, 1],
      ['c', undefined],
    ]);
  });

  it('bounds the keys: past the limit, new sources share one key with no single actor', () => {
    const agg = make(10);
    for (let i = 0; i < 10_000; i++) agg.report(event(`10.0.${i >> 8}.${i & 255}`, `r${i}`), 'x');
    expect(agg.size).toBe(11);
    expect(out).toHaveLength(11);
    agg.flush(true);
    expect(out).toHaveLength(12);
    expect(out[11]).toMatchObject({ actor: null, data: { count: 10_000 - 11, sources: 'many' } });
  });
});
