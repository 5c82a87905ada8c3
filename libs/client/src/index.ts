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

/**
 * Body for POST /api/hosts/{id}/artifacts: the fields before the file, as the server requires. Pass it with
 * `bodySerializer: (b) => b` so openapi-fetch sends the FormData as is (the browser or undici sets the
 * multipart boundary).
 */
export function artifactUploadForm(file: Blob, filename: string, kind: Artifact['kind'], description?: string): FormData {
  const form = new FormData();
  form.append('kind', kind);
  if (description) form.append('description', description);
  form.append('file', file, filename);
  return form;
}
