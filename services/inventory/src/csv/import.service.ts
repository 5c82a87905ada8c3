import { randomUUID } from 'node:crypto';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import { parse } from 'csv-parse';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import {
  AppError,
  EventTypes,
  InventoryErrors,
  type FieldError,
  type HostDataField,
  type ImportQuery,
  type ImportReport,
  type ImportRowReport,
  type RpcContext,
} from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { INVENTORY_CONFIG, type InventoryConfig } from '../config/inventory.config';
import { revisionInsertSql, type RevisionMeta } from '../history/revisions.repository';
import { copyLine, mapHeader, parseRecord, type HeaderMapping } from './csv-format';

const TEMP_COLUMNS = `line, hostname, fqdn, ip, os, environment, owner, team, criticality, tags, notes, connection_method, ssh_user, ssh_port, bastion_host, bastion_port`;

/** Insert defaults for columns a file does not have (the table defaults, spelled out for INSERT … SELECT). */
const INSERT_EXPR: Record<HostDataField, string> = {
  hostname: 'r.hostname',
  fqdn: 'r.fqdn',
  ip: 'r.ip',
  os: `coalesce(r.os, 'linux')`,
  environment: 'r.environment',
  owner: 'r.owner',
  team: 'r.team',
  criticality: `coalesce(r.criticality, 'medium')`,
  tags: `coalesce(r.tags, '{}')`,
  notes: 'r.notes',
  connection_method: `coalesce(r.connection_method, 'direct_ssh')`,
  ssh_user: 'r.ssh_user',
  ssh_port: 'coalesce(r.ssh_port, 22)',
  bastion_host: 'r.bastion_host',
  bastion_port: 'coalesce(r.bastion_port, 22)',
};

/** Rows are handed to COPY in chunks of about this many characters. */
const COPY_CHUNK_CHARS = 64 * 1024;

interface Classified {
  line: number;
  first_host_line: number;
  first_ip_line: number;
  existing_id: string | null;
  ip_owner_id: string | null;
  ip_owner: string | null;
  changed: boolean;
}

/** Counts bytes and fails with 413 past the limit, without buffering. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) return done(new AppError(InventoryErrors.IMPORT_TOO_LARGE, `CSV is larger than the limit of ${max} bytes`, undefined, { max_bytes: max }));
      done(null, chunk);
    },
  });
}

/**
 * CSV import at COPY speed with an exact per-row report.
 *
 * 1. The upload is parsed as a stream (csv-parse); every record is validated in process (pure rules shared with
 *    the API) and valid rows are streamed with COPY into a temporary table — nothing is buffered whole.
 * 2. One SQL pass classifies every row against the inventory and the file itself: duplicates in the file
 *    (hostname case-insensitively, ip by value), existing hosts (by hostname), ip owned by another host,
 *    changed or unchanged.
 * 3. Unless dry_run (or atomic with errors), the rows are applied with INSERT … SELECT / UPDATE … FROM in batches,
 *    each batch writing its revisions in the same statement and one `inventory.hosts.imported` event with
 *    the created and updated ids. Everything happens in one transaction holding a SHARE ROW EXCLUSIVE lock on
 *    hosts from classification to commit, so the report is exactly what landed.
 */
