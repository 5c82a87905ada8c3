import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Plans for the slow host-list filters at 1M hosts (issue 12; evidence in docs/PERFORMANCE.md):
 *
 * - `hosts_search_dotted_trgm_idx`: the search text WITHOUT the address (`inventory.host_text`), only of hosts
 *   whose text has digit-dot-digit in it (partial: few hosts). An address-like term (`10.0.42.`) is matched as
 *   (such text) OR (address ranges, below) instead of `search LIKE`, whose trigram scan walks the posting lists
 *   of `10`, `0`, `42` that nearly every address of a 10/8 has (pg_trgm ignores the dots).
 * - `hosts_ip4_low24_idx`, `hosts_ip4_low16_idx`: the low 24 / 16 bits of IPv4 addresses, for a term whose
 *   match starts at the second / third octet (`0.42.` in `1.10.0.42.7`); the first octet uses `hosts_ip_uq`.
 * - `hosts_ip6_trgm_idx`: IPv6 address text (partial: IPv6 rows only), for terms that may sit in it.
 * - `hosts_env_crit_created_idx`: environment + criticality sorted by created_at (the list's keyset order).
 *
 * Built CONCURRENTLY, so writes to hosts go on while a big table is indexed (a plain CREATE INDEX holds a
 * SHARE lock: every insert/update/delete of hosts would wait minutes at 1M rows). That needs the migration to
 * run outside a transaction (`transaction = false`): each statement commits on its own, so every step is
 * written to be re-run after an interruption — a concurrent build that failed leaves an INVALID index, which
 * is dropped and built again. The `search` column and its index stay: every other term is matched against it.
 */
export class InventoryHostListIndexes1764800000000 implements MigrationInterface {
  name = 'InventoryHostListIndexes1764800000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    const [{ nspname }] = (await q.query(
      `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`,
    )) as Array<{ nspname: string }>;
    const trgmOps = `"${nspname.replace(/"/g, '""')}".gin_trgm_ops`;

    // The `search` text minus host(ip): same fields, same order, same separators, same lower().
    await q.query(`
      CREATE OR REPLACE FUNCTION inventory.host_text(hostname text, fqdn text, owner text, team text, tags text[], notes text)
        RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT lower(hostname || ' ' || coalesce(fqdn, '') || ' ' || coalesce(owner, '') || ' ' || coalesce(team, '') || ' ' ||
                     inventory.tags_text(tags) || ' ' || coalesce(notes, ''))
      $$`);
    // The address's low bits as a number (NULL for IPv6): an IPv4 address is 32 bits, `ip - '0.0.0.0'` its value.
    await q.query(`
      CREATE OR REPLACE FUNCTION inventory.ipv4_low_bits(ip inet, bits int) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN family(ip) = 4 THEN (ip - '0.0.0.0'::inet) % (1::bigint << bits) END
      $$`);

    const text = `inventory.host_text(hostname, fqdn, owner, team, tags, notes)`;
    await createIndexConcurrently(q, 'hosts_search_dotted_trgm_idx', `USING gin (${text} ${trgmOps}) WHERE ${text} ~ '[0-9][.][0-9]'`);
    await createIndexConcurrently(q, 'hosts_ip4_low24_idx', `(inventory.ipv4_low_bits(ip, 24))`);
    await createIndexConcurrently(q, 'hosts_ip4_low16_idx', `(inventory.ipv4_low_bits(ip, 16))`);
    await createIndexConcurrently(q, 'hosts_ip6_trgm_idx', `USING gin (host(ip) ${trgmOps}) WHERE family(ip) = 6`);
    await createIndexConcurrently(q, 'hosts_env_crit_created_idx', `(environment, criticality, created_at, id)`);
    // expression indexes get their statistics (used for the LIKE estimates) from ANALYZE; a sample, ~0.3 s at 1M
    await q.query(`ANALYZE inventory.hosts`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const name of ['hosts_env_crit_created_idx', 'hosts_ip6_trgm_idx', 'hosts_ip4_low16_idx', 'hosts_ip4_low24_idx', 'hosts_search_dotted_trgm_idx'])
      await q.query(`DROP INDEX CONCURRENTLY IF EXISTS inventory.${name}`);
    await q.query(`DROP FUNCTION IF EXISTS inventory.ipv4_low_bits(inet, int)`);
    await q.query(`DROP FUNCTION IF EXISTS inventory.host_text(text, text, text, text, text[], text)`);
  }
}

/** CREATE INDEX CONCURRENTLY that can be re-run: an INVALID leftover of an interrupted build is dropped first. */
async function createIndexConcurrently(q: QueryRunner, name: string, definition: string): Promise<void> {
  const [existing] = (await q.query(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'inventory' AND c.relname = $1`,
    [name],
  )) as Array<{ valid: boolean }>;
  if (existing?.valid) return;
  if (existing) await q.query(`DROP INDEX CONCURRENTLY inventory.${name}`);
  await q.query(`CREATE INDEX CONCURRENTLY ${name} ON inventory.hosts ${definition}`);
}
