import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Artifact kind `binary` (executables and core files, the original OpsDesk's type). Served like every other
 * kind: always as an attachment with nosniff, never inline.
 */
export class ArtifactsBinaryKind1764600000000 implements MigrationInterface {
  name = 'ArtifactsBinaryKind1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE artifacts.artifacts DROP CONSTRAINT artifacts_kind_check`);
    await q.query(`ALTER TABLE artifacts.artifacts ADD CONSTRAINT artifacts_kind_check CHECK (kind IN ('log','config','crash_dump','support_bundle','binary','other'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE artifacts.artifacts DROP CONSTRAINT artifacts_kind_check`);
    await q.query(`ALTER TABLE artifacts.artifacts ADD CONSTRAINT artifacts_kind_check CHECK (kind IN ('log','config','crash_dump','support_bundle','other'))`);
  }
}
