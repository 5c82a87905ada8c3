import type { MigrationInterface, QueryRunner } from 'typeorm';
import { queryRows, type SqlQuery } from '@opsdesk/messaging';

/**
 * Internal tokens are single-use. A token (the gateway's `Authorization: Internal …`, and the edge nginx's artifact
 * tickets, which are the same tokens) is bound to one service, method, path and caller and lives 60 s; without this
 * ledger anyone who saw one on the internal network could replay that exact request within the minute (upload the
 * same-named bytes again as the same user, fetch the same download). The ledger lives in the service's own schema,
 * so every replica of a service sees the same claims.
 */
export interface InternalTokenLedger {
  /** true for the first claim of a token id, false for every later one */
  claim(tokenId: string, expiresAtMs: number): Promise<boolean>;
}

/** how many claims between two prunes of expired ids */
const PRUNE_EVERY = 500;
/** kept past their expiry: the gateway's clock and the database's may differ a little */
const PRUNE_MARGIN = "interval '5 minutes'";

export class PgInternalTokenLedger implements InternalTokenLedger {
  private claims = 0;
  private readonly table: string;

  constructor(
    private readonly db: SqlQuery,
    schema: string,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`not a schema name: ${schema}`);
    this.table = `"${schema}".internal_tokens_used`;
  }

  async claim(tokenId: string, expiresAtMs: number): Promise<boolean> {
    const rows = await queryRows(
      this.db,
      `INSERT INTO ${this.table} (token_id, expires_at) VALUES ($1, to_timestamp($2::double precision / 1000))
       ON CONFLICT (token_id) DO NOTHING RETURNING token_id`,
      [tokenId, expiresAtMs],
    );
    if (++this.claims % PRUNE_EVERY === 0) {
      // an expired id can never be claimed again (the token itself is refused), so its row is dead weight
      this.db.query(`DELETE FROM ${this.table} WHERE expires_at < now() - ${PRUNE_MARGIN}`).catch(() => undefined);
    }
    return rows.length === 1;
  }
}

/** The ledger's table in a service's schema (audit's login gets it through AUDIT_TABLE_GRANTS, the others by default privileges). */
export function internalTokensUsedMigration(schema: string, timestamp: number): new () => MigrationInterface {
  const name = `InternalTokensUsed${timestamp}`;
  const cls = class implements MigrationInterface {
    name = name;
    async up(q: QueryRunner): Promise<void> {
      await q.query(`CREATE TABLE "${schema}".internal_tokens_used (token_id text PRIMARY KEY, expires_at timestamptz NOT NULL)`);
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE IF EXISTS "${schema}".internal_tokens_used`);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}
