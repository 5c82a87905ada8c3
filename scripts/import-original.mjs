#!/usr/bin/env node
/**
 * `npm run import:original -- --url <gateway> --hosts hosts.csv --users users.csv [options]`
 *
 * Imports hosts and users from the original OpsDesk (FastAPI) into OpsDesk through the public API, so every
 * rule, event and history entry is the same as for any other write (docs/MIGRATING.md):
 *   - hosts: the original's CSV (its export, or `\copy hosts TO … CSV HEADER` from a restored database dump) is
 *     sent to POST /api/hosts/import, which maps the original's column names; each host gets a history entry
 *     with source `import` and this run's request id (`import-original-<run>-hosts`). Columns OpsDesk has no
 *     use for (id, created_at, …) are reported as ignored. A host's `ssh_template` becomes its access_template
 *     (PATCH, admin) when it passes OpsDesk's template rules; an unsafe one is reported and not carried over.
 *   - users: POST /api/users with the same email and role. Password hashes are not portable (the original's
 *     scheme is not Argon2id): each imported user gets a generated password, written to --passwords-out
 *     (mode 600) for the admin to hand over; inactive users are deactivated right after creation. A user
 *     whose email already exists is left alone (reported as existing).
 *   - `--original-db <url>` instead of the CSV files reads the `hosts` and `users` tables of a restored dump of
 *     the original's database (read-only) and goes on exactly as with the export.
 *   - the original's integer ids are mapped to OpsDesk's UUIDs in --map-out (JSON).
 * The token (--token or OPSDESK_TOKEN) must be an admin's: access tokens or personal API tokens with admin scope.
 * --dry-run validates the hosts (import dry_run) and checks the users without writing anything.
 * Exit status: 0 when everything was imported or already there, 1 when some rows were refused, 2 on usage
 * or connection errors.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { createRequire } from 'node:module';
// the one CSV writer (libs/contracts csv.ts), from the build (`npm run import:original` builds first)
const { csvLine } = createRequire(import.meta.url)('@opsdesk/contracts');

const ROLES = ['admin', 'operator', 'auditor', 'viewer'];

function usage(message) {
  if (message) process.stderr.write(`import-original: ${message}\n`);
  process.stderr.write(
    'usage: import-original --url <gateway url> [--token <admin token>] [--hosts hosts.csv] [--users users.csv]\n' +
      '       | --original-db <postgres url of a restored dump> [--original-schema public]\n' +
      '         [--passwords-out users-passwords.csv] [--map-out id-map.json] [--on-conflict skip|update|fail] [--dry-run]\n',
  );
  process.exit(2);
}

export function parseArgs(argv) {
  const o = { onConflict: 'skip', dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--url') o.url = next().replace(/\/+$/, '');
    else if (a === '--token') o.token = next();
    else if (a === '--hosts') o.hosts = next();
    else if (a === '--users') o.users = next();
    else if (a === '--original-db') o.originalDb = next();
    else if (a === '--original-schema') o.originalSchema = next();
    else if (a === '--passwords-out') o.passwordsOut = next();
    else if (a === '--map-out') o.mapOut = next();
    else if (a === '--on-conflict') o.onConflict = next();
    else if (a === '--dry-run') o.dryRun = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  o.token ??= process.env.OPSDESK_TOKEN;
  if (!o.url) usage('--url is required');
  if (!o.token) usage('--token or OPSDESK_TOKEN is required (an admin token)');
  if (o.originalDb && (o.hosts || o.users)) usage('give either --original-db or --hosts/--users, not both');
  if (!o.hosts && !o.users && !o.originalDb) usage('nothing to import: give --hosts and/or --users, or --original-db');
  if (o.originalSchema && !/^[a-z_][a-z0-9_]*$/i.test(o.originalSchema)) usage('--original-schema must be a plain identifier');
  if (!['skip', 'update', 'fail'].includes(o.onConflict)) usage('--on-conflict must be skip, update or fail');
  if ((o.users || o.originalDb) && !o.dryRun && !o.passwordsOut) usage('--passwords-out is required with --users (the generated passwords go there)');
  return o;
}

/** A password OpsDesk's rules accept (length, three classes) that contains no part of any email. */
export function generatePassword() {
  return `${randomBytes(18).toString('base64url')}-Aa9`;
}

