import { JwtVerificationError } from './jwt';

/**
 * Test helper shared by the JWT specs (a `.spec-helper.ts` file is not built into dist): what a verification
 * promise came to — the JwtVerificationError's reason, or 'accepted'. Any other error is rethrown.
 */
export async function verificationOutcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof JwtVerificationError) return err.reason;
    throw err;
  }
  return 'accepted';
}
