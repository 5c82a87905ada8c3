import type {
  AccessCommandRequest,
  AccessCommandView,
  ApiTokenView,
  ArtifactView,
  AuditFilters,
  AuditRecordView,
  AuditVerifyResult,
  CreateApiTokenRequest,
  HostFilters,
  HostRevisionView,
  HostSort,
  HostView,
  HostsSummary,
  ImportConflictPolicy,
  ImportReport,
  IntegrationSettingsView,
  ListArtifactsRequest,
  MeView,
  MetricsSnapshotView,
  Page,
  RuntimeSettingsView,
  TokenPair,
  UpdateUserRequest,
  UserView,
} from '@opsdesk/contracts';
import type { z } from 'zod';
import type {
  createHostSchema,
  createUserSchema,
  integrationSettingsSchema,
  updateHostSchema,
  VerifyResult,
} from '@opsdesk/contracts';
import { api, request, type Query } from './http';
import { session } from './session';
import { upload, type UploadProgress } from './upload';

/**
 * Every API operation the console uses, typed with the contracts the server validates with (z.input: what a
 * client may send, defaults optional). The only module that knows URLs; swapping it for a generated client
 * (libs/client) changes nothing above it.
 */
export type CreateHostInput = z.input<typeof createHostSchema>;
export type UpdateHostInput = z.input<typeof updateHostSchema>;
export type IntegrationSettingsInput = z.input<typeof integrationSettingsSchema>;

export interface HostListParams extends HostFilters {
  sort?: HostSort;
  limit?: number;
  cursor?: string;
}

export type AuditListParams = AuditFilters & { limit?: number; cursor?: string };

const enc = encodeURIComponent;

export const authApi = {
  async login(body: { email: string; password: string; totp_code?: string }): Promise<TokenPair> {
    const pair = await api<TokenPair>('/api/auth/login', { method: 'POST', body, anonymous: true });
    session.signIn(pair);
    return pair;
  },
  async logout(): Promise<void> {
    try {
      await api<void>('/api/auth/logout', { method: 'POST', body: {} });
    } finally {
      session.clear();
    }
  },
  me: () => api<MeView>('/api/auth/me'),
  changePassword: (body: { current_password: string; new_password: string }) =>
    api<void>('/api/auth/password', { method: 'POST', body }),
  mfaSetup: () =>
    api<{ secret: string; otpauth_url: string }>('/api/auth/mfa/setup', { method: 'POST', body: {} }),
  mfaEnable: (code: string) =>
    api<{ recovery_codes: string[] }>('/api/auth/mfa/enable', { method: 'POST', body: { code } }),
  mfaDisable: (body: { code: string; password: string }) =>
    api<void>('/api/auth/mfa/disable', { method: 'POST', body }),
  tokens: () => api<{ items: ApiTokenView[] }>('/api/auth/tokens'),
  createToken: (body: CreateApiTokenRequest) =>
    api<ApiTokenView & { token: string }>('/api/auth/tokens', { method: 'POST', body }),
  revokeToken: (id: string) => api<void>(`/api/auth/tokens/${enc(id)}`, { method: 'DELETE' }),
};