export function truthy(v) {
  return ['true', 't', '1', 'yes', 'y'].includes(String(v ?? '').trim().toLowerCase());
}

class Api {
  constructor(url, token, runId) {
    this.url = url;
    this.token = token;
    this.runId = runId;
  }

  async request(method, path, { body, contentType, requestId } = {}) {
    const headers = { Authorization: `Bearer ${this.token}`, 'X-Request-Id': requestId ?? `import-original-${this.runId}-${randomBytes(4).toString('hex')}` };
    if (body !== undefined) headers['Content-Type'] = contentType ?? 'application/json';
    let res;
    try {
      res = await fetch(`${this.url}${path}`, { method, headers, body: body === undefined ? undefined : contentType ? body : JSON.stringify(body) });
    } catch (err) {
      process.stderr.write(`import-original: cannot reach ${this.url}: ${err.message}\n`);
      process.exit(2);
    }
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = { detail: text };
    }
    if (res.status === 401 || res.status === 403) {
      process.stderr.write(`import-original: ${method} ${path}: ${res.status} ${json?.detail ?? ''} (an admin token is needed)\n`);
      process.exit(2);
    }
    return { status: res.status, body: json };
  }
}

async function importHosts(api, o, csv, report, idMap) {
  const rows = parse(csv, { columns: (h) => h.map((c) => c.replace(/^\uFEFF/, '').trim().toLowerCase()), skip_empty_lines: true, bom: true });
  const q = new URLSearchParams({ dry_run: String(o.dryRun), on_conflict: o.onConflict, report: 'full' });
  const res = await api.request('POST', `/api/hosts/import?${q}`, { body: csv, contentType: 'text/csv', requestId: `import-original-${api.runId}-hosts` });
  if (res.status !== 200) {
    report.hosts.failed = `${res.status} ${res.body?.detail ?? ''}`;
    report.problems.push(`hosts: the import was refused: ${res.status} ${res.body?.detail ?? ''} ${JSON.stringify(res.body?.errors ?? [])}`);
    return;
  }
  const imp = res.body;
  report.hosts.summary = imp.summary;
  report.hosts.ignored_columns = imp.columns?.ignored ?? [];
  // the import report names rows by hostname (unique case-insensitively): that is the join back to the original
  const byHostname = new Map(rows.map((r) => [String(r.hostname ?? r.host ?? '').trim().toLowerCase(), r]));
  const origOf = (r) => byHostname.get(String(r.hostname ?? '').toLowerCase());
  for (const r of imp.rows) {
    const orig = origOf(r);
    if (r.status === 'error') report.problems.push(`hosts line ${r.line} (${r.hostname ?? '?'}): ${(r.errors ?? []).map((e) => `${e.field} ${e.message}`).join('; ')}`);
    if (r.id && orig?.id !== undefined && orig.id !== '') idMap.hosts[orig.id] = r.id;
  }
  // per-host templates: the original's ssh_template, when OpsDesk's template rules accept it
  for (const r of imp.rows) {
    const orig = origOf(r);
    const template = orig?.ssh_template?.trim();
    if (!template || r.status === 'error' || !r.id) continue;
    if (o.dryRun) {
      report.hosts.templates_to_set++;
      continue;
    }
    const cur = await api.request('GET', `/api/hosts/${r.id}`);
    if (cur.status !== 200 || cur.body.access_template === template) continue;
    const upd = await api.request('PATCH', `/api/hosts/${r.id}`, { body: { access_template: template }, requestId: `import-original-${api.runId}-template-${orig.id ?? r.line}` });
    if (upd.status === 200) report.hosts.templates_set++;
    else report.problems.push(`hosts line ${r.line} (${r.hostname}): ssh_template not carried over: ${(upd.body?.errors ?? []).map((e) => e.message).join('; ') || upd.body?.detail}`);
  }
}

