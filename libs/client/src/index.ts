import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, operations, paths } from './openapi';

/**
 * The typed OpsDesk API client: openapi-fetch over the types generated from docs/openapi.json
 * (`npm run openapi` regenerates ./openapi.ts). Paths, parameters, bodies and responses are checked at
 * compile time; errors arrive as `error` (the RFC 9457 problem document), never as exceptions.
 * Works in browsers and in Node ≥ 18 (global fetch only; no Node-only imports).
 *
 *   const api = createOpsDeskClient({ baseUrl: 'https://opsdesk.example.com', token: process.env.OPSDESK_TOKEN });
 *   const { data, error } = await api.GET('/api/hosts/{id}', { params: { path: { id } } });
 */
export type { components, operations, paths };
export type Schemas = components['schemas'];
export type Host = Schemas['Host'];
export type Artifact = Schemas['Artifact'];
export type AuditRecord = Schemas['AuditRecord'];
export type User = Schemas['User'];
export type Problem = Schemas['Problem'];
export type OpsDeskClient = Client<paths>;

export interface OpsDeskClientOptions {
  /** the gateway's origin, e.g. https://opsdesk.example.com (paths already start with /api) */
  baseUrl: string;
  /** an access token (JWT) or a personal API token (odp_…); a function is asked before every request */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** another fetch (tests, proxies); the global one by default */
  fetch?: typeof globalThis.fetch;
  headers?: Record<string, string>;
}

export function createOpsDeskClient(opts: OpsDeskClientOptions): OpsDeskClient {
  const client = createClient<paths>({ baseUrl: opts.baseUrl.replace(/\/+$/, ''), fetch: opts.fetch, headers: opts.headers });
  if (opts.token !== undefined) {
    const source = opts.token;
    const auth: Middleware = {
      async onRequest({ request }) {
        const token = typeof source === 'function' ? await source() : source;
        if (token && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${token}`);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}

/** The ETag to send back in If-Match for a host you read: `"<version>"`. */
export function hostETag(host: Pick<Host, 'version'>): string {
  return `"${host.version}"`;
}

type UploadBody = NonNullable<operations['artifacts.upload']['requestBody']>['content']['multipart/form-data'];
type ImportQuery = NonNullable<operations['hosts.import_csv']['parameters']['query']>;

/**
 * POST /api/hosts/{id}/artifacts: the fields first, then the file, as the server requires (it streams the
 * file and must know the kind before it). The browser or undici sets the multipart boundary.
 */
export function uploadArtifact(client: OpsDeskClient, hostId: string, file: Blob, opts: { filename: string; kind: Artifact['kind']; description?: string }) {
  const form = new FormData();
  form.append('kind', opts.kind);
  if (opts.description) form.append('description', opts.description);
  form.append('file', file, opts.filename);
  return client.POST('/api/hosts/{id}/artifacts', {
    params: { path: { id: hostId } },
    // the generated type describes the multipart fields; the wire body is the FormData itself
    body: form as unknown as UploadBody,
    bodySerializer: (b: unknown) => b as FormData,
  });
}

/** POST /api/hosts/import with a CSV text body (dry_run, atomic, on_conflict, report as query). */
export function importHostsCsv(client: OpsDeskClient, csv: string, query: ImportQuery = {}) {
  return client.POST('/api/hosts/import', {
    params: { query },
    body: csv,
    bodySerializer: (b: unknown) => b as string,
    headers: { 'Content-Type': 'text/csv' },
  });
}
