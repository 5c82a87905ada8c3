import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A bulk import refreshes the planner statistics of inventory.hosts before answering (IMPORT_ANALYZE_MIN_ROWS).
 * ANALYZE needs the table's owner, and the service's own login owns nothing (SPEC §7: one login per service,
 * objects owned by the migration owner role): this function runs that one ANALYZE with the owner's rights and
 * nothing else. Only the schema's login may call it (EXECUTE is granted by the runtime grants).
 */
export class InventoryAnalyzeHosts1733300000000 implements MigrationInterface {
  name = 'InventoryAnalyzeHosts1733300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION inventory.analyze_hosts() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp AS $$ BEGIN ANALYZE inventory.hosts; END $$`);
    await q.query(`REVOKE ALL ON FUNCTION inventory.analyze_hosts() FROM PUBLIC`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS inventory.analyze_hosts()`);
  }
}
