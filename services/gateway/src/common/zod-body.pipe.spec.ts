import { z } from 'zod';
import { AppError } from '@opsdesk/contracts';
import { ZodPipe, skipWithCursorProblem } from './zod-body.pipe';

describe('skip with cursor', () => {
  it('is a problem only when both are given', () => {
    expect(skipWithCursorProblem({ skip: '5' })).toBeNull();
    expect(skipWithCursorProblem({ cursor: 'abc' })).toBeNull();
    expect(skipWithCursorProblem({ skip: '', cursor: 'abc' })).toBeNull();
    expect(skipWithCursorProblem(null)).toBeNull();
    expect(skipWithCursorProblem({ skip: '0', cursor: 'abc' })).toMatch(/use cursor/);
  });

  it('the pipe refuses it with a field error on skip, before the schema runs', () => {
    const pipe = new ZodPipe(z.object({ skip: z.coerce.number().optional(), cursor: z.string().optional() }));
    expect(pipe.transform({ skip: '2' })).toEqual({ skip: 2 });
    try {
      pipe.transform({ skip: '2', cursor: 'abc' });
      throw new Error('expected a validation error');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('COMMON.VALIDATION_FAILED');
      expect((err as AppError).errors).toEqual([{ field: 'skip', message: expect.stringContaining('use cursor') }]);
    }
  });
});
