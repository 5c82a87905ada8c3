import { generateTotpSecret, matchTotpStep, otpauthUrl, totpCode } from './totp';

describe('totp', () => {
  const secret = generateTotpSecret();
  const now = 1_700_000_000_000;

  it('matches the current code and returns its step', () => {
    expect(matchTotpStep(secret, totpCode(secret, now), now)).toBe(Math.floor(now / 30000));
  });

  it('accepts one step of drift and refuses older codes', () => {
    expect(matchTotpStep(secret, totpCode(secret, now - 30_000), now)).toBe(Math.floor(now / 30000) - 1);
    expect(matchTotpStep(secret, totpCode(secret, now - 120_000), now)).toBeNull();
    expect(matchTotpStep(secret, '000000', now) === null || totpCode(secret, now) === '000000').toBe(true);
  });

  it('builds an otpauth URI', () => {
    expect(otpauthUrl('a@b.c', secret)).toMatch(/^otpauth:\/\/totp\/OpsDesk:a%40b\.c\?secret=[A-Z2-7]+/);
  });
});
