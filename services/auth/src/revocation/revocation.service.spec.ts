import { randomUUID } from 'node:crypto';
import { EventTypes, type EventEnvelope } from '@opsdesk/contracts';
import { REVOCATION_EVENT_TYPES, revocationsForEvent } from './revocation.service';

const ev = (type: string, data: Record<string, unknown>): EventEnvelope => ({
  id: randomUUID(),
  type,
  version: 1,
  occurred_at: new Date().toISOString(),
  source: 'auth',
  actor: null,
  request_id: null,
  subject: { entity_type: 'user', entity_id: 'u1' },
  data,
});

describe('revocationsForEvent', () => {
  it('revokes the session on logout and reuse detection', () => {
    expect(revocationsForEvent(ev(EventTypes.LOGOUT, { session_id: 's1' }))).toEqual([['sid.s1', { reason: 'auth.logout' }]]);
    expect(revocationsForEvent(ev(EventTypes.SESSION_REUSE_DETECTED, { session_id: 's2' }))[0][0]).toBe('sid.s2');
  });

  it('sets a user cut-off on deactivation and role change', () => {
    const r = revocationsForEvent(ev(EventTypes.USER_DEACTIVATED, { user_id: 'u1', cutoff_ms: 42, session_ids: ['a', 'b'] }));
    expect(r).toEqual([
      ['user.u1', { cutoff_ms: 42, reason: 'auth.user.deactivated' }],
      ['sid.a', { reason: 'auth.user.deactivated' }],
      ['sid.b', { reason: 'auth.user.deactivated' }],
    ]);
    expect(revocationsForEvent(ev(EventTypes.USER_ROLE_CHANGED, { user_id: 'u1', cutoff_ms: 7 }))).toHaveLength(1);
  });

  it('revokes API tokens and ignores unrelated events', () => {
    expect(revocationsForEvent(ev(EventTypes.TOKEN_REVOKED, { token_id: 't1' }))).toEqual([['tok.t1', { reason: 'auth.token.revoked' }]]);
    expect(revocationsForEvent(ev(EventTypes.LOGIN_SUCCEEDED, { session_id: 's1' }))).toEqual([]);
  });

  it('REVOCATION_EVENT_TYPES (what the consumer is handed) is exactly the auth events that imply a revocation', () => {
    // every field any case reads: an event of a type outside the list must imply nothing even with all of them
    const everything = { session_id: 's1', session_ids: ['s2'], user_id: 'u1', cutoff_ms: 42, token_id: 't1' };
    const authTypes = Object.values(EventTypes).filter((t) => t.startsWith('auth.'));
    expect(authTypes.length).toBeGreaterThan(REVOCATION_EVENT_TYPES.length);
    const implying = authTypes.filter((t) => revocationsForEvent(ev(t, everything)).length > 0);
    expect([...implying].sort()).toEqual([...REVOCATION_EVENT_TYPES].sort());
  });
});
