/**
 * Inventory contracts: RPC patterns (`inventory.<op>`, sent under the RPC prefix), request/response schemas and
 * payload types shared by services/inventory and the gateway. No Nest or DB imports here.
 */
export const InventoryRpc = {} as const;