@Injectable()
export class ImportService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    @Inject(INVENTORY_CONFIG) private readonly config: InventoryConfig,
  ) {}

  get maxBytes(): number {
    return this.config.IMPORT_MAX_BYTES;
  }

  /**
   * The import in its stages, all in one transaction: load (stream → temp table), classify (against the
   * inventory, under the lock), apply (only when committing), report.
   */
  async run(input: Readable, q: ImportQuery, ctx: RpcContext): Promise<ImportReport> {
    const [client, release] = (await (this.dataSource.driver as PostgresDriver).obtainMasterConnection()) as [PoolClient, (err?: unknown) => void];
    let failed: unknown = null;
    try {
      await client.query('BEGIN');
      const loaded = await this.load(client, input);
      if (!q.dry_run) await client.query('LOCK TABLE inventory.hosts IN SHARE ROW EXCLUSIVE MODE');
      const plan = await this.classify(client, loaded, q);
      const errorCount = plan.reports.filter((r) => r.status === 'error').length;
      const commit = !q.dry_run && !(q.atomic && errorCount > 0);
      if (commit) {
        const ids = await this.apply(client, plan, loaded.present, ctx, { total_rows: plan.reports.length, errors: errorCount });
        for (const r of plan.reports) if (r.status === 'created') r.id = ids.get((r.hostname as string).toLowerCase());
        await client.query('COMMIT');
        // A bulk import can change the table's shape faster than autovacuum notices: without fresh statistics
        // the next filtered list may get a bad plan (measured: p95 ×5 on 100k hosts right after an import).
        // ANALYZE samples a fixed number of rows (≈ 0.1–0.3 s at 1M hosts), so it is done before answering.
        if (plan.createLines.length + plan.updateLines.length >= this.config.IMPORT_ANALYZE_MIN_ROWS) await client.query('SELECT inventory.analyze_hosts()'); // owner's ANALYZE (the login owns nothing)
      } else {
        await client.query('ROLLBACK');
      }
      return importReport(q, commit, plan.reports, loaded.header);
    } catch (err) {
      failed = err;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // a connection in an unknown state (COPY cut off) is discarded rather than reused
      release(failed && !(failed instanceof AppError) ? failed : undefined);
    }
  }

  /**
   * Stage 1: streams the CSV through the byte limit, the parser and the row validation into a temp table
   * (COPY), keeping the reports of rows that failed validation and the warnings of the others.
   */
  private async load(client: PoolClient, input: Readable): Promise<Loaded> {
    await client.query(`
      CREATE TEMP TABLE import_rows (line int PRIMARY KEY, hostname text, fqdn text, ip inet, os text, environment text, owner text, team text,
        criticality text, tags text[], notes text, connection_method text, ssh_user text, ssh_port int, bastion_host text, bastion_port int, action char(1)) ON COMMIT DROP`);
    const reports: ImportRowReport[] = [];
    const warningsByLine = new Map<number, FieldError[]>();
    const rowsByLine = new Map<number, string>();
    let mapping: HeaderMapping | null = null;
    let rows = 0;
    let pending = '';
    const maxRows = this.config.IMPORT_MAX_ROWS;
    const validate = new Transform({
      objectMode: true,
      transform(chunk: { record: string[]; info: { lines: number } }, _enc, done) {
        const { record, info } = chunk;
        // a record spanning several physical lines is reported at its first line
        let breaks = 0;
        for (const f of record) for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) breaks++;
        const line = info.lines - breaks;
        if (!mapping) {
          mapping = mapHeader(record);
          if (mapping.problems.length) return done(new AppError(InventoryErrors.IMPORT_INVALID, 'The CSV header is not usable', mapping.problems));
          return done();
        }
        if (record.length === 1 && record[0].trim() === '') return done();
        rows++;
        if (rows > maxRows) return done(new AppError(InventoryErrors.IMPORT_TOO_LARGE, `CSV has more than the limit of ${maxRows} rows`, undefined, { max_rows: maxRows }));
        const { row, errors, warnings } = parseRecord(record, mapping);
        if (errors.length) {
          reports.push({ line, status: 'error', hostname: row.hostname || null, errors, ...(warnings.length ? { warnings } : {}) });
          return done();
        }
        if (warnings.length) warningsByLine.set(line, warnings);
        rowsByLine.set(line, row.hostname as string);
        // pg-copy-streams writes every chunk to the socket as its own CopyData message (two writes): gather
        // rows into ~64 KB chunks so the COPY costs a few hundred socket writes instead of two per row
        pending += copyLine(line, row);
        if (pending.length < COPY_CHUNK_CHARS) return done();
        const out = pending;
        pending = '';
        done(null, out);
      },
      flush(done) {
        done(null, pending || undefined);
      },
    });
    const copy = client.query(copyFrom(`COPY import_rows (${TEMP_COLUMNS}) FROM STDIN (FORMAT csv)`));
    try {
      await pipeline(
        input,
        byteLimit(this.config.IMPORT_MAX_BYTES),
        parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: false }),
        validate,
        copy as unknown as Writable,
      );
    } catch (err) {
      if (err instanceof AppError) throw err;
      const code = (err as { code?: string }).code ?? '';
      if (code.startsWith('CSV_')) throw new AppError(InventoryErrors.IMPORT_INVALID, `CSV could not be parsed: ${(err as Error).message}`);
      throw err;
    }
    // assigned inside the transform callback, which TypeScript's narrowing cannot see
    const header = mapping as HeaderMapping | null;
    if (!header) throw new AppError(InventoryErrors.IMPORT_INVALID, 'The CSV is empty (no header)', [{ field: 'columns', message: 'missing header' }]);
    const present = new Set<HostDataField>(header.fields.filter((f): f is HostDataField => f !== null));
    await client.query('ANALYZE import_rows');
    return { header, present, reports, warningsByLine, rowsByLine };
  }

  /**
   * Stage 2: every loaded row against the file itself (duplicate hostnames and IPs) and the inventory (exists,
   * IP taken, changed): created, updated, unchanged or error, per `on_conflict`.
   */
  private async classify(client: PoolClient, loaded: Loaded, q: ImportQuery): Promise<Plan> {
    const changedExpr = [...loaded.present].map((f) => `h.${f} IS DISTINCT FROM ${INSERT_EXPR[f]}`).join(' OR ');
    const { rows: classified } = await client.query<Classified>(`
      SELECT r.line,
             min(r.line) OVER (PARTITION BY lower(r.hostname)) AS first_host_line,
             min(r.line) OVER (PARTITION BY r.ip) AS first_ip_line,
             h.id AS existing_id, o.id AS ip_owner_id, o.hostname AS ip_owner,
             (h.id IS NOT NULL AND (${changedExpr})) AS changed
        FROM import_rows r
        LEFT JOIN inventory.hosts h ON lower(h.hostname) = lower(r.hostname)
        LEFT JOIN inventory.hosts o ON o.ip = r.ip
       ORDER BY r.line`);
    const reports = [...loaded.reports];
    const plan: Plan = { reports, createLines: [], updateLines: [], skipLines: [] };
    for (const c of classified) {
      const hostname = loaded.rowsByLine.get(c.line) ?? null;
      const warnings = loaded.warningsByLine.get(c.line);
      const base = { line: c.line, hostname, ...(warnings ? { warnings } : {}) };
      const errors: FieldError[] = [];
      if (c.first_host_line !== c.line) errors.push({ field: 'hostname', message: `duplicate of line ${c.first_host_line} in this file` });
      if (c.first_ip_line !== c.line) errors.push({ field: 'ip', message: `duplicate of line ${c.first_ip_line} in this file` });
      if (!errors.length && c.ip_owner_id && c.ip_owner_id !== c.existing_id) errors.push({ field: 'ip', message: `is already used by host ${c.ip_owner}` });
      if (!errors.length && c.existing_id && q.on_conflict === 'fail') errors.push({ field: 'hostname', message: 'already exists (on_conflict=fail)' });
      if (errors.length) {
        reports.push({ ...base, status: 'error', errors });
        plan.skipLines.push(c.line); // neither created nor updated: rows the writes must leave alone
      } else if (!c.existing_id) {
        reports.push({ ...base, status: 'created' });
        plan.createLines.push(c.line);
      } else if (q.on_conflict === 'update' && c.changed) {
        reports.push({ ...base, status: 'updated', id: c.existing_id });
        plan.updateLines.push(c.line);
      } else {
        plan.skipLines.push(c.line);
        reports.push({ ...base, status: 'unchanged', id: c.existing_id, ...(c.changed ? { warnings: [...(warnings ?? []), { field: 'hostname', message: 'exists; skipped (on_conflict=skip)' }] } : {}) });
      }
    }
    reports.sort((a, b) => a.line - b.line);
    return plan;
  }

  /**
   * Stage 3: applies creates and updates in batches, each batch one statement (hosts + their revisions) and one
   * `inventory.hosts.imported` event. Returns lower(hostname) -> id of created hosts.
   */
  private async apply(client: PoolClient, plan: Plan, present: Set<HostDataField>, ctx: RpcContext, totals: { total_rows: number; errors: number }): Promise<Map<string, string>> {
    const {
      rows: [{ ts }],
    } = await client.query<{ ts: string }>(`SELECT inventory.iso(date_trunc('milliseconds', clock_timestamp())) AS ts`);
    const meta: RevisionMeta = { actor: ctx.actor, requestId: ctx.request_id, source: 'import' };
    const isCreate = await markRows(client, plan);
    const batches = importBatches(plan.createLines, plan.updateLines, this.config.IMPORT_BATCH_ROWS);
    const importId = randomUUID();
    const created = new Map<string, string>();
    for (const [i, b] of batches.entries()) {
      const ids = b.kind === 'create' ? await createBatch(client, b, isCreate, ts, meta) : await updateBatch(client, b, present, ts, meta);
      if (b.kind === 'create') for (const r of ids) created.set(r.hostname.toLowerCase(), r.id);
      // one event per batch, with the ids other services need to follow host lifecycle (ids stay < 1 MB)
      await this.outbox.add(client, {
        type: EventTypes.HOSTS_IMPORTED,
        actor: ctx.actor,
        request_id: ctx.request_id,
        subject: { entity_type: 'host_import', entity_id: importId },
        data: {
          import_id: importId,
          batch: i + 1,
          batches: batches.length,
          created_ids: b.kind === 'create' ? ids.map((r) => r.id) : [],
          updated_ids: b.kind === 'update' ? ids.map((r) => r.id) : [],
          total_rows: totals.total_rows,
          errors: totals.errors,
        },
      });
    }
    return created;
  }
}

