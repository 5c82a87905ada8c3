import { Client } from 'pg';

/**
 * Database logins (SPEC §7 "Trust inside the system"), all SQL in one place. Used by `npm start` (embedded
 * Postgres), `scripts/provision.mjs` (compose one-shot, Helm job), `npm run migrate` and the tests.
 *
 *   <prefix>_owner      NOLOGIN. Owns the service schemas and every object in them. Nobody logs in as it.
 *   <prefix>_migrator   LOGIN, member of _owner; its sessions start as _owner (ALTER ROLE … SET role), so
 *                       what migrations create is owned by _owner. Not superuser, no CREATEROLE/CREATEDB.
 *   <prefix>_<service>  LOGIN per service (auth, inventory, audit, artifacts): USAGE on its own schema and
 *                       the DML it needs there, nothing in any other schema; owns nothing, so it can neither
 *                       ALTER nor DROP nor disable a trigger. audit's: INSERT/SELECT on its tables only (plus
 *                       the chain head and the outbox relay's writes, see AUDIT_TABLE_GRANTS).
 *   <prefix>_monitor    LOGIN, pg_monitor only (the Postgres exporter): statistics, no table data.
 *
 * Role names are cluster-wide: the prefix (default `opsdesk`) lets several databases on one server (tests
 * run suites in parallel, each with its own database) keep their logins apart.
 */
export const SERVICE_SCHEMAS = ['auth', 'inventory', 'audit', 'artifacts'] as const;
export type ServiceSchema = (typeof SERVICE_SCHEMAS)[number];
export type DbLogin = ServiceSchema | 'migrator' | 'monitor';
export const DB_LOGINS: readonly DbLogin[] = ['migrator', ...SERVICE_SCHEMAS, 'monitor'];

export const DEFAULT_ROLE_PREFIX = 'opsdesk';
/** ≤ 40 characters so `<prefix>_inventory` stays far below Postgres' 63-byte identifier limit. */
export const ROLE_PREFIX_RE = /^[a-z_][a-z0-9_]{0,39}$/;

/**
 * The shipped audit migration (1733000000000) creates this NOLOGIN role when missing, which a migrator
 * without CREATEROLE cannot do: provisioning creates it, and the runtime grants strip what it was given.
 */
export const LEGACY_AUDIT_WRITER_ROLE = 'opsdesk_audit_writer';

/**
 * audit's runtime login, table by table: the trail (records, checkpoints) is INSERT/SELECT only; the chain
 * head row is moved forward under a row lock (UPDATE; its trigger refuses going back, DELETE, TRUNCATE);
 * the outbox relay marks published rows (UPDATE) and prunes old ones (DELETE); inbox and dead letters are
 * append-only from the consumer's side (inbox_failures too). A table missing here gets nothing: a new audit table must be added.
 */
export const AUDIT_TABLE_GRANTS: Readonly<Record<string, readonly string[]>> = {
  records: ['SELECT', 'INSERT'],
  checkpoints: ['SELECT', 'INSERT'],
  chain_head: ['SELECT', 'UPDATE'],
  inbox: ['SELECT', 'INSERT'],
  dead_letters: ['SELECT', 'INSERT'],
  // failed handling attempts, one row each (libs/messaging InboxConsumer): append-only as well
  inbox_failures: ['SELECT', 'INSERT'],
  // replayed/dismissed marks of dead letters (libs/messaging dead-letters.ts): append-only as well
  dead_letter_resolutions: ['SELECT', 'INSERT'],
  // the readiness check reads which migrations are applied (migrations-readiness.ts)
  typeorm_migrations: ['SELECT'],
  outbox: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  // ids of internal tokens already used (libs/platform InternalTokenLedger): claimed once, expired ones pruned
  internal_tokens_used: ['SELECT', 'INSERT', 'DELETE'],
};

/** What the other services' logins get on every table of their own schema (no TRUNCATE, no DDL). */
export const SERVICE_TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

export interface DbRoleNames {
  owner: string;
  migrator: string;
  monitor: string;
  services: Record<ServiceSchema, string>;
}

export function dbRoleNames(prefix: string = DEFAULT_ROLE_PREFIX): DbRoleNames {
  if (!ROLE_PREFIX_RE.test(prefix)) throw new Error(`invalid database role prefix: ${prefix}`);
  return {
    owner: `${prefix}_owner`,
    migrator: `${prefix}_migrator`,
    monitor: `${prefix}_monitor`,
    services: Object.fromEntries(SERVICE_SCHEMAS.map((s) => [s, `${prefix}_${s}`])) as Record<ServiceSchema, string>,
  };
}

