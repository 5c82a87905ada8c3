import { commonEnvShape, corsOriginsSchema, gatewayContextPrivateKeyEnvShape, intEnv, jwtEnvShape, loadConfigOrExit, parseConfig, portEnv, trustProxySchema } from '@opsdesk/config';
import { z } from 'zod';

export const gatewayEnvShape = {
  ...commonEnvShape,
  ...jwtEnvShape,
  // signs every RPC caller context and internal HTTP token (docs/SECURITY.md); only the gateway holds it
  ...gatewayContextPrivateKeyEnvShape,
  GATEWAY_PORT: portEnv(8000),
  /** internal port: /healthz, /readyz and /metrics for probes and Prometheus (the public port serves neither /readyz nor /metrics) */
  GATEWAY_INTERNAL_PORT: portEnv(8010),
  /** address of the internal port (default: HOST) */
  GATEWAY_INTERNAL_HOST: z.string().min(1).optional(),
  CORS_ORIGINS: corsOriginsSchema,
  /**
   * Where a trace opens (Jaeger, Tempo, …): a http(s) URL with `{trace_id}` in it, e.g.
   * `https://jaeger.example.com/trace/{trace_id}`. The console links the audit page's trace ids there. Unset: no link.
   */
  TRACE_UI_URL: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u) && u.includes('{trace_id}'), 'must be a http(s) URL containing {trace_id}')
    .optional(),
  /**
   * the reverse proxies (nginx, the ingress controller) whose X-Forwarded-For is believed: addresses/CIDRs,
   * never "every hop" (a client could then choose its own IP for rate limits and the audit trail)
   */
  TRUST_PROXY: trustProxySchema,
  /** login, password and MFA attempts per minute per client IP and account, and the burst (the guide: 5/min, burst 5) */
  RATE_LIMIT_AUTH_PER_MINUTE: intEnv(5, 1, 100_000),
  RATE_LIMIT_AUTH_BURST: intEnv(5, 1, 100_000),
  /** auth attempts per minute per client IP, whatever the account (one address spraying many accounts) */
  RATE_LIMIT_AUTH_IP_PER_MINUTE: intEnv(30, 1, 100_000),
  /** failed auth attempts per minute per account, whatever the IP (spraying one account from many addresses) */
  RATE_LIMIT_AUTH_ACCOUNT_FAILURES_PER_MINUTE: intEnv(10, 1, 100_000),
  /** refused requests (403/429) are audited once per (source IP, route, reason) and window, plus one summary with a count */
  SECURITY_EVENT_WINDOW_SECONDS: intEnv(60, 1, 3600),
  /** (source IP, route, reason) keys tracked at once; past it sources are folded together */
  SECURITY_EVENT_MAX_KEYS: intEnv(10_000, 10, 1_000_000),
  /** API requests per minute per user */
  RATE_LIMIT_API_PER_MINUTE: intEnv(100, 1, 1_000_000),
  /** how often the gateway re-reads auth's access-token public keys (JWKS); an unknown kid also triggers a read */
  JWKS_REFRESH_SECONDS: intEnv(300, 1, 86_400),
  /** API token verification cache */
  API_TOKEN_CACHE_SECONDS: intEnv(30, 0, 3600),
  /** where the built web console lives (served at /) */
  WEB_DIST_PATH: z.string().optional(),
  /** internal HTTP base URL of the artifacts service (bodies are streamed there, never over NATS) */
  ARTIFACTS_URL: z.string().url().default('http://127.0.0.1:8004'),
  /** internal HTTP base URLs (streamed bodies: CSV import/export, audit export) */
  INVENTORY_URL: z.string().url().default('http://127.0.0.1:8002'),
  AUDIT_URL: z.string().url().default('http://127.0.0.1:8003'),
  /** largest JSON body accepted */
  BODY_LIMIT_BYTES: intEnv(1024 * 1024, 1024, 64 * 1024 * 1024),
  /**
   * A streamed body (upload, CSV import) that sends nothing for this long is cut with 408: a slow-loris client
   * cannot hold an upload slot (and a socket, and the service's temp file) open forever. Idle, not total: a slow
   * but moving 500 MB upload is fine.
   */
  BODY_IDLE_TIMEOUT_SECONDS: intEnv(30, 1, 3600),
  /** a client must finish sending its request headers within this time (Node's headersTimeout) */
  HEADERS_TIMEOUT_SECONDS: intEnv(20, 1, 600),
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  return parseConfig(gatewayEnvShape, env);
}

export function loadGatewayConfigOrExit() {
  return loadConfigOrExit(gatewayEnvShape);
}