interface Batch {
  kind: 'create' | 'update';
  /** first and last line of the batch (a range over the temp table's primary key) */
  from: number;
  to: number;
}

/** Consecutive runs of at most `size` lines: creates first, then updates. */
export function importBatches(createLines: number[], updateLines: number[], size: number): Batch[] {
  const batches: Batch[] = [];
  for (const [kind, lines] of [['create', createLines], ['update', updateLines]] as const)
    for (let i = 0; i < lines.length; i += size) {
      const chunk = lines.slice(i, i + size);
      batches.push({ kind, from: chunk[0], to: chunk[chunk.length - 1] });
    }
  return batches;
}

/**
 * Marks the rows to write once (hash join with the line list), so batches are line ranges over the primary key:
 * a large `line = ANY(array)` per batch would cost rows × array length. Updates are marked 'u'; creates are
 * either marked 'c' or, when that touches fewer rows, are the unmarked rows once the skipped ones are marked
 * 'x' — so a fresh import (all creates) rewrites nothing in the temp table. Returns the create condition.
 */
async function markRows(client: PoolClient, plan: Plan): Promise<string> {
  const markCreates = plan.createLines.length <= plan.skipLines.length;
  const marks: Array<[string, number[]]> = [['u', plan.updateLines], markCreates ? ['c', plan.createLines] : ['x', plan.createLines.length ? plan.skipLines : []]];
  for (const [action, lines] of marks)
    if (lines.length) await client.query(`UPDATE import_rows r SET action = $1 FROM unnest($2::int[]) AS u(line) WHERE r.line = u.line`, [action, lines]);
  return markCreates ? `r.action = 'c'` : 'r.action IS NULL';
}

