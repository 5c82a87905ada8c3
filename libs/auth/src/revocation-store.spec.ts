import { RevocationStore } from './revocation-store';

describe('RevocationStore (local state)', () => {
  it('revokes sessions, tokens and applies user cut-offs by issue time', () => {
    const s = new RevocationStore(3600_000);
    s.apply('sid.abc');
    s.apply('tok.t1');
    s.apply('user.u1', 1000);
    expect(s.isSessionRevoked('abc')).toBe(true);
    expect(s.isSessionRevoked('other')).toBe(false);
    expect(s.isTokenRevoked('t1')).toBe(true);
    expect(s.isUserCutOff('u1', 999)).toBe(true);
    expect(s.isUserCutOff('u1', 1000)).toBe(true);
    expect(s.isUserCutOff('u1', 1001)).toBe(false);
    expect(s.isUserCutOff('u2', 1)).toBe(false);
  });

  it('keeps the latest cut-off', () => {
    const s = new RevocationStore(3600_000);
    s.apply('user.u1', 2000);
    s.apply('user.u1', 1000);
    expect(s.isUserCutOff('u1', 1500)).toBe(true);
  });
});
