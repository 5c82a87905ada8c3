import { JsonLogger } from './logger';
import { requestContext } from './request-context';

describe('JsonLogger', () => {
  it('writes one JSON object per line with service, level, request_id', () => {
    const lines: string[] = [];
    const logger = new JsonLogger('auth', 'info', (l) => lines.push(l));
    requestContext.run({ request_id: 'req-1' }, () => logger.log('hello', 'Ctx'));
    logger.debug('hidden');
    logger.error('boom', 'stack-trace', 'Ctx');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]);
    expect(first).toMatchObject({ level: 'info', service: 'auth', msg: 'hello', context: 'Ctx', request_id: 'req-1' });
    expect(lines[0].endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[1])).toMatchObject({ level: 'error', msg: 'boom', stack: 'stack-trace' });
  });
});