type Written = Array<{ id: string; hostname: string }>;

/** One statement: the batch's hosts and their 'created' revisions. */
async function createBatch(client: PoolClient, b: Batch, isCreate: string, ts: string, meta: RevisionMeta): Promise<Written> {
  const fields = Object.keys(INSERT_EXPR) as HostDataField[];
  const params: unknown[] = [b.from, b.to, ts];
  const sql = `WITH ins AS (
       INSERT INTO inventory.hosts AS h (${fields.join(', ')}, created_at, updated_at)
       SELECT ${fields.map((f) => INSERT_EXPR[f]).join(', ')}, $3::timestamptz, $3::timestamptz
         FROM import_rows r WHERE ${isCreate} AND r.line BETWEEN $1 AND $2 ORDER BY r.line
       RETURNING h.id, h.hostname, inventory.host_view(h) AS v),
     rev AS (${revisionInsertSql(params, meta, 'ins', { hostId: 'ins.id', revision: '1', action: 'created', at: '$3::timestamptz', before: 'NULL::jsonb', after: 'ins.v' })})
     SELECT id, hostname FROM ins`;
  return (await client.query<{ id: string; hostname: string }>(sql, params)).rows;
}

/** One statement: the batch's changed fields (those the file has), version + 1, and the 'updated' revisions. */
async function updateBatch(client: PoolClient, b: Batch, present: Set<HostDataField>, ts: string, meta: RevisionMeta): Promise<Written> {
  const sets = [...present].map((f) => `${f} = ${INSERT_EXPR[f]}`).join(', ');
  const params: unknown[] = [b.from, b.to, ts];
  const sql = `WITH old AS (
       SELECT h.id, inventory.host_view(h) AS v FROM inventory.hosts h JOIN import_rows r ON lower(h.hostname) = lower(r.hostname)
        WHERE r.action = 'u' AND r.line BETWEEN $1 AND $2),
     upd AS (
       UPDATE inventory.hosts AS h SET ${sets}, version = h.version + 1, updated_at = $3::timestamptz
         FROM import_rows r WHERE lower(h.hostname) = lower(r.hostname) AND r.action = 'u' AND r.line BETWEEN $1 AND $2
       RETURNING h.id, h.hostname, h.version, inventory.host_view(h) AS v),
     rev AS (${revisionInsertSql(params, meta, 'upd JOIN old ON old.id = upd.id', { hostId: 'upd.id', revision: 'upd.version', action: 'updated', at: '$3::timestamptz', before: 'old.v', after: 'upd.v' })})
     SELECT id, hostname FROM upd`;
  return (await client.query<{ id: string; hostname: string }>(sql, params)).rows;
}

/** What stage 1 leaves for the others. */
interface Loaded {
  header: HeaderMapping;
  present: Set<HostDataField>;
  /** rows that failed validation (never copied) */
  reports: ImportRowReport[];
  warningsByLine: Map<number, FieldError[]>;
  rowsByLine: Map<number, string>;
}

/** What stage 2 decided: a report per row and the lines each write touches. */
interface Plan {
  reports: ImportRowReport[];
  createLines: number[];
  updateLines: number[];
  /** neither created nor updated (errors, unchanged) */
  skipLines: number[];
}

/** Stage 4: the answer. */
function importReport(q: ImportQuery, committed: boolean, reports: ImportRowReport[], header: HeaderMapping): ImportReport {
  const count = (s: ImportRowReport['status']) => reports.filter((r) => r.status === s).length;
  return {
    dry_run: q.dry_run,
    atomic: q.atomic,
    on_conflict: q.on_conflict,
    committed,
    summary: { rows: reports.length, created: count('created'), updated: count('updated'), unchanged: count('unchanged'), error: count('error') },
    columns: { mapped: header.mapped, ignored: header.ignored },
    rows: q.report === 'errors' ? reports.filter((r) => r.status === 'error' || r.warnings) : reports,
  };
}
