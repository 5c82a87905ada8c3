/**
 * Audit contracts: RPC patterns (`audit.<op>`, sent under the RPC prefix), request/response schemas and
 * payload types shared by services/audit and the gateway. No Nest or DB imports here.
 */
export const AuditRpc = {} as const;
