import { GENESIS_HASH, canonicalJson, recordHash, sanitize, sha256Hex, type RecordBody } from './canonical';
import { traceIdFromTraceparent } from './traceparent';

const body: RecordBody = {
  seq: 1,
  event_id: '6f1c1c1e-8a53-4f0e-9d6a-6d3c9b1f2a10',
  type: 'auth.login.succeeded',
  source: 'auth',
  occurred_at: '2024-01-01T00:00:00.000Z',
  recorded_at: '2024-01-01T00:00:00.001Z',
  actor: { user_id: 'u1', email: 'a@b.c', ip: '10.0.0.1', user_agent: 'ua' },
  entity_type: 'user',
  entity_id: 'u1',
  request_id: 'r1',
  trace_id: null,
  data: { b: 1, a: [1, 'x', null] },
};

describe('canonical JSON', () => {
  it('sorts keys at every depth, no whitespace, omits undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 'é' }], c: undefined } })).toBe('{"a":{"d":[2,{"y":"é","z":1}]},"b":1}');
    expect(canonicalJson([undefined, NaN, 1e21, -0.5])).toBe('[null,null,1e+21,-0.5]');
  });

  it('does not depend on key order', () => {
    expect(canonicalJson({ x: 1, y: { b: 2, a: 1 } })).toBe(canonicalJson({ y: { a: 1, b: 2 }, x: 1 }));
  });
});

describe('record hash', () => {
  it('is SHA-256 of prev_hash followed by the canonical body, and changes with any field', () => {
    const h = recordHash(GENESIS_HASH, body);
    expect(h).toBe(sha256Hex(GENESIS_HASH + canonicalJson(body)));
    expect(recordHash(GENESIS_HASH, { ...body, data: { b: 1, a: [1, 'x', null], c: 0 } })).not.toBe(h);
    expect(recordHash('1'.repeat(64), body)).not.toBe(h);
    // extra properties (prev_hash, hash, kind) are not part of the body
    expect(recordHash(GENESIS_HASH, { ...body, hash: 'x', kind: 'record' } as RecordBody)).toBe(h);
  });

  it('replaces NUL characters that PostgreSQL cannot store', () => {
    expect(sanitize({ 'a\u0000': ['x\u0000y'] })).toEqual({ 'a\uFFFD': ['x\uFFFDy'] });
  });
});

describe('traceparent', () => {
  it('extracts the trace id', () => {
    expect(traceIdFromTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traceIdFromTraceparent('garbage')).toBeNull();
    expect(traceIdFromTraceparent(undefined)).toBeNull();
  });
});
