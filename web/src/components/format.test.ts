import { describe, expect, it } from 'vitest';
import { traceLink } from './format';

describe('traceLink', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';

  it('fills {trace_id} into the configured trace UI URL', () => {
    expect(traceLink('http://127.0.0.1:16686/trace/{trace_id}', id)).toBe(`http://127.0.0.1:16686/trace/${id}`);
    expect(traceLink('https://grafana.example.com/explore?traceId={trace_id}&x={trace_id}', id)).toBe(
      `https://grafana.example.com/explore?traceId=${id}&x=${id}`,
    );
  });

  it('gives no link without a template, without an id, or for anything that is not a W3C trace id', () => {
    expect(traceLink(null, id)).toBeNull();
    expect(traceLink(undefined, id)).toBeNull();
    expect(traceLink('http://j/trace/{trace_id}', null)).toBeNull();
    expect(traceLink('http://j/trace/{trace_id}', '../../admin')).toBeNull();
    expect(traceLink('http://j/trace/{trace_id}', id.toUpperCase())).toBeNull();
    expect(traceLink('http://j/trace/{trace_id}', `${id}00`)).toBeNull();
  });
});
