import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tables every producing/consuming service keeps in its own schema:
 * - outbox: events written in the same transaction as the change, published by the relay;
 * - inbox: ids of events a consumer has processed (written in the same transaction as the effects);
 * - dead_letters: messages that kept failing or could not be parsed.
 * The statement-level trigger NOTIFYs the relay at commit, so it wakes without polling.
 */
export function messagingTablesSql(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    `CREATE TABLE IF NOT EXISTS ${s}.outbox (
       seq bigserial PRIMARY KEY,
       id uuid NOT NULL UNIQUE,
       subject text NOT NULL,
       payload jsonb NOT NULL,
       headers jsonb NOT NULL DEFAULT '{}'::jsonb,
       created_at timestamptz NOT NULL DEFAULT now(),
       published_at timestamptz
     )`,
    `CREATE INDEX IF NOT EXISTS outbox_unpublished_idx ON ${s}.outbox (seq) WHERE published_at IS NULL`,
    `CREATE INDEX IF NOT EXISTS outbox_published_at_idx ON ${s}.outbox (published_at) WHERE published_at IS NOT NULL`,
    `CREATE OR REPLACE FUNCTION ${s}.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN PERFORM pg_notify('${schema}_outbox', ''); RETURN NULL; END $$`,
    `DROP TRIGGER IF EXISTS outbox_notify ON ${s}.outbox`,
    `CREATE TRIGGER outbox_notify AFTER INSERT ON ${s}.outbox FOR EACH STATEMENT EXECUTE FUNCTION ${s}.outbox_notify()`,
    `CREATE TABLE IF NOT EXISTS ${s}.inbox (
       consumer text NOT NULL,
       event_id uuid NOT NULL,
       processed_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (consumer, event_id)
     )`,
    `CREATE TABLE IF NOT EXISTS ${s}.dead_letters (
       id bigserial PRIMARY KEY,
       consumer text NOT NULL,
       event_id text,
       subject text NOT NULL,
       stream_seq bigint,
       payload text NOT NULL,
       reason text NOT NULL,
       error text NOT NULL,
       deliveries int NOT NULL,
       failed_at timestamptz NOT NULL DEFAULT now()
     )`,
  ];
}

/** Builds the migration class a service lists first in its migrations. */
export function messagingTablesMigration(schema: string, timestamp: number): new () => MigrationInterface {
  const name = `MessagingTables${timestamp}`;
  const cls = class implements MigrationInterface {
    name = name;
    async up(q: QueryRunner): Promise<void> {
      for (const sql of messagingTablesSql(schema)) await q.query(sql);
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE IF EXISTS "${schema}".dead_letters, "${schema}".inbox, "${schema}".outbox`);
      await q.query(`DROP FUNCTION IF EXISTS "${schema}".outbox_notify()`);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/**
 * Failed handling attempts of an event (one row per attempt; InboxConsumer counts them towards maxDeliver).
 * Append-only on purpose: audit's runtime login may only INSERT and SELECT. Only failures the message itself
 * caused are written (never "database down"), so the table stays tiny.
 */
export function inboxFailuresSql(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    `CREATE TABLE IF NOT EXISTS ${s}.inbox_failures (
       id bigserial PRIMARY KEY,
       consumer text NOT NULL,
       event_id uuid NOT NULL,
       error text NOT NULL,
       failed_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE INDEX IF NOT EXISTS inbox_failures_event_idx ON ${s}.inbox_failures (consumer, event_id)`,
  ];
}

/** The migration that adds `inbox_failures` (wave 2); `grantTo` gets SELECT, INSERT (audit's writer role). */
export function inboxFailuresMigration(schema: string, timestamp: number, grantTo?: string): new () => MigrationInterface {
  const name = `InboxFailures${timestamp}`;
  const cls = class implements MigrationInterface {
    name = name;
    async up(q: QueryRunner): Promise<void> {
      for (const sql of inboxFailuresSql(schema)) await q.query(sql);
      if (grantTo) {
        await q.query(`GRANT SELECT, INSERT ON "${schema}".inbox_failures TO ${grantTo}`);
        await q.query(`GRANT USAGE, SELECT ON SEQUENCE "${schema}".inbox_failures_id_seq TO ${grantTo}`);
      }
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE IF EXISTS "${schema}".inbox_failures`);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}
