import { AUDIT_TABLE_GRANTS, dbRoleNames, loginUrl, provisionStatements, runtimeGrantStatements } from './provision';

describe('database logins (pure parts; the real behaviour is e2e/database-logins.e2e-spec.ts)', () => {
  it('derives every role from one prefix and refuses a prefix that is not a plain identifier', () => {
    expect(dbRoleNames('opsdesk')).toEqual({
      owner: 'opsdesk_owner',
      migrator: 'opsdesk_migrator',
      monitor: 'opsdesk_monitor',
      services: { auth: 'opsdesk_auth', inventory: 'opsdesk_inventory', audit: 'opsdesk_audit', artifacts: 'opsdesk_artifacts' },
    });
    for (const bad of ['Opsdesk', 'ops-desk', 'x"; DROP ROLE postgres; --', '', 'a'.repeat(41)]) expect(() => dbRoleNames(bad)).toThrow(/invalid database role prefix/);
  });

  it('keeps the trail append-only for the audit login: never UPDATE, DELETE or TRUNCATE on records or checkpoints', () => {
    for (const table of ['records', 'checkpoints']) expect(AUDIT_TABLE_GRANTS[table]).toEqual(['SELECT', 'INSERT']);
    for (const privileges of Object.values(AUDIT_TABLE_GRANTS)) expect(privileges).not.toContain('TRUNCATE');
    expect(runtimeGrantStatements('p').join('\n')).not.toMatch(/GRANT [^;]*TRUNCATE/);
  });

  it('quotes passwords as SQL literals and never makes a login superuser', () => {
    const sql = provisionStatements({ prefix: 'p', passwords: { auth: "it's" } }).join('\n');
    expect(sql).toContain(`ALTER ROLE "p_auth" PASSWORD 'it''s'`);
    expect(sql).not.toMatch(/\bSUPERUSER\b(?<!NOSUPERUSER)/);
    expect(sql).toMatch(/ALTER ROLE "p_migrator" SET role = 'p_owner'/);
  });

  it('builds a login URL from another, escaping the credentials', () => {
    expect(loginUrl('postgres://postgres:x@127.0.0.1:5432/db?sslmode=disable', 'p_auth', 'a/b@c')).toBe('postgres://p_auth:a%2Fb%40c@127.0.0.1:5432/db?sslmode=disable');
  });
});
