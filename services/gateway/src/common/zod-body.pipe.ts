import { Injectable, type PipeTransform } from '@nestjs/common';
import type { ZodType } from 'zod';
import { AppError, ErrorCodes } from '@opsdesk/contracts';
import { zodFieldErrors } from '@opsdesk/messaging';

/**
 * `skip` (offset) is accepted on every list for compatibility with the original OpsDesk, but a page is either
 * an offset or a keyset position: both at once is ambiguous, so it is refused the same way on every list.
 */
export function skipWithCursorProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  return v.skip !== undefined && v.skip !== '' && v.cursor !== undefined && v.cursor !== ''
    ? 'cannot be combined with cursor: use cursor (the next_cursor of the previous page) alone to page on'
    : null;
}

/** Validates a body or query against a contracts schema; failures are 400 problems with field errors. */
@Injectable()
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  // public: the OpenAPI document describes a route's body and query with the schema its pipe validates with
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema's input type is whatever arrives
  constructor(readonly schema: ZodType<T, any, any>) {}

  transform(value: unknown): T {
    const skipProblem = skipWithCursorProblem(value);
    if (skipProblem) throw new AppError(ErrorCodes.VALIDATION_FAILED, 'skip cannot be combined with cursor; use cursor to page', [{ field: 'skip', message: skipProblem }]);
    const r = this.schema.safeParse(value ?? {});
    if (!r.success) throw new AppError(ErrorCodes.VALIDATION_FAILED, 'Request validation failed', zodFieldErrors(r.error));
    return r.data;
  }
}
