/**
 * The gateway owns no schema, so nothing it loads may pull in TypeORM or pg: they cost every gateway ≈ 6 MB of
 * heap and ~300 modules for code it never runs (docs/PERFORMANCE.md, change 16). The shared libraries load them
 * only where a schema is configured (MessagingModule with `schema`, serviceInfrastructure, the outbox listener).
 * A top-level import of either anywhere on the gateway's path fails this test.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the test is about what requiring these modules loads */
const loaded: string[] = [];
jest.mock('typeorm', () => {
  loaded.push('typeorm');
  return jest.requireActual('typeorm');
});
jest.mock('@nestjs/typeorm', () => {
  loaded.push('@nestjs/typeorm');
  return jest.requireActual('@nestjs/typeorm');
});
jest.mock('pg', () => {
  loaded.push('pg');
  return jest.requireActual('pg');
});

describe('gateway modules', () => {
  it('load neither TypeORM nor pg', () => {
    jest.isolateModules(() => {
      require('./app.module');
      require('./bootstrap');
    });
    expect(loaded).toEqual([]);
  });

  it('the check sees a database library that is loaded (control)', () => {
    jest.isolateModules(() => {
      require('@opsdesk/database');
    });
    expect(loaded).toContain('typeorm');
  });
});
