/**
 * Inventory contracts: RPC patterns (`inventory.<op>`, sent under the RPC prefix), request/response schemas
 * and payload types shared by services/inventory, the gateway and other services. No Nest or DB imports.
 */
export const InventoryRpc = {
  /** data {id} -> host view; INVENTORY.HOST_NOT_FOUND when unknown or deleted. Used by artifacts to check a host. */
  HOSTS_GET: 'inventory.hosts.get',
} as const;

export const InventoryErrors = {
  HOST_NOT_FOUND: 'INVENTORY.HOST_NOT_FOUND',
} as const;
