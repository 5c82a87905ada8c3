import { z } from 'zod';
import {
  apiTokenListSchema,
  createdApiTokenSchema,
  mfaSetupSchema,
  recoveryCodesSchema,
  tagCountsSchema,
  tagsQuerySchema,
} from './api';
import { ArtifactsRpc, artifactIdSchema, listArtifactsSchema, type ArtifactLimitsView, type ArtifactView, type VerifyResult } from './artifacts';
import { AuditRpc, listAuditSchema, verifyAuditSchema, type AuditPublicKeys, type AuditRecordView, type AuditVerifyResult } from './audit';
import {
  AuthRpc,
  changePasswordSchema,
  createApiTokenSchema,
  createUserSchema,
  listUsersSchema,
  loginRequestSchema,
  mfaDisableSchema,
  mfaEnableSchema,
  refreshRequestSchema,
  updateUserSchema,
  type TokenPair,
  type UserView,
  type VerifiedPrincipal,
} from './auth';
import {
  InventoryRpc,
  accessCommandSchema,
  createHostSchema,
  historyQuerySchema,
  integrationSettingsSchema,
  listHostsSchema,
  metricsListSchema,
  updateHostSchema,
  type AccessCommandView,
  type HostRevisionView,
  type HostView,
  type HostsSummary,
  type IntegrationSettingsView,
  type MetricsSnapshotView,
  type RuntimeSettingsView,
} from './inventory';
import { AUTH_JWKS_PATTERN, type JwkSet } from './jwks';
import type { Page } from './pagination';

/**
 * The RPC contract map: for every pattern, the schema its data is validated with on the receiving side and the
 * type it answers with. The caller (`RpcClient.call`), the handler (`@RpcHandler` in libs/messaging) and the
 * gateway controllers all take their types from here, so a request or response that does not match its pattern
 * is a compile error on both sides of the wire. Responses are the view types the HTTP API documents (api.ts checks
 * each against its OpenAPI schema).
 */
export interface RpcContract<S extends z.ZodTypeAny, R> {
  readonly request: S;
  /** type only: what the handler answers (never set at run time) */
  readonly response?: R;
}

function rpc<S extends z.ZodTypeAny>(request: S) {
  return { returns: <R>(): RpcContract<S, R> => ({ request }) };
}

// ---------------------------------------------------------------------------------------------------------
// Request shapes used only over RPC (the gateway puts path parameters and headers into them)

/** a call that carries no data: anything a client adds is ignored, nothing is required */
export const noDataSchema = z.object({}).passthrough();
export const idSchema = z.object({ id: z.string().uuid({ message: 'must be a UUID' }) });
/** the session a request comes from (access token `sid`; null for API tokens), so auth can keep it while revoking others */
export const sessionRefSchema = z.object({ session_id: z.string().uuid().nullable().optional() });
/** If-Match as a number (null: unconditional) */
export const expectedVersionSchema = z.number().int().min(0).nullable().default(null);
const includeDeleted = z.boolean().default(false);
const ok = rpc(idSchema).returns<{ ok: true }>;

