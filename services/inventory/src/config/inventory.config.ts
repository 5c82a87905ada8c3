import { artifactsContextPublicKeyEnvShape, commonEnvShape, databaseEnvShape, gatewayContextPublicKeyEnvShape, intEnv, loadConfigOrExit, parseConfig, portEnv } from '@opsdesk/config';
import { z } from 'zod';

export const inventoryEnvShape = {
  ...commonEnvShape,
  ...databaseEnvShape,
  // verifies the gateway's signed RPC contexts and internal HTTP tokens (docs/SECURITY.md)
  ...gatewayContextPublicKeyEnvShape,
  // artifacts asks inventory about hosts with contexts signed by its own key (only for patterns marked @RpcCallers)
  ...artifactsContextPublicKeyEnvShape,
  INVENTORY_PORT: portEnv(8002),
  /** the team's Prometheus (node_exporter series); the admin's integration setting overrides it */
  PROMETHEUS_URL: z.string().url('must be an http(s) URL').regex(/^https?:\/\//, 'must be an http(s) URL').optional(),
  PROMETHEUS_TIMEOUT_MS: intEnv(5000, 100, 60_000),
  /** default Prometheus `instance` label of a host's node_exporter ({ip}, {hostname}, {fqdn}) */
  METRICS_INSTANCE_TEMPLATE: z.string().min(1).default('{ip}:9100'),
  /** default lifetime of a metrics snapshot */
  METRICS_SNAPSHOT_TTL_SECONDS: intEnv(7 * 24 * 3600, 60, 365 * 24 * 3600),
  /** how often expired snapshots are deleted */
  METRICS_CLEANUP_INTERVAL_SECONDS: intEnv(300, 1, 24 * 3600),
  /** CSV import limits (413 beyond them) */
  IMPORT_MAX_BYTES: intEnv(100 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024),
  IMPORT_MAX_ROWS: intEnv(200_000, 1, 5_000_000),
  /** rows per write batch; one inventory.hosts.imported event per batch */
  IMPORT_BATCH_ROWS: intEnv(5000, 1, 50_000),
  /** an import that writes at least this many hosts refreshes the planner statistics (ANALYZE) before answering */
  IMPORT_ANALYZE_MIN_ROWS: intEnv(10_000, 1, 10_000_000),
  APP_VERSION: z.string().default('0.1.0'),
};

export type InventoryConfig = ReturnType<typeof loadInventoryConfig>;
export const INVENTORY_CONFIG = Symbol('INVENTORY_CONFIG');

export function loadInventoryConfig(env: NodeJS.ProcessEnv = process.env) {
  return parseConfig(inventoryEnvShape, env);
}

export function loadInventoryConfigOrExit() {
  return loadConfigOrExit(inventoryEnvShape);
}
