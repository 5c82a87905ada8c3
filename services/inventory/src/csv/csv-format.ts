import {
  ConnectionMethods,
  Criticalities,
  HOST_DATA_FIELDS,
  HostEnvironments,
  HostRules,
  OperatingSystems,
  hostCrossFieldErrors,
  FORMULA_START,
  normalizeTags,
  splitTags,
  unneutralise,
  type FieldError,
  type HostDataField,
} from '@opsdesk/contracts';

/**
 * The CSV format of OpsDesk (import and export).
 *
 * Columns: hostname, fqdn, ip, os, environment, owner, team, criticality, tags, notes, connection_method,
 * ssh_user, ssh_port, bastion_host, bastion_port. Header names are matched case-insensitively, with spaces and
 * hyphens as underscores, and the aliases of the original OpsDesk export (host, ip_address, env, labels, …).
 * Tags are one cell separated by ; , | or spaces.
 *
 * Spreadsheet formulas: the export writes with the one CSV writer (libs/contracts/src/csv.ts), which neutralises
 * formula starts; the import undoes exactly that (`unneutralise`), so import(export(v)) === v for every v.
 */

export const HEADER_ALIASES: Record<string, HostDataField> = {
  hostname: 'hostname',
  host: 'hostname',
  host_name: 'hostname',
  name: 'hostname',
  server: 'hostname',
  server_name: 'hostname',
  fqdn: 'fqdn',
  dns_name: 'fqdn',
  domain_name: 'fqdn',
  ip: 'ip',
  ip_address: 'ip',
  ipaddress: 'ip',
  ipv4: 'ip',
  ipv6: 'ip',
  address: 'ip',
  primary_ip: 'ip',
  os: 'os',
  operating_system: 'os',
  platform: 'os',
  environment: 'environment',
  env: 'environment',
  stage: 'environment',
  owner: 'owner',
  owner_email: 'owner',
  contact: 'owner',
  team: 'team',
  group: 'team',
  department: 'team',
  criticality: 'criticality',
  priority: 'criticality',
  tier: 'criticality',
  tags: 'tags',
  tag: 'tags',
  labels: 'tags',
  notes: 'notes',
  note: 'notes',
  description: 'notes',
  comment: 'notes',
  comments: 'notes',
  connection_method: 'connection_method',
  connection: 'connection_method',
  ssh_user: 'ssh_user',
  user: 'ssh_user',
  username: 'ssh_user',
  ssh_port: 'ssh_port',
  port: 'ssh_port',
  bastion_host: 'bastion_host',
  bastion: 'bastion_host',
  jump_host: 'bastion_host',
  bastion_port: 'bastion_port',
  jump_port: 'bastion_port',
};

export const REQUIRED_COLUMNS: HostDataField[] = ['hostname', 'ip', 'environment'];

export interface HeaderMapping {
  /** field for each CSV column index (null: ignored) */
  fields: Array<HostDataField | null>;
  mapped: Record<string, HostDataField>;
  ignored: string[];
  problems: FieldError[];
}

