import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Parity with the original OpsDesk (issue 16):
 *   - `teleport` joins the connection methods (`tsh ssh` through the proxy/cluster of the integration settings);
 *   - `access_template`: a host's own access command template (null: the global one of its connection method).
 * `inventory.host_view` gains the field, so API answers and revision snapshots (history, as_of) carry it; older
 * snapshots simply lack it and read as null.
 */
export class InventoryAccessTemplates1764600000000 implements MigrationInterface {
  name = 'InventoryAccessTemplates1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inventory.hosts DROP CONSTRAINT hosts_connection_method_check`);
    await q.query(`ALTER TABLE inventory.hosts ADD CONSTRAINT hosts_connection_method_check CHECK (connection_method IN ('direct_ssh','bastion_ssh','teleport'))`);
    await q.query(`ALTER TABLE inventory.hosts ADD COLUMN access_template text`);
    await q.query(hostView(true));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(hostView(false));
    await q.query(`ALTER TABLE inventory.hosts DROP COLUMN access_template`);
    await q.query(`ALTER TABLE inventory.hosts DROP CONSTRAINT hosts_connection_method_check`);
    await q.query(`ALTER TABLE inventory.hosts ADD CONSTRAINT hosts_connection_method_check CHECK (connection_method IN ('direct_ssh','bastion_ssh'))`);
  }
}

function hostView(withTemplate: boolean): string {
  return `
    CREATE OR REPLACE FUNCTION inventory.host_view(h inventory.hosts) RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $$
      SELECT jsonb_build_object(
        'id', h.id, 'hostname', h.hostname, 'fqdn', h.fqdn, 'ip', host(h.ip), 'os', h.os,
        'environment', h.environment, 'owner', h.owner, 'team', h.team, 'criticality', h.criticality,
        'tags', to_jsonb(h.tags), 'notes', h.notes, 'connection_method', h.connection_method,
        'ssh_user', h.ssh_user, 'ssh_port', h.ssh_port, 'bastion_host', h.bastion_host, 'bastion_port', h.bastion_port,${
          withTemplate ? `\n        'access_template', h.access_template,` : ''
        }
        'created_at', inventory.iso(h.created_at), 'updated_at', inventory.iso(h.updated_at),
        'last_seen_at', inventory.iso(h.last_seen_at), 'version', h.version)
    $$`;
}