async function importUsers(api, o, csv, report, idMap) {
  const rows = parse(csv, { columns: (h) => h.map((c) => c.replace(/^\uFEFF/, '').trim().toLowerCase()), skip_empty_lines: true, bom: true });
  const passwords = [];
  let line = 1;
  for (const u of rows) {
    line++;
    const email = String(u.email ?? '').trim().toLowerCase();
    const role = String(u.role ?? '').trim().toLowerCase();
    if (!email) {
      report.problems.push(`users line ${line}: no email`);
      continue;
    }
    if (!ROLES.includes(role)) {
      report.problems.push(`users line ${line} (${email}): role '${u.role}' is not one of ${ROLES.join(', ')}; not imported`);
      continue;
    }
    if (o.dryRun) {
      report.users.to_create++;
      continue;
    }
    const password = generatePassword();
    const created = await api.request('POST', '/api/users', { body: { email, password, role }, requestId: `import-original-${api.runId}-user-${u.id ?? line}` });
    if (created.status === 409) {
      report.users.existing++;
      continue;
    }
    if (created.status !== 201) {
      report.problems.push(`users line ${line} (${email}): ${created.status} ${created.body?.detail ?? ''} ${JSON.stringify(created.body?.errors ?? [])}`);
      continue;
    }
    report.users.created++;
    if (u.id !== undefined && u.id !== '') idMap.users[u.id] = created.body.id;
    const active = u.is_active === undefined || truthy(u.is_active);
    if (!active) {
      const off = await api.request('PATCH', `/api/users/${created.body.id}`, { body: { is_active: false } });
      if (off.status === 200) report.users.deactivated++;
      else report.problems.push(`users line ${line} (${email}): created but could not be deactivated: ${off.status}`);
    }
    // MFA secrets are not portable either: a user who had MFA sets it up again (reported so the admin can tell them)
    if (truthy(u.mfa_enabled)) report.users.mfa_to_set_up.push(email);
    passwords.push([email, role, active, password]);
  }
  if (!o.dryRun && passwords.length) {
    // exact values (a generated password may start with '-'), quoted where needed
    const csv = [['email', 'role', 'is_active', 'password'], ...passwords].map((p) => csvLine(p, { formulas: 'keep' })).join('');
    writeFileSync(o.passwordsOut, csv, { mode: 0o600 });
  }
}

/**
 * The original's database (a dump restored into a scratch Postgres): its `hosts` and `users` tables, read
 * as they are and turned into the same CSV as its export (arrays as `{a,b}`, times as ISO), so both paths
 * share everything after this point. Read-only: one SELECT per table.
 */
async function readOriginalDatabase(url, schema) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    process.stderr.write(`import-original: cannot connect to the original database: ${err.message}\n`);
    process.exit(2);
  }
  try {
    const cell = (v) => (v === null || v === undefined ? '' : Array.isArray(v) ? `{${v.join(',')}}` : v instanceof Date ? v.toISOString() : String(v));
    const table = async (name) => {
      const r = await client.query(`SELECT * FROM "${schema}"."${name}" ORDER BY 1`);
      // values exactly as stored: this CSV is only read back by this script and the host import
      return [r.fields.map((f) => f.name), ...r.rows.map((row) => r.fields.map((f) => cell(row[f.name])))].map((cells) => csvLine(cells, { formulas: 'keep' })).join('');
    };
    return { hosts: await table('hosts'), users: await table('users') };
  } finally {
    await client.end();
  }
}

export async function main(argv) {
  const o = parseArgs(argv);
  const runId = randomUUID().slice(0, 8);
  const api = new Api(o.url, o.token, runId);
  const report = {
    run: runId,
    dry_run: o.dryRun,
    hosts: { summary: null, ignored_columns: [], templates_set: 0, templates_to_set: 0 },
    users: { created: 0, existing: 0, deactivated: 0, to_create: 0, mfa_to_set_up: [] },
    problems: [],
  };
  const idMap = { hosts: {}, users: {} };
  const source = o.originalDb ? await readOriginalDatabase(o.originalDb, o.originalSchema ?? 'public') : {
    hosts: o.hosts ? readFileSync(o.hosts, 'utf8') : null,
    users: o.users ? readFileSync(o.users, 'utf8') : null,
  };
  if (source.hosts) await importHosts(api, o, source.hosts, report, idMap);
  if (source.users) await importUsers(api, o, source.users, report, idMap);
  if (o.mapOut && !o.dryRun) writeFileSync(o.mapOut, JSON.stringify(idMap, null, 2) + '\n');
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return report.problems.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`import-original: ${err.stack ?? err}\n`);
    process.exit(2);
  },
);