export const RpcContracts = {
  // auth
  [AuthRpc.LOGIN]: rpc(loginRequestSchema).returns<TokenPair>(),
  [AuthRpc.REFRESH]: rpc(refreshRequestSchema).returns<TokenPair>(),
  [AuthRpc.LOGOUT]: rpc(z.object({ session_id: z.string().uuid() })).returns<{ ok: true }>(),
  [AuthRpc.ME]: rpc(noDataSchema).returns<UserView>(),
  [AuthRpc.CHANGE_PASSWORD]: rpc(changePasswordSchema.and(sessionRefSchema)).returns<{ ok: true }>(),
  [AuthRpc.MFA_SETUP]: rpc(noDataSchema).returns<z.infer<typeof mfaSetupSchema>>(),
  [AuthRpc.MFA_ENABLE]: rpc(mfaEnableSchema).returns<z.infer<typeof recoveryCodesSchema>>(),
  [AuthRpc.MFA_DISABLE]: rpc(mfaDisableSchema).returns<{ ok: true }>(),
  [AuthRpc.TOKENS_LIST]: rpc(noDataSchema).returns<z.infer<typeof apiTokenListSchema>>(),
  [AuthRpc.TOKENS_CREATE]: rpc(createApiTokenSchema).returns<z.infer<typeof createdApiTokenSchema>>(),
  [AuthRpc.TOKENS_REVOKE]: ok(),
  [AuthRpc.TOKENS_VERIFY]: rpc(z.object({ token: z.string().min(10).max(200) })).returns<VerifiedPrincipal>(),
  [AuthRpc.USERS_LIST]: rpc(listUsersSchema).returns<Page<UserView> & { total: number }>(),
  [AuthRpc.USERS_GET]: rpc(idSchema).returns<UserView>(),
  [AuthRpc.USERS_CREATE]: rpc(createUserSchema).returns<UserView>(),
  [AuthRpc.USERS_UPDATE]: rpc(z.object({ id: z.string().uuid(), changes: updateUserSchema })).returns<UserView>(),
  [AuthRpc.USERS_DELETE]: ok(),
  [AuthRpc.USERS_MFA_RESET]: ok(),
  [AUTH_JWKS_PATTERN]: rpc(noDataSchema).returns<JwkSet>(),
  // inventory
  [InventoryRpc.HOSTS_GET]: rpc(idSchema).returns<HostView>(),
  [InventoryRpc.HOSTS_GET_AS_OF]: rpc(z.object({ id: z.string().uuid(), as_of: z.string().datetime({ offset: true }), include_deleted: includeDeleted })).returns<HostView>(),
  [InventoryRpc.HOSTS_LIST]: rpc(listHostsSchema).returns<Page<HostView>>(),
  [InventoryRpc.HOSTS_CREATE]: rpc(createHostSchema).returns<HostView>(),
  [InventoryRpc.HOSTS_UPDATE]: rpc(z.object({ id: z.string().uuid(), expected_version: expectedVersionSchema, changes: updateHostSchema })).returns<HostView>(),
  [InventoryRpc.HOSTS_DELETE]: rpc(z.object({ id: z.string().uuid(), expected_version: expectedVersionSchema })).returns<{ ok: true }>(),
  [InventoryRpc.HOSTS_SUMMARY]: rpc(noDataSchema).returns<HostsSummary>(),
  [InventoryRpc.HOSTS_HISTORY]: rpc(historyQuerySchema.extend({ id: z.string().uuid(), include_deleted: includeDeleted })).returns<Page<HostRevisionView>>(),
  [InventoryRpc.TAGS_LIST]: rpc(tagsQuerySchema).returns<z.infer<typeof tagCountsSchema>>(),
  [InventoryRpc.ACCESS_ISSUE]: rpc(z.object({ id: z.string().uuid(), request: accessCommandSchema })).returns<AccessCommandView>(),
  [InventoryRpc.METRICS_REFRESH]: rpc(idSchema).returns<MetricsSnapshotView>(),
  [InventoryRpc.METRICS_LATEST]: rpc(idSchema).returns<MetricsSnapshotView>(),
  [InventoryRpc.METRICS_LIST]: rpc(metricsListSchema.extend({ id: z.string().uuid() })).returns<Page<MetricsSnapshotView>>(),
  [InventoryRpc.SETTINGS_RUNTIME]: rpc(noDataSchema).returns<RuntimeSettingsView>(),
  [InventoryRpc.SETTINGS_GET]: rpc(noDataSchema).returns<IntegrationSettingsView>(),
  [InventoryRpc.SETTINGS_PUT]: rpc(integrationSettingsSchema).returns<IntegrationSettingsView>(),
  // artifacts
  [ArtifactsRpc.LIST]: rpc(listArtifactsSchema).returns<Page<ArtifactView>>(),
  [ArtifactsRpc.GET]: rpc(artifactIdSchema).returns<ArtifactView>(),
  [ArtifactsRpc.DELETE]: rpc(artifactIdSchema).returns<{ ok: true }>(),
  [ArtifactsRpc.VERIFY]: rpc(artifactIdSchema).returns<VerifyResult>(),
  [ArtifactsRpc.LIMITS]: rpc(noDataSchema).returns<ArtifactLimitsView>(),
  // audit
  [AuditRpc.LIST]: rpc(listAuditSchema).returns<Page<AuditRecordView>>(),
  [AuditRpc.VERIFY]: rpc(verifyAuditSchema).returns<AuditVerifyResult>(),
  [AuditRpc.PUBLIC_KEYS]: rpc(noDataSchema).returns<AuditPublicKeys>(),
} as const;

export type RpcPattern = keyof typeof RpcContracts;
type ContractOf<P extends RpcPattern> = (typeof RpcContracts)[P];
/** what a caller sends for a pattern (defaults may be left out) */
export type RpcRequestOf<P extends RpcPattern> = z.input<ContractOf<P>['request']>;
/** what a handler receives for a pattern, validated and with defaults applied */
export type RpcDataOf<P extends RpcPattern> = z.output<ContractOf<P>['request']>;
/** what a pattern answers */
export type RpcResponseOf<P extends RpcPattern> = ContractOf<P> extends RpcContract<z.ZodTypeAny, infer R> ? R : never;

export function isRpcPattern(pattern: string): pattern is RpcPattern {
  return Object.prototype.hasOwnProperty.call(RpcContracts, pattern);
}