export function loginRole(names: DbRoleNames, login: DbLogin): string {
  if (login === 'migrator') return names.migrator;
  if (login === 'monitor') return names.monitor;
  return names.services[login];
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const sqlLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Creates a role if it is missing; tolerates another database's provisioning creating it concurrently. */
function ensureRole(name: string, attributes: string): string {
  return `DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${sqlLiteral(name)}) THEN
      CREATE ROLE ${ident(name)} ${attributes};
    END IF;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END $$`;
}

export interface ProvisionOptions {
  prefix?: string;
  /** one password per login (SQL-quoted here); a login without one keeps its current password */
  passwords: Partial<Record<DbLogin, string>>;
}

/**
 * Run as a superuser (or a CREATEROLE role owning the database) in the target database, before migrations.
 * Idempotent: run it again to rotate passwords or to hand an existing (pre-logins) database over: schema and
 * object ownership move to <prefix>_owner, whoever created them.
 */
export function provisionStatements(opts: ProvisionOptions): string[] {
  const n = dbRoleNames(opts.prefix);
  const logins = [n.migrator, n.monitor, ...Object.values(n.services)];
  const sql: string[] = [
    ensureRole(n.owner, 'NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS'),
    ensureRole(LEGACY_AUDIT_WRITER_ROLE, 'NOLOGIN'),
    ...logins.map((l) => ensureRole(l, 'LOGIN')),
    // Re-asserted every time: a login created or altered by hand must not keep extra powers.
    `ALTER ROLE ${ident(n.owner)} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
    ...logins.map((l) => `ALTER ROLE ${ident(l)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT`),
    `GRANT ${ident(n.owner)} TO ${ident(n.migrator)}`,
    // Migrations create objects as the owner, not as the migrator login.
    `ALTER ROLE ${ident(n.migrator)} SET role = ${sqlLiteral(n.owner)}`,
    `GRANT pg_monitor TO ${ident(n.monitor)}`,
  ];
  for (const login of DB_LOGINS) {
    const pw = opts.passwords[login];
    if (pw !== undefined) sql.push(`ALTER ROLE ${ident(loginRole(n, login))} PASSWORD ${sqlLiteral(pw)}`);
  }
  sql.push(
    // Only our logins may connect; nobody but the owner may create schemas or public objects.
    `DO $$ BEGIN
      EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
      EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO ${logins.map(ident).join(', ')}', current_database());
    END $$`,
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
    // inventory's first migration creates pg_trgm; creating an extension needs more than the owner has.
    `CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public`,
  );
  for (const schema of SERVICE_SCHEMAS) {
    const svc = n.services[schema];
    sql.push(
      `CREATE SCHEMA IF NOT EXISTS ${ident(schema)} AUTHORIZATION ${ident(n.owner)}`,
      `ALTER SCHEMA ${ident(schema)} OWNER TO ${ident(n.owner)}`,
      handOverObjects(schema, n.owner),
      `REVOKE ALL ON SCHEMA ${ident(schema)} FROM PUBLIC`,
      `GRANT USAGE ON SCHEMA ${ident(schema)} TO ${ident(svc)}`,
    );
    if (schema !== 'audit') {
      // Tables future migrations add are covered too; audit's are granted table by table (AUDIT_TABLE_GRANTS).
      sql.push(
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(n.owner)} IN SCHEMA ${ident(schema)} GRANT ${SERVICE_TABLE_PRIVILEGES.join(', ')} ON TABLES TO ${ident(svc)}`,
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(n.owner)} IN SCHEMA ${ident(schema)} GRANT USAGE, SELECT ON SEQUENCES TO ${ident(svc)}`,
      );
    }
  }
  return sql;
}

/** Ownership of every table, view, sequence and function of a schema moves to the owner role (upgrades). */
function handOverObjects(schema: string, owner: string): string {
  return `DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT c.oid::regclass AS obj FROM pg_class c
      WHERE c.relnamespace = ${sqlLiteral(schema)}::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
        AND c.relowner <> ${sqlLiteral(owner)}::regrole
        -- a serial's sequence follows its table
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
    LOOP EXECUTE format('ALTER TABLE %s OWNER TO %I', r.obj, ${sqlLiteral(owner)}); END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS obj FROM pg_proc p
      WHERE p.pronamespace = ${sqlLiteral(schema)}::regnamespace AND p.proowner <> ${sqlLiteral(owner)}::regrole
    LOOP EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.obj, ${sqlLiteral(owner)}); END LOOP;
  END $$`;
}

/**
 * Run by the migrator (as the owner) after every migration: the grants that need the tables to exist, or
 * that default privileges cannot express. Idempotent, and it also repairs grants on a handed-over database.
 */
export function runtimeGrantStatements(prefix: string = DEFAULT_ROLE_PREFIX): string[] {
  const n = dbRoleNames(prefix);
  const sql: string[] = [];
  const tablesExisting = (schema: string, body: (table: string) => string) =>
    `DO $$ DECLARE t text; BEGIN
      FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = ${sqlLiteral(schema)} LOOP
        EXECUTE ${body('t')};
      END LOOP;
    END $$`;
  for (const schema of SERVICE_SCHEMAS) {
    const svc = n.services[schema];
    // Start from nothing on every table, then grant exactly what this login needs.
    sql.push(tablesExisting(schema, (t) => `format('REVOKE ALL ON %I.%I FROM PUBLIC, %I', ${sqlLiteral(schema)}, ${t}, ${sqlLiteral(svc)})`));
    if (schema === 'audit') {
      // Only the tables that exist (a test stack may migrate some services only).
      const list = Object.entries(AUDIT_TABLE_GRANTS).map(([t, p]) => `(${sqlLiteral(t)}, ${sqlLiteral(p.join(', '))})`);
      sql.push(`DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT g.t, g.p FROM (VALUES ${list.join(', ')}) AS g(t, p) JOIN pg_tables ON schemaname = ${sqlLiteral(schema)} AND tablename = g.t LOOP
          EXECUTE format('GRANT %s ON %I.%I TO %I', r.p, ${sqlLiteral(schema)}, r.t, ${sqlLiteral(svc)});
        END LOOP;
      END $$`);
    } else {
      // every table; the migrations' bookkeeping is the migrator's, the login only reads it (readiness)
      sql.push(tablesExisting(schema, (t) => `CASE WHEN ${t} = 'typeorm_migrations' THEN format('GRANT SELECT ON %I.%I TO %I', ${sqlLiteral(schema)}, ${t}, ${sqlLiteral(svc)}) ELSE format('GRANT ${SERVICE_TABLE_PRIVILEGES.join(', ')} ON %I.%I TO %I', ${sqlLiteral(schema)}, ${t}, ${sqlLiteral(svc)}) END`));
    }
    sql.push(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${ident(schema)} TO ${ident(svc)}`);
    // e.g. inventory.analyze_hosts(), a SECURITY DEFINER function not executable by PUBLIC
    sql.push(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${ident(schema)} TO ${ident(svc)}`);
  }
  // What the shipped audit migration granted to the legacy writer role (nobody is a member) goes away.
  sql.push(`DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${sqlLiteral(LEGACY_AUDIT_WRITER_ROLE)}) THEN
      REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM ${ident(LEGACY_AUDIT_WRITER_ROLE)};
      REVOKE ALL ON ALL SEQUENCES IN SCHEMA audit FROM ${ident(LEGACY_AUDIT_WRITER_ROLE)};
      REVOKE ALL ON SCHEMA audit FROM ${ident(LEGACY_AUDIT_WRITER_ROLE)};
    END IF;
  END $$`);
  return sql;
}

/** A postgres:// URL for `user` with `password`, keeping host, port, database and parameters of `url`. */
export function loginUrl(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** Applies provisionStatements in one transaction over an admin connection to the target database. */
export async function provisionDatabase(adminUrl: string, opts: ProvisionOptions): Promise<void> {
  await runAll(adminUrl, provisionStatements(opts));
}

/**
 * After migrations, over the migrator's connection: runtimeGrantStatements for the prefix its login name
 * carries (`<prefix>_migrator`). Returns the prefix, or null for a database without provisioned logins (a
 * single pre-logins superuser URL), where there is nothing to grant.
 */
export async function applyRuntimeGrants(migratorUrl: string): Promise<string | null> {
  const c = new Client({ connectionString: migratorUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ session_user: string }>('SELECT session_user');
    const m = /^(.+)_migrator$/.exec(rows[0].session_user);
    if (!m || !ROLE_PREFIX_RE.test(m[1])) return null;
    await c.query('BEGIN');
    try {
      for (const s of runtimeGrantStatements(m[1])) await c.query(s);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return m[1];
  } finally {
    await c.end();
  }
}

async function runAll(url: string, statements: string[]): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    // Two provisionings of one cluster at once (parallel test suites) would race on pg_authid updates.
    await c.query('BEGIN');
    try {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('opsdesk.provision'))`);
      for (const s of statements) await c.query(s);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    await c.end();
  }
}
