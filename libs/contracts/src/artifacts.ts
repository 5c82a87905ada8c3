/**
 * Artifacts contracts: RPC patterns (`artifacts.<op>`, sent under the RPC prefix), request/response schemas and
 * payload types shared by services/artifacts and the gateway. No Nest or DB imports here.
 */
export const ArtifactsRpc = {} as const;
