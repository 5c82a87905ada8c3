import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Checkpoints become Ed25519 signatures (docs/audit.md, "Checkpoints"): each row says which algorithm signed
 * it. Rows written before this migration were HMAC-SHA256 with a key the verifier also had to hold, so they
 * get `hmac-sha256` and are reported as legacy and never trusted; they cannot be re-signed (the table is
 * append-only, and re-signing would vouch for records nobody re-checked). ADD COLUMN with a constant default
 * fills existing rows without an UPDATE (the append-only triggers stay untouched); the default is then dropped
 * so every new row must name its algorithm.
 */
export class CheckpointAlg1764547200000 implements MigrationInterface {
  name = 'CheckpointAlg1764547200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit.checkpoints ADD COLUMN alg text NOT NULL DEFAULT 'hmac-sha256'`);
    await q.query(`ALTER TABLE audit.checkpoints ALTER COLUMN alg DROP DEFAULT`);
    await q.query(`ALTER TABLE audit.checkpoints ADD CONSTRAINT checkpoints_alg_check CHECK (alg IN ('hmac-sha256', 'ed25519'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit.checkpoints DROP COLUMN alg`);
  }
}