export function normalizeHeader(h: string): string {
  return h
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

export function mapHeader(header: string[]): HeaderMapping {
  const fields: Array<HostDataField | null> = [];
  const mapped: Record<string, HostDataField> = {};
  const ignored: string[] = [];
  const problems: FieldError[] = [];
  const seen = new Map<HostDataField, string>();
  for (const raw of header) {
    const field = HEADER_ALIASES[normalizeHeader(raw)] ?? null;
    if (field && seen.has(field)) {
      problems.push({ field: 'columns', message: `columns '${seen.get(field)}' and '${raw}' both map to ${field}` });
      fields.push(null);
      continue;
    }
    fields.push(field);
    if (field) {
      seen.set(field, raw);
      mapped[raw] = field;
    } else ignored.push(raw);
  }
  for (const req of REQUIRED_COLUMNS) if (!seen.has(req)) problems.push({ field: 'columns', message: `missing required column ${req}` });
  return { fields, mapped, ignored, problems };
}

/** A validated row: present columns only (absent columns keep an existing host's values on update). */
export type ImportRow = Partial<{
  hostname: string;
  fqdn: string | null;
  ip: string;
  os: string;
  environment: string;
  owner: string | null;
  team: string | null;
  criticality: string;
  tags: string[];
  notes: string | null;
  connection_method: string;
  ssh_user: string | null;
  ssh_port: number;
  bastion_host: string | null;
  bastion_port: number;
}>;

const ENV_ALIASES: Record<string, string> = { production: 'prod', prd: 'prod', staging: 'stage', stg: 'stage', development: 'dev', develop: 'dev' };

function oneOf(list: readonly string[], v: string): string | null {
  return list.includes(v) ? null : `must be one of ${list.join(', ')}`;
}

function port(v: string): { value: number; error: string | null } {
  if (!/^\d{1,5}$/.test(v)) return { value: 0, error: 'must be an integer port 1-65535' };
  const n = Number(v);
  return { value: n, error: HostRules.port(n) };
}

/**
 * Validates one record against the mapping. Pure and allocation-light: this runs for every row of a
 * 100k-row import. Returns the normalised row, field errors and warnings (formula-like text kept as text).
 */
export function parseRecord(record: string[], mapping: HeaderMapping): { row: ImportRow; errors: FieldError[]; warnings: FieldError[] } {
  const row: ImportRow = {};
  const errors: FieldError[] = [];
  const warnings: FieldError[] = [];
  const err = (field: string, message: string | null) => {
    if (message) errors.push({ field, message });
  };
  for (let i = 0; i < mapping.fields.length; i++) {
    const field = mapping.fields[i];
    if (!field) continue;
    const v = unneutralise((record[i] ?? '').trim());
    switch (field) {
      case 'hostname':
        row.hostname = v;
        err(field, HostRules.hostname(v));
        break;
      case 'ip':
        row.ip = v;
        err(field, HostRules.ip(v));
        break;
      case 'fqdn':
        row.fqdn = v ? v.toLowerCase() : null;
        if (v) err(field, HostRules.fqdn(v));
        break;
      case 'os':
        row.os = v ? v.toLowerCase() : 'linux';
        err(field, oneOf(OperatingSystems, row.os));
        break;
      case 'environment': {
        const e = v.toLowerCase();
        row.environment = ENV_ALIASES[e] ?? e;
        err(field, v ? oneOf(HostEnvironments, row.environment) : 'is required');
        break;
      }
      case 'criticality':
        row.criticality = v ? v.toLowerCase() : 'medium';
        err(field, oneOf(Criticalities, row.criticality));
        break;
      case 'connection_method':
        row.connection_method = v ? v.toLowerCase() : 'direct_ssh';
        err(field, oneOf(ConnectionMethods, row.connection_method));
        break;
      case 'owner':
      case 'team':
      case 'notes': {
        row[field] = v || null;
        err(field, HostRules.text(field === 'notes' ? 4000 : field === 'owner' ? 254 : 100)(v));
        if (FORMULA_START.test(v)) warnings.push({ field, message: 'starts with a spreadsheet formula character: stored as text, neutralised on export' });
        break;
      }
      case 'tags': {
        const tags = splitTags(v.toLowerCase());
        const bad = tags.map((t) => HostRules.tag(t)).find((m) => m !== null);
        if (bad) err(field, bad);
        else if (tags.length > 50) err(field, 'at most 50 tags');
        row.tags = normalizeTags(tags);
        break;
      }
      case 'ssh_user':
        row.ssh_user = v || null;
        if (v) err(field, HostRules.sshUser(v));
        break;
      case 'bastion_host':
        row.bastion_host = v ? v.toLowerCase() : null;
        if (v) err(field, HostRules.bastionHost(v));
        break;
      case 'ssh_port':
      case 'bastion_port': {
        if (!v) row[field] = 22;
        else {
          const p = port(v);
          row[field] = p.value;
          err(field, p.error);
        }
        break;
      }
    }
  }
  if (row.connection_method !== undefined && errors.every((e) => e.field !== 'connection_method'))
    for (const e of hostCrossFieldErrors({ connection_method: row.connection_method as 'direct_ssh' | 'bastion_ssh', bastion_host: row.bastion_host ?? null })) errors.push(e);
  return { row, errors, warnings };
}

/** COPY (FORMAT csv) encoding of a validated row for the temp table: unquoted empty = NULL. */
export function copyLine(line: number, row: ImportRow): string {
  const q = (v: string | null | undefined) => (v === null || v === undefined ? '' : `"${v.replace(/"/g, '""')}"`);
  const n = (v: number | undefined) => (v === undefined ? '' : String(v));
  const cells = [
    String(line),
    q(row.hostname),
    q(row.fqdn),
    q(row.ip),
    q(row.os),
    q(row.environment),
    q(row.owner),
    q(row.team),
    q(row.criticality),
    // tags passed validation: no quotes, commas, braces or spaces, so this is a valid array literal
    row.tags === undefined ? '' : `"{${row.tags.join(',')}}"`,
    q(row.notes),
    q(row.connection_method),
    q(row.ssh_user),
    n(row.ssh_port),
    q(row.bastion_host),
    n(row.bastion_port),
  ];
  return `${cells.join(',')}\n`;
}

export const EXPORT_HEADER = [...HOST_DATA_FIELDS];