export const hostsApi = {
  list: (p: HostListParams, signal?: AbortSignal) =>
    api<Page<HostView>>('/api/hosts', { query: p as Query, signal }),
  summary: () => api<HostsSummary>('/api/hosts/summary'),
  tags: () => api<{ items: Array<{ tag: string; count: number }> }>('/api/tags'),
  /** the host and its ETag (version), which PATCH sends back as If-Match */
  async get(id: string, asOf?: string): Promise<HostView> {
    return api<HostView>(`/api/hosts/${enc(id)}`, { query: { as_of: asOf } });
  },
  create: (body: CreateHostInput) => api<HostView>('/api/hosts', { method: 'POST', body }),
  /** 412 INVENTORY.PRECONDITION_FAILED when the host changed since `version` */
  update: (id: string, version: number, body: UpdateHostInput) =>
    api<HostView>(`/api/hosts/${enc(id)}`, {
      method: 'PATCH',
      body,
      headers: { 'If-Match': `"${version}"` },
    }),
  remove: (id: string, version: number) =>
    api<void>(`/api/hosts/${enc(id)}`, { method: 'DELETE', headers: { 'If-Match': `"${version}"` } }),
  history: (id: string, cursor?: string) =>
    api<Page<HostRevisionView>>(`/api/hosts/${enc(id)}/history`, { query: { cursor, limit: 50 } }),
  accessCommand: (id: string, body: AccessCommandRequest) =>
    api<AccessCommandView>(`/api/hosts/${enc(id)}/access-command`, { method: 'POST', body }),
  metrics: (id: string) =>
    api<Page<MetricsSnapshotView>>(`/api/hosts/${enc(id)}/metrics`, { query: { limit: 50 } }),
  refreshMetrics: (id: string) =>
    api<MetricsSnapshotView>(`/api/hosts/${enc(id)}/metrics:refresh`, { method: 'POST', body: {} }),
  importCsv: (
    file: Blob,
    opts: { dry_run: boolean; atomic: boolean; on_conflict: ImportConflictPolicy },
    onProgress?: (p: UploadProgress) => void,
    signal?: AbortSignal,
  ) => {
    const url = `/api/hosts/import?${new URLSearchParams({ dry_run: String(opts.dry_run), atomic: String(opts.atomic), on_conflict: opts.on_conflict })}`;
    return upload<ImportReport>({ url, body: file, contentType: 'text/csv', onProgress, signal });
  },
};

export const artifactsApi = {
  list: (p: Partial<ListArtifactsRequest>) =>
    api<Page<ArtifactView>>('/api/artifacts', { query: p as Query }),
  forHost: (hostId: string, cursor?: string) =>
    api<Page<ArtifactView>>(`/api/hosts/${enc(hostId)}/artifacts`, { query: { cursor } }),
  upload: (
    hostId: string,
    file: File,
    fields: { kind: string; description?: string },
    onProgress?: (p: UploadProgress) => void,
    signal?: AbortSignal,
  ) => {
    const form = new FormData();
    // the fields first: the service reads them before it streams the file
    form.append('kind', fields.kind);
    if (fields.description) form.append('description', fields.description);
    form.append('file', file, file.name);
    return upload<ArtifactView>({
      url: `/api/hosts/${enc(hostId)}/artifacts`,
      body: form,
      onProgress,
      signal,
    });
  },
  verify: (id: string) => api<VerifyResult>(`/api/artifacts/${enc(id)}/verify`, { method: 'POST', body: {} }),
  remove: (id: string) => api<void>(`/api/artifacts/${enc(id)}`, { method: 'DELETE' }),
  downloadPath: (id: string) => `/api/artifacts/${enc(id)}/download`,
};

export const auditApi = {
  list: (p: AuditListParams, signal?: AbortSignal) =>
    api<Page<AuditRecordView>>('/api/audit', { query: p as Query, signal }),
  verify: () => api<AuditVerifyResult>('/api/audit/verify', { timeoutMs: 15 * 60_000 }),
};

export const usersApi = {
  list: (p: { q?: string; role?: string; cursor?: string }) =>
    api<Page<UserView>>('/api/users', { query: { ...p, limit: 100 } }),
  create: (body: z.input<typeof createUserSchema>) => api<UserView>('/api/users', { method: 'POST', body }),
  update: (id: string, body: UpdateUserRequest) =>
    api<UserView>(`/api/users/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => api<void>(`/api/users/${enc(id)}`, { method: 'DELETE' }),
  resetMfa: (id: string) => api<void>(`/api/users/${enc(id)}/mfa/reset`, { method: 'POST', body: {} }),
};

export const settingsApi = {
  runtime: () => api<RuntimeSettingsView>('/api/settings/runtime'),
  integrations: () => api<IntegrationSettingsView>('/api/settings/integrations'),
  updateIntegrations: (body: IntegrationSettingsInput) =>
    api<IntegrationSettingsView>('/api/settings/integrations', { method: 'PUT', body }),
};

/** Liveness of the API without a token (the sign-in page's "is the server there" check). */
export const probe = () => request<unknown>('/readyz', { anonymous: true, timeoutMs: 5000 });
