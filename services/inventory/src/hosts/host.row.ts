import { HOST_DATA_FIELDS, HOST_EXTRA_FIELDS, type HostView } from '@opsdesk/contracts';

/**
 * Hosts are read and written with SQL, not an ORM entity: `inet`, arrays, a generated search column and
 * COPY-based imports do not fit TypeORM's model. Every read goes through the SQL function
 * `inventory.host_view(h)`, the same one that writes revision snapshots, so history and API views agree.
 */
export type HostJson = Record<string, unknown>;

/** Stable key order for API answers (jsonb reorders keys). */
export function toHostView(v: HostJson): HostView {
  return {
    id: v.id as string,
    hostname: v.hostname as string,
    fqdn: (v.fqdn as string | null) ?? null,
    ip: v.ip as string,
    os: v.os as HostView['os'],
    environment: v.environment as HostView['environment'],
    owner: (v.owner as string | null) ?? null,
    team: (v.team as string | null) ?? null,
    criticality: v.criticality as HostView['criticality'],
    tags: (v.tags as string[] | null) ?? [],
    notes: (v.notes as string | null) ?? null,
    connection_method: v.connection_method as HostView['connection_method'],
    ssh_user: (v.ssh_user as string | null) ?? null,
    ssh_port: v.ssh_port as number,
    bastion_host: (v.bastion_host as string | null) ?? null,
    bastion_port: v.bastion_port as number,
    access_template: (v.access_template as string | null | undefined) ?? null,
    created_at: v.created_at as string,
    updated_at: v.updated_at as string,
    last_seen_at: (v.last_seen_at as string | null) ?? null,
    version: v.version as number,
  };
}

/**
 * Column list in insert order: the contract's data fields (one list, so CSV, API and SQL agree), then the
 * fields the API and history carry but CSV does not (the admin-only access template).
 */
export const HOST_COLUMNS = [...HOST_DATA_FIELDS, ...HOST_EXTRA_FIELDS] as const;

export const UNIQUE_VIOLATION = '23505';

/** Which unique rule a 23505 broke: the API names the conflicting field. */
export function conflictField(err: unknown): 'hostname' | 'ip' | null {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e.driverError?.code ?? e.code;
  if (code !== UNIQUE_VIOLATION) return null;
  const c = e.driverError?.constraint ?? e.constraint ?? '';
  if (c === 'hosts_ip_uq') return 'ip';
  if (c === 'hosts_hostname_uq') return 'hostname';
  return null;
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** TypeORM answers UPDATE/DELETE … RETURNING with [rows, affectedCount] and SELECT/INSERT with rows. */
export function returnedRows<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}
