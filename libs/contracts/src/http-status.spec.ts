import { ALL_ERROR_CODES, HTTP_STATUS_BY_CODE, httpStatusForCode } from './http-status';
import { ArtifactsErrors, ErrorCodes } from './index';

describe('the error-code → HTTP status table', () => {
  it('has an explicit row for every code the contracts define (nothing guessed from a suffix)', () => {
    const missing = ALL_ERROR_CODES.filter((c) => !(c in HTTP_STATUS_BY_CODE));
    expect(missing).toEqual([]);
  });

  it('maps every row to a 4xx/5xx status', () => {
    for (const [code, status] of Object.entries(HTTP_STATUS_BY_CODE)) {
      expect([code, status >= 400 && status < 600]).toEqual([code, true]);
    }
  });

  it.each([
    [ArtifactsErrors.RANGE_NOT_SATISFIABLE, 416],
    [ErrorCodes.SERVICE_UNAVAILABLE, 503],
    [ErrorCodes.UPSTREAM_UNAVAILABLE, 503],
    [ErrorCodes.UPSTREAM_TIMEOUT, 504],
    [ErrorCodes.INVALID_CREDENTIALS, 401],
    [ErrorCodes.FORBIDDEN, 403],
    ['HTTP.405', 405],
    ['SOMEONE.UNREGISTERED_CODE', 500],
    ['HTTP.200', 500],
  ])('%s → %i', (code, status) => {
    expect(httpStatusForCode(code)).toBe(status);
  });
});
