import { waitFor } from './wait';

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : false), { intervalMs: 1 })).resolves.toBe(3);
  });

  it('fails naming what it waited for and the last error', async () => {
    await expect(
      waitFor(() => {
        throw new Error('not yet');
      }, { timeoutMs: 30, intervalMs: 5, what: 'the thing' }),
    ).rejects.toThrow(/waiting for the thing; last error: not yet/);
  });
});
