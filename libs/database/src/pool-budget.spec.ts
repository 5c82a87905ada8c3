import { evaluatePoolBudget } from './pool-budget';

describe('evaluatePoolBudget', () => {
  it("refuses the issue's example: 30 per process × 30 processes against Postgres' default 100", () => {
    const v = evaluatePoolBudget({ poolMax: 30, processes: 30, reserved: 10, limit: 97 }, 'server');
    expect(v).toMatchObject({ ok: false, demand: 900, available: 87 });
    expect(v.message).toBe(
      'database pool budget exceeded: DB_CLIENT_PROCESSES 30 × (DB_POOL_SIZE + DB_MAX_OVERFLOW) 30 = 900 connections > 87 available (server 97 − DB_RESERVED_CONNECTIONS 10); lower the pool, put PgBouncer in front (then DB_MAX_CONNECTIONS = its max_client_conn) or raise max_connections',
    );
    expect(v.message).not.toContain('\n');
  });

  it('accepts a budget that fits exactly, and refuses one connection more', () => {
    expect(evaluatePoolBudget({ poolMax: 6, processes: 15, reserved: 10, limit: 100 }, 'x').ok).toBe(true);
    expect(evaluatePoolBudget({ poolMax: 6, processes: 15, reserved: 11, limit: 100 }, 'x').ok).toBe(false);
  });
});
