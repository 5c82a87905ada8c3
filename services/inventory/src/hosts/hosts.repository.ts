import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { CreateHostRequest, HostFilters, ListHostsRequest, NewEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { outboxInsertSql, outboxRow } from '../database/outbox-row';
import { revisionInsertSql, type RevisionMeta } from '../history/revisions.repository';
import { HOST_COLUMNS, escapeLike, returnedRows, type HostJson } from './host.row';
import { ipv4RangesContaining, ipv4Text, mayBeInIpv6Text } from './ip-search';

/** What the repository needs to run SQL: a DataSource, a transaction's EntityManager, any `{ query }`. */
export interface SqlRunner {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the drivers answer untyped rows; callers name their row type
  query(sql: string, params?: unknown[]): Promise<any>;
}

export type HostSort = ListHostsRequest['sort'];

interface SortSpec {
  key: string;
  dir: 'ASC' | 'DESC';
  /** the cursor value expression (exact text of the sort key) */
  keyText: string;
  withId: boolean;
  cast: string;
}

export const SORTS: Record<HostSort, SortSpec> = {
  // hostname is unique case-insensitively: the key alone is a total order
  hostname: { key: 'lower(h.hostname)', dir: 'ASC', keyText: 'lower(h.hostname)', withId: false, cast: 'text' },
  '-hostname': { key: 'lower(h.hostname)', dir: 'DESC', keyText: 'lower(h.hostname)', withId: false, cast: 'text' },
  created_at: { key: 'h.created_at', dir: 'ASC', keyText: 'inventory.iso(h.created_at)', withId: true, cast: 'timestamptz' },
  '-created_at': { key: 'h.created_at', dir: 'DESC', keyText: 'inventory.iso(h.created_at)', withId: true, cast: 'timestamptz' },
  updated_at: { key: 'h.updated_at', dir: 'ASC', keyText: 'inventory.iso(h.updated_at)', withId: true, cast: 'timestamptz' },
  '-updated_at': { key: 'h.updated_at', dir: 'DESC', keyText: 'inventory.iso(h.updated_at)', withId: true, cast: 'timestamptz' },
};

/** The search text without the address; the expression of hosts_search_dotted_trgm_idx (migration 1764800000000). */
const HOST_TEXT = 'inventory.host_text(h.hostname, h.fqdn, h.owner, h.team, h.tags, h.notes)';
/** The partial index's predicate: only texts with something address-like (digit, dot, digit) are in it. */
const DOTTED = `${HOST_TEXT} ~ '[0-9][.][0-9]'`;

/**
 * One search term: it matches when it is a substring of hostname, fqdn, address, owner, team, a tag or the
 * notes — `h.search LIKE '%term%'`, the `search` column being those fields lower-cased and joined by spaces (a
 * term has no whitespace, so a match never spans two fields). That trigram search is slow for address-like
 * terms: pg_trgm ignores dots, and `10.0.42.` leaves the trigrams of `10`, `0`, `42`, which nearly every
 * address of a 10/8 has. So a term with digit-dot-digit in it that is a few IPv4 ranges is split into parts
 * that each have an index, with the same result:
 *   - the other fields: they can only contain the term if they contain digit-dot-digit, and few do (a partial
 *     trigram index over exactly those texts);
 *   - IPv4 addresses whose text contains the term: a few ranges (ip-search.ts), btree;
 *   - IPv6 address text (an embedded IPv4, ::ffff:10.0.42.1): trigram, IPv6 rows only.
 * Any other term is matched against `search` as before. host-search.int-spec.ts checks on Postgres that both
 * forms find the same hosts.
 */
function termSql(term: string, p: (v: unknown) => string): string {
  const pattern = p(`%${escapeLike(term)}%`);
  const v4 = /[0-9][.][0-9]/.test(term) ? ipv4RangesContaining(term) : null;
  if (!v4?.length) return `h.search LIKE ${pattern}`;
  const arms = [`(${DOTTED} AND ${HOST_TEXT} LIKE ${pattern})`];
  for (const { alignment, ranges, recheck } of v4)
    for (const [from, to] of ranges) {
      const range =
        alignment === 0
          ? `h.ip BETWEEN ${p(ipv4Text(from))}::inet AND ${p(ipv4Text(to))}::inet`
          : `inventory.ipv4_low_bits(h.ip, ${32 - 8 * alignment}) BETWEEN ${p(from)}::bigint AND ${p(to)}::bigint`;
      arms.push(recheck ? `(${range} AND host(h.ip) LIKE ${pattern})` : range);
    }
  if (mayBeInIpv6Text(term)) arms.push(`(family(h.ip) = 6 AND host(h.ip) LIKE ${pattern})`);
  return `(${arms.join(' OR ')})`;
}

/** Builds parameterised WHERE clauses for the host filters (list and export share them). */
export function hostFilterSql(f: HostFilters, params: unknown[]): string[] {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where: string[] = [];
  // every whitespace-separated term must appear somewhere in hostname/fqdn/ip/owner/team/tags/notes
  for (const term of (f.q ?? '').toLowerCase().split(/\s+/).filter(Boolean)) where.push(termSql(term, p));
  if (f.environment) where.push(`h.environment = ${p(f.environment)}`);
  if (f.os) where.push(`h.os = ${p(f.os)}`);
  if (f.criticality) where.push(`h.criticality = ${p(f.criticality)}`);
  if (f.tag?.length) where.push(`h.tags @> ${p(f.tag)}::text[]`);
  if (f.owner) where.push(`h.owner = ${p(f.owner)}`);
  if (f.team) where.push(`h.team = ${p(f.team)}`);
  return where;
}

/** Where a page starts: the previous page's last sort key (and id, for the time sorts). */
export interface ListAfter {
  k: string;
  id?: string;
}

/**
 * One list page. The page is chosen on the bare rows and the JSON view is built for the page only: the
 * planner evaluates a SELECT list below the Sort, so a top-N sort over a few hundred matches (IP prefix, words)
 * built a view for every match.
 */
export function hostListSql(f: HostFilters, sort: HostSort, after: ListAfter | null, limit: number, skip = 0): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = hostFilterSql(f, params);
  const s = SORTS[sort];
  const cmp = s.dir === 'ASC' ? '>' : '<';
  if (after) {
    params.push(after.k);
    if (s.withId) {
      params.push(after.id);
      where.push(`(${s.key}, h.id) ${cmp} ($${params.length - 1}::${s.cast}, $${params.length}::uuid)`);
    } else {
      where.push(`${s.key} ${cmp} $${params.length}::${s.cast}`);
    }
  }
  params.push(limit);
  let page = `SELECT h, ${s.keyText} AS k, ${s.key} AS o, h.id FROM inventory.hosts h
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${s.key} ${s.dir}${s.withId ? `, h.id ${s.dir}` : ''} LIMIT $${params.length}`;
  if (!after && skip) {
    params.push(skip);
    page += ` OFFSET $${params.length}`;
  }
  const sql = `SELECT inventory.host_view(p.h) AS v, p.k, p.id FROM (${page}) p ORDER BY p.o ${s.dir}${s.withId ? `, p.id ${s.dir}` : ''}`;
  return { sql, params };
}

