import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 11 (security at the edge):
 * - second-factor failures lock the account on their own counter (`mfa_failures`, `mfa_locked_until`): that
 *   lock cannot be bypassed, while a password lock can by a correct password plus a correct second factor;
 * - personal API tokens carry a scope. Tokens made before scopes acted with the owner's full role, so they
 *   get the scope matching that role (never more than the role allows).
 */
export class EdgeSecurity1764600000000 implements MigrationInterface {
  name = 'EdgeSecurity1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.users ADD COLUMN mfa_failures int NOT NULL DEFAULT 0, ADD COLUMN mfa_locked_until timestamptz`);
    await q.query(`ALTER TABLE auth.api_tokens ADD COLUMN scope text NOT NULL DEFAULT 'read' CHECK (scope IN ('read','write','admin'))`);
    await q.query(`
      UPDATE auth.api_tokens t SET scope = CASE u.role WHEN 'admin' THEN 'admin' WHEN 'operator' THEN 'write' ELSE 'read' END
        FROM auth.users u WHERE u.id = t.user_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.api_tokens DROP COLUMN scope`);
    await q.query(`ALTER TABLE auth.users DROP COLUMN mfa_locked_until, DROP COLUMN mfa_failures`);
  }
}
