import { authenticator } from 'otplib';

const STEP_SECONDS = 30;
/** one step of clock drift either way */
const totp = authenticator.clone({ window: 1, step: STEP_SECONDS });

export function generateTotpSecret(): string {
  return totp.generateSecret(20);
}

export function otpauthUrl(email: string, secret: string, issuer = 'OpsDesk'): string {
  return totp.keyuri(email, issuer, secret);
}

export function totpCode(secret: string, atMs = Date.now()): string {
  return totp.clone({ epoch: atMs }).generate(secret);
}

/**
 * Returns the time step a code belongs to, or null when it does not match. Callers store the last
 * accepted step and refuse any step ≤ it: a code (or an older one) can never be used twice.
 */
export function matchTotpStep(secret: string, code: string, nowMs = Date.now()): number | null {
  const delta = totp.clone({ epoch: nowMs }).checkDelta(code, secret);
  if (delta === null) return null;
  return Math.floor(nowMs / 1000 / STEP_SECONDS) + delta;
}