const casts = (c: string) => (c === 'ip' ? '::inet' : c === 'tags' ? '::text[]' : '');

/** The write time, truncated to ms: what the API shows (ISO, ms) is exactly what as_of compares. */
const WRITE_TIME = `SELECT date_trunc('milliseconds', clock_timestamp()) AS at`;

/**
 * The hand-written SQL of the host aggregate: its reads, and its writes, each one statement that also appends
 * the revision and the outbox event (so the event exists exactly when the change committed). Rules (who may do
 * what, version checks, which event) are HostsService's.
 */
@Injectable()
export class HostsRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
  ) {}

  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((m) => work(m));
  }

  async findView(id: string, db: SqlRunner = this.dataSource): Promise<HostJson | null> {
    const rows: Array<{ v: HostJson }> = await db.query(`SELECT inventory.host_view(h) AS v FROM inventory.hosts h WHERE h.id = $1`, [id]);
    return rows[0]?.v ?? null;
  }

  /** The current view, with the row locked until the transaction ends. */
  async lockView(tx: SqlRunner, id: string): Promise<HostJson | null> {
    const rows: Array<{ v: HostJson }> = await tx.query(`SELECT inventory.host_view(h) AS v FROM inventory.hosts h WHERE h.id = $1 FOR UPDATE`, [id]);
    return rows[0]?.v ?? null;
  }

  async exists(id: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM inventory.hosts WHERE id = $1`, [id]);
    return rows.length > 0;
  }

  async list(f: HostFilters, sort: HostSort, after: ListAfter | null, limit: number, skip = 0): Promise<Array<{ v: HostJson; k: string; id: string }>> {
    const { sql, params } = hostListSql(f, sort, after, limit, skip);
    return this.dataSource.query(sql, params);
  }

  /**
   * Inserts a host with its first revision and `event` (its `data.after` is set to the stored view) in one
   * statement: created_at = updated_at = the revision's time. Returns the stored view.
   */
  async insert(id: string, host: CreateHostRequest, meta: RevisionMeta, event: NewEvent): Promise<HostJson> {
    const row = outboxRow(this.outbox, event);
    const params: unknown[] = [id, ...HOST_COLUMNS.map((c) => host[c] ?? null)];
    const values = HOST_COLUMNS.map((c, i) => `$${i + 2}${casts(c)}`);
    const sql = `WITH t AS (${WRITE_TIME}),
      ins AS (
        INSERT INTO inventory.hosts AS h (id, ${HOST_COLUMNS.join(', ')}, created_at, updated_at)
        SELECT $1::uuid, ${values.join(', ')}, t.at, t.at FROM t
        RETURNING h.id, h.updated_at, inventory.host_view(h) AS v),
      rev AS (${revisionInsertSql(params, meta, 'ins', { hostId: 'ins.id', revision: '1', action: 'created', at: 'ins.updated_at', before: 'NULL::jsonb', after: 'ins.v' })}),
      evt AS (${outboxInsertSql(row, params, 'ins', (p) => `jsonb_set(${p}, '{data,after}', ins.v)`)})
      SELECT v FROM ins`;
    const [r]: Array<{ v: HostJson }> = await this.dataSource.query(sql, params);
    return r.v;
  }

  /**
   * Applies `changes` to a host locked by `lockView` in `tx` (version + 1, updated_at = now), with the revision
   * (before → after) and `event` (`data.after` set to the stored view), in one statement. Returns the new view.
   */
  async update(tx: SqlRunner, id: string, changes: Record<string, unknown>, before: HostJson, meta: RevisionMeta, event: NewEvent): Promise<HostJson> {
    const row = outboxRow(this.outbox, event);
    const params: unknown[] = [id, JSON.stringify(before)];
    const sets = Object.entries(changes).map(([c, v]) => {
      params.push(v);
      return `${c} = $${params.length}${casts(c)}`;
    });
    const sql = `WITH t AS (${WRITE_TIME}),
      upd AS (
        UPDATE inventory.hosts AS h SET ${sets.join(', ')}, version = h.version + 1, updated_at = t.at FROM t WHERE h.id = $1
        RETURNING h.id, h.version, h.updated_at, inventory.host_view(h) AS v),
      rev AS (${revisionInsertSql(params, meta, 'upd', { hostId: 'upd.id', revision: 'upd.version', action: 'updated', at: 'upd.updated_at', before: '$2::jsonb', after: 'upd.v' })}),
      evt AS (${outboxInsertSql(row, params, 'upd', (p) => `jsonb_set(${p}, '{data,after}', upd.v)`)})
      SELECT v FROM upd`;
    const [r] = returnedRows<{ v: HostJson }>(await tx.query(sql, params));
    return r.v;
  }

  /**
   * Deletes a host if it is at `expectedVersion` (any version when null), with its 'deleted' revision and
   * `event` (`data.before` and `data.hostname` set from the deleted row), in one statement. Returns the deleted
   * view, or null when nothing was deleted (no such host, or another version: see `version`).
   */
  async delete(id: string, expectedVersion: number | null, meta: RevisionMeta, event: NewEvent): Promise<HostJson | null> {
    const row = outboxRow(this.outbox, event);
    const params: unknown[] = [id, expectedVersion];
    // the revision's time is taken as its row is built, after DELETE locked the host (clock_timestamp, not now())
    const sql = `WITH del AS (
        DELETE FROM inventory.hosts AS h WHERE h.id = $1 AND ($2::int IS NULL OR h.version = $2::int)
        RETURNING h.id, h.version, inventory.host_view(h) AS v),
      rev AS (${revisionInsertSql(params, meta, 'del', {
        hostId: 'del.id',
        revision: 'del.version + 1',
        action: 'deleted',
        at: `date_trunc('milliseconds', clock_timestamp())`,
        before: 'del.v',
        after: 'NULL::jsonb',
      })}),
      evt AS (${outboxInsertSql(row, params, 'del', (p) => `jsonb_set(jsonb_set(${p}, '{data,before}', del.v), '{data,hostname}', del.v->'hostname')`)})
      SELECT v FROM del`;
    const rows: Array<{ v: HostJson }> = await this.dataSource.query(sql, params);
    return rows[0]?.v ?? null;
  }

  async version(id: string): Promise<number | null> {
    const rows: Array<{ version: number }> = await this.dataSource.query(`SELECT version FROM inventory.hosts WHERE id = $1`, [id]);
    return rows[0]?.version ?? null;
  }

  /** Facet counters kept by statement triggers: constant time at any inventory size. */
  facets(names: string[]): Promise<Array<{ facet: string; value: string; n: string }>> {
    return this.dataSource.query(`SELECT facet, value, n FROM inventory.host_facets WHERE facet = ANY($1::text[])`, [names]);
  }

  /** Tags in use, most used first, optionally those starting with `prefix`. */
  tagCounts(prefix: string | undefined, limit: number): Promise<Array<{ value: string; n: string }>> {
    const params: unknown[] = [limit];
    let filter = '';
    if (prefix) {
      params.push(`${escapeLike(prefix.toLowerCase())}%`);
      filter = `AND value LIKE $2`;
    }
    return this.dataSource.query(`SELECT value, n FROM inventory.host_facets WHERE facet = 'tag' AND n > 0 ${filter} ORDER BY n DESC, value LIMIT $1`, params);
  }
}
