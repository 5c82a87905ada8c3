import { ErrorCodes } from '@opsdesk/contracts';
import { statusForCode } from './problem';

describe('statusForCode', () => {
  it('answers a refused caller context as a server fault (500), not as the client’s mistake (its name ends in INVALID)', () => {
    expect(statusForCode(ErrorCodes.RPC_CONTEXT_INVALID)).toBe(500);
    // the role re-check of a service stays a 403 like the gateway's own RBAC refusal
    expect(statusForCode(ErrorCodes.FORBIDDEN)).toBe(403);
  });
});
