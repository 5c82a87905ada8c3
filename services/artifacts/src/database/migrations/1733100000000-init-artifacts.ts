import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitArtifacts1733100000000 implements MigrationInterface {
  name = 'InitArtifacts1733100000000';

  async up(q: QueryRunner): Promise<void> {
    // One row per distinct content. ref_count = number of artifacts pointing at it; rows at 0 are waiting
    // for the collector, which deletes file and row under the row lock (uploads of the same content wait).
    await q.query(`
      CREATE TABLE artifacts.blobs (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size bigint NOT NULL CHECK (size >= 0),
        ref_count int NOT NULL CHECK (ref_count >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        corrupt_at timestamptz
      )`);
    await q.query(`CREATE INDEX blobs_unreferenced_idx ON artifacts.blobs (sha256) WHERE ref_count = 0`);
    await q.query(`
      CREATE TABLE artifacts.artifacts (
        id uuid PRIMARY KEY,
        host_id uuid NOT NULL,
        original_name text NOT NULL,
        filename text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('log','config','crash_dump','support_bundle','other')),
        description text,
        size bigint NOT NULL CHECK (size >= 0),
        sha256 text NOT NULL REFERENCES artifacts.blobs(sha256),
        content_type text NOT NULL,
        uploaded_by uuid NOT NULL,
        uploaded_by_email text,
        uploaded_at timestamptz NOT NULL DEFAULT now(),
        last_verified_at timestamptz,
        last_verify_ok boolean
      )`);
    await q.query(`CREATE INDEX artifacts_uploaded_idx ON artifacts.artifacts (uploaded_at DESC, id DESC)`);
    await q.query(`CREATE INDEX artifacts_host_idx ON artifacts.artifacts (host_id, uploaded_at DESC, id DESC)`);
    await q.query(`CREATE INDEX artifacts_uploader_idx ON artifacts.artifacts (uploaded_by, uploaded_at DESC, id DESC)`);
    await q.query(`CREATE INDEX artifacts_sha_idx ON artifacts.artifacts (sha256)`);
    // Hosts whose deletion event was applied: an upload that raced with the deletion is refused at commit.
    await q.query(`
      CREATE TABLE artifacts.deleted_hosts (
        host_id uuid PRIMARY KEY,
        deleted_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE artifacts.deleted_hosts`);
    await q.query(`DROP TABLE artifacts.artifacts`);
    await q.query(`DROP TABLE artifacts.blobs`);
  }
}
