import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `inventory.iso` was declared IMMUTABLE, but its body (`to_char`) is STABLE, so the planner could not inline it:
 * every call went through the SQL-function executor (three per `inventory.host_view` row — a measurable share
 * of a 100k-row import's revision snapshots, and of every list page). Declared STABLE (what it really is; it is
 * used in no index or generated column), it is inlined into the calling query. Same output, same callers.
 */
export class InventoryIsoStable1732900000000 implements MigrationInterface {
  name = 'InventoryIsoStable1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER FUNCTION inventory.iso(timestamptz) STABLE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER FUNCTION inventory.iso(timestamptz) IMMUTABLE`);
  }
}
