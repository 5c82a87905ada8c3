import { Injectable, type PipeTransform } from '@nestjs/common';
import type { ZodType } from 'zod';
import { AppError, ErrorCodes } from '@opsdesk/contracts';
import { zodFieldErrors } from '@opsdesk/messaging';

/** Validates a body or query against a contracts schema; failures are 400 problems with field errors. */
@Injectable()
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  // public: the OpenAPI document describes a route's body and query with the schema its pipe validates with
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema's input type is whatever arrives
  constructor(readonly schema: ZodType<T, any, any>) {}

  transform(value: unknown): T {
    const r = this.schema.safeParse(value ?? {});
    if (!r.success) throw new AppError(ErrorCodes.VALIDATION_FAILED, 'Request validation failed', zodFieldErrors(r.error));
    return r.data;
  }
}
