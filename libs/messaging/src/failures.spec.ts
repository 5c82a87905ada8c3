import { classifyFailure, TransientError } from './failures';

/** Error shapes as node-postgres, TypeORM, pg-pool, nats.js and RpcClient really produce them. */
const pgError = (code: string, message = 'pg error') => Object.assign(new Error(message), { code });
const typeormWrapped = (driverError: Error) => Object.assign(new Error(driverError.message), { name: 'QueryFailedError', driverError });

describe('classifyFailure', () => {
  it.each([
    ['admin shutdown (fast stop)', pgError('57P01', 'terminating connection due to administrator command')],
    ['crash shutdown (immediate stop)', pgError('57P02')],
    ['cannot connect now (starting up)', pgError('57P03', 'the database system is starting up')],
    ['connection failure', pgError('08006')],
    ['too many connections', pgError('53300')],
    ['disk full', pgError('53100')],
    ['deadlock', pgError('40P01')],
    ['serialization failure', pgError('40001')],
    ['statement timeout', pgError('57014')],
    ['socket refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['pool exhausted', new Error('timeout exceeded when trying to connect')],
    ['connection terminated', new Error('Connection terminated unexpectedly')],
    // seen by the fault suite during a Postgres fast stop: the transaction's connection went away under it
    ['a released query runner (TypeORM)', Object.assign(new Error('Database connection provided by a query runner was already released, cannot continue to use its querying methods anymore.'), { name: 'QueryRunnerProviderAlreadyReleasedError' })],
    ['a client closed under the query (node-postgres)', new Error('Client was closed and is not queryable')],
    ['a rollback after the connection died (TypeORM)', new Error('Transaction is not started yet, start transaction before committing or rolling it back.')],
    ['wrapped by TypeORM', typeormWrapped(pgError('57P01'))],
    ['as a cause', new Error('outer', { cause: pgError('08001') })],
    ['NATS timeout', Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' })],
    ['NATS no responders', Object.assign(new Error('503'), { code: '503' })],
    ['NATS closed', Object.assign(new Error('CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' })],
    ['another service unavailable (RpcCallError)', Object.assign(new Error('x'), { payload: { code: 'GATEWAY.UPSTREAM_UNAVAILABLE', message: 'x' } })],
    ['explicitly transient', new TransientError('try later')],
  ])('%s is a dependency failure', (_name, err) => {
    expect(classifyFailure(err)).toBe('dependency');
  });

  it.each([
    ['a unique violation', pgError('23505', 'duplicate key value violates unique constraint')],
    ['a check violation', pgError('23514')],
    ['bad input syntax', pgError('22P02')],
    ['undefined column (a bug)', pgError('42703')],
    ['a handler rejecting the event', new Error('host not found')],
    ['a service saying the request is invalid', Object.assign(new Error('x'), { payload: { code: 'COMMON.VALIDATION_FAILED', message: 'x' } })],
    ['a thrown string', 'boom'],
    ['null', null],
  ])('%s is the message\'s own failure', (_name, err) => {
    expect(classifyFailure(err)).toBe('message');
  });
});
