import { randomUUID } from 'node:crypto';
import { EventTypes, eventSubject, parseEventEnvelope } from './events';
import { decodeCursor, encodeCursor } from './pagination';
import { passwordProblems } from './auth';

const valid = () => ({
  id: randomUUID(),
  type: EventTypes.USER_CREATED,
  version: 1,
  occurred_at: new Date().toISOString(),
  source: 'auth',
  actor: { user_id: randomUUID(), email: 'a@b.c', ip: '127.0.0.1', user_agent: 'curl' },
  request_id: 'req-1',
  subject: { entity_type: 'user', entity_id: randomUUID() },
  data: { email: 'a@b.c' },
});

describe('event envelope', () => {
  it('accepts the SPEC §5 envelope and builds its subject', () => {
    expect(parseEventEnvelope(valid())).toMatchObject({ ok: true });
    expect(eventSubject('opsdesk', EventTypes.USER_CREATED)).toBe('opsdesk.auth.user.created');
  });

  it.each([
    ['missing id', { id: undefined }],
    ['non-uuid id', { id: 'x' }],
    ['bad type', { type: 'NoDots' }],
    ['bad time', { occurred_at: 'yesterday' }],
    ['data not an object', { data: 'x' }],
    ['actor shape', { actor: { user_id: 1 } }],
  ])('refuses %s with a readable reason', (_name, patch) => {
    const r = parseEventEnvelope({ ...valid(), ...patch });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.length).toBeGreaterThan(3);
  });

  it('all event type names are unique', () => {
    const values = Object.values(EventTypes);
    expect(new Set(values).size).toBe(values.length);
  });
});

describe('cursors', () => {
  it('round-trip and reject garbage', () => {
    expect(decodeCursor(encodeCursor({ t: '2026-01-01', id: 'x' }))).toEqual({ t: '2026-01-01', id: 'x' });
    expect(decodeCursor('%%%')).toBeNull();
    expect(decodeCursor(Buffer.from('"str"').toString('base64url'))).toBeNull();
  });
});

describe('password policy', () => {
  it('lists every broken rule', () => {
    expect(passwordProblems('short')).toEqual([
      'must be at least 12 characters',
      'must mix at least three of: lower case, upper case, digits, symbols',
    ]);
    expect(passwordProblems('Correct-Horse-9')).toEqual([]);
    expect(passwordProblems('alice-Passw0rd!', 'alice@example.com')).toEqual(['must not contain the email name']);
  });
});
