import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Legacy NOLOGIN role the service used to switch to (SET ROLE). Nobody uses it any more: the service has its own
 * login (libs/database/src/provision.ts), which creates this role up front and strips its grants after migrating.
 */
export const AUDIT_WRITER_ROLE = 'opsdesk_audit_writer';

/**
 * The append-only, hash-chained trail:
 * - records: one row per event id (UNIQUE), gapless seq assigned under the chain_head row lock;
 * - chain_head: single row (seq, hash) locked FOR UPDATE by every append, so seq and prev_hash serialise;
 * - checkpoints: signed (seq, hash, time) every N records / M minutes, to detect a truncated tail.
 * Triggers refuse UPDATE, DELETE and TRUNCATE on records and checkpoints even for the owner, and the
 * runtime role only gets INSERT and SELECT there. Indexes: see docs/audit.md ("Indexes").
 */
export class InitAudit1733000000000 implements MigrationInterface {
  name = 'InitAudit1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE audit.records (
      seq bigint PRIMARY KEY CHECK (seq > 0),
      event_id uuid NOT NULL CONSTRAINT records_event_id_key UNIQUE,
      type text COLLATE "C" NOT NULL,
      source text NOT NULL,
      occurred_at timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL,
      actor jsonb,
      entity_type text COLLATE "C" NOT NULL,
      entity_id text COLLATE "C",
      request_id text,
      trace_id text,
      data jsonb NOT NULL,
      prev_hash text NOT NULL,
      hash text NOT NULL
    )`);
    await q.query(`CREATE TABLE audit.chain_head (
      id smallint PRIMARY KEY CHECK (id = 1),
      seq bigint NOT NULL,
      hash text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`INSERT INTO audit.chain_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))`);
    await q.query(`CREATE TABLE audit.checkpoints (
      seq bigint PRIMARY KEY,
      hash text NOT NULL,
      created_at timestamptz NOT NULL,
      key_id text NOT NULL,
      signature text NOT NULL
    )`);

    // Search: words of the type, actor email, entity, request id and data values (not data keys).
    await q.query(`CREATE FUNCTION audit.search_vector(type text, actor jsonb, entity_type text, entity_id text, request_id text, data jsonb)
      RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT to_tsvector('simple'::regconfig,
                 concat_ws(' ', type, replace(type, '.', ' '), actor->>'email', actor->>'user_id', actor->>'ip', entity_type, entity_id, request_id))
               || jsonb_to_tsvector('simple'::regconfig, COALESCE(data, '{}'::jsonb), '["string", "numeric"]')
      $$`);

    // Newest-first keyset pages: every filter index ends with seq so "filter AND seq < cursor ORDER BY seq DESC" is one backward range scan.
    await q.query(`CREATE INDEX records_type_seq_idx ON audit.records (type, seq)`);
    await q.query(`CREATE INDEX records_entity_seq_idx ON audit.records (entity_type, entity_id, seq)`);
    await q.query(`CREATE INDEX records_actor_user_seq_idx ON audit.records ((actor->>'user_id'), seq)`);
    await q.query(`CREATE INDEX records_actor_email_seq_idx ON audit.records ((lower(actor->>'email')), seq)`);
    await q.query(`CREATE INDEX records_occurred_at_idx ON audit.records (occurred_at, seq)`);
    await q.query(`CREATE INDEX records_search_idx ON audit.records USING gin (audit.search_vector(type, actor, entity_type, entity_id, request_id, data))`);

    await q.query(`CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit.% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const table of ['records', 'checkpoints']) {
      await q.query(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON audit.${table} FOR EACH ROW EXECUTE FUNCTION audit.refuse_change()`);
      await q.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON audit.${table} FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()`);
    }
    // The head only moves forward; it cannot be deleted or emptied.
    await q.query(`CREATE FUNCTION audit.head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id <> OLD.id OR NEW.seq < OLD.seq THEN
          RAISE EXCEPTION 'audit.chain_head only moves forward' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER chain_head_forward_only BEFORE UPDATE ON audit.chain_head FOR EACH ROW EXECUTE FUNCTION audit.head_forward_only()`);
    await q.query(`CREATE TRIGGER chain_head_no_delete BEFORE DELETE ON audit.chain_head FOR EACH ROW EXECUTE FUNCTION audit.refuse_change()`);
    await q.query(`CREATE TRIGGER chain_head_no_truncate BEFORE TRUNCATE ON audit.chain_head FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()`);

    // Runtime role: created if missing (roles are cluster-wide; a DBA may have created it already).
    await q.query(`DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${AUDIT_WRITER_ROLE}') THEN
          CREATE ROLE ${AUDIT_WRITER_ROLE} NOLOGIN;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created concurrently by another database's migration
      END $$`);
    const r = AUDIT_WRITER_ROLE;
    await q.query(`GRANT USAGE ON SCHEMA audit TO ${r}`);
    await q.query(`REVOKE ALL ON audit.records, audit.checkpoints, audit.chain_head FROM PUBLIC`);
    await q.query(`GRANT SELECT, INSERT ON audit.records, audit.checkpoints TO ${r}`);
    await q.query(`GRANT SELECT, UPDATE ON audit.chain_head TO ${r}`);
    await q.query(`GRANT SELECT, INSERT ON audit.inbox, audit.dead_letters TO ${r}`);
    // the outbox relay marks and prunes published rows (audit.audit.exported events)
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON audit.outbox TO ${r}`);
    await q.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA audit TO ${r}`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Only for development resets: dropping the trail is never a production operation.
    await q.query(`DROP TABLE IF EXISTS audit.checkpoints, audit.chain_head, audit.records`);
    await q.query(`DROP FUNCTION IF EXISTS audit.refuse_change(), audit.head_forward_only(), audit.search_vector(text, jsonb, text, text, text, jsonb)`);
  }
}
