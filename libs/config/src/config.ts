import { isIP } from 'node:net';
import { z } from 'zod';
import { ed25519KeyEnv } from './ed25519-keys';
import { DEFAULT_EVENT_SUBJECT_PREFIX, DEFAULT_EVENTS_STREAM, DEFAULT_REVOCATION_BUCKET, DEFAULT_RPC_SUBJECT_PREFIX, natsPasswordProblem } from '@opsdesk/contracts';

export const Environments = ['development', 'test', 'staging', 'production'] as const;
export type Environment = (typeof Environments)[number];

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Variables every service reads (SPEC §6 plus what events, RPC and tracing need). */
export const commonEnvShape = {
  // unset means production: a deployment that forgets it gets the strict checks; `npm start` says development
  ENVIRONMENT: z.enum(Environments).default('production'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  NATS_URL: z
    .string()
    .default('nats://127.0.0.1:4222')
    .refine(
      (v) => v.split(',').every((u) => /^(nats|tls|ws|wss):\/\/[^\s,]+$/.test(u.trim()) || /^[\w.-]+:\d+$/.test(u.trim())),
      'must be a comma-separated list of nats:// URLs',
    ),
  /** this component's own NATS login (SPEC §7); unset only against a broker without authorisation */
  NATS_USER: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a NATS user name (letters, digits, _ and -)').optional(),
  NATS_PASSWORD: z
    .string()
    .min(1)
    .superRefine((v, ctx) => {
      const problem = natsPasswordProblem(v);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    })
    .optional(),
  EVENTS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/).default(DEFAULT_EVENTS_STREAM),
  /** JetStream replicas of the events stream (3 on a 3-node NATS cluster) */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  EVENTS_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/).default(DEFAULT_EVENT_SUBJECT_PREFIX),
  RPC_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/).default(DEFAULT_RPC_SUBJECT_PREFIX),
  REVOCATION_BUCKET: z.string().regex(/^[A-Za-z0-9_-]+$/).default(DEFAULT_REVOCATION_BUCKET),
  REQUEST_TIMEOUT: z.coerce.number().positive().max(600).default(30),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_SERVICE_NAMESPACE: z.string().default('opsdesk'),
};

export const databaseEnvShape = {
  DATABASE_URL: z
    .string({ required_error: 'is required (postgres://user:pass@host:5432/db)' })
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  DB_POOL_SIZE: int(20, 1, 500),
  DB_MAX_OVERFLOW: int(10, 0, 500),
  /**
   * The pool budget checked at boot (libs/database pool-budget.ts): how many processes, all services and
   * replicas (the HPA maximum), hold a pool on this Postgres; each refuses to start when
   * DB_CLIENT_PROCESSES × (DB_POOL_SIZE + DB_MAX_OVERFLOW) exceeds DB_MAX_CONNECTIONS − DB_RESERVED_CONNECTIONS.
   */
  DB_CLIENT_PROCESSES: int(1, 1, 100_000),
  /** connections left for migrations, the exporter, backups and operators */
  DB_RESERVED_CONNECTIONS: int(10, 0, 100_000),
  /** 0 = the server's max_connections − superuser_reserved_connections; behind PgBouncer its max_client_conn */
  DB_MAX_CONNECTIONS: int(0, 0, 1_000_000),
};

export const jwtEnvShape = {
  JWT_SECRET: z.string({ required_error: 'is required' }).min(16, 'must be at least 16 characters (32 in production)'),
  /** EdDSA: auth signs with its own Ed25519 key, verifiers hold only public keys; HS*: everyone holding JWT_SECRET can mint (weaker) */
  JWT_ALGORITHM: z.enum(['EdDSA', 'HS256', 'HS384', 'HS512']).default('EdDSA'),
  JWT_EXPIRATION_HOURS: z.coerce.number().positive().max(24 * 30).default(24),
  JWT_REFRESH_EXPIRATION_DAYS: z.coerce.number().positive().max(365).default(7),
};

export const portEnv = (def: number) => int(def, 0, 65535);
export { bool as boolEnv, int as intEnv };

export class ConfigError extends Error {
  constructor(
    public readonly variable: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

type Shape = z.ZodRawShape;

/**
 * Parses the environment against a shape. Production rules that span variables live here so every
 * service applies them the same way: a JWT secret shorter than 32 characters is refused in production.
 */
export function parseConfig<S extends Shape>(shape: S, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const schema = z.object(shape).superRefine((value: Record<string, unknown>, ctx) => {
    const secret = value['JWT_SECRET'];
    if (value['ENVIRONMENT'] === 'production' && typeof secret === 'string' && secret.length < 32) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['JWT_SECRET'], message: 'must be at least 32 characters in production' });
    }
    // NATS without a login lets anyone on the network call any RPC and forge events (docs/SECURITY.md)
    if (value['ENVIRONMENT'] === 'production' && 'NATS_URL' in value && (!value['NATS_USER'] || !value['NATS_PASSWORD'])) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [value['NATS_USER'] ? 'NATS_PASSWORD' : 'NATS_USER'], message: 'is required in production (the service\'s own NATS login)' });
    }
  });
  // Empty strings mean "unset" (a blank line in .env must not override a default).
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue.path[0] ?? 'configuration');
    const detail = issue.code === 'invalid_type' && issue.received === 'undefined' ? 'is required' : issue.message;
    throw new ConfigError(variable, detail.startsWith('is ') || detail.startsWith('must') ? detail : `is invalid (${detail})`);
  }
  return result.data as z.infer<z.ZodObject<S>>;
}

/** Boot-time variant: one clear line naming the variable on stderr, then exit non-zero. */
export function loadConfigOrExit<S extends Shape>(shape: S, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  try {
    return parseConfig(shape, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** CORS_ORIGINS is a JSON array in the guide; a comma-separated list is accepted too. */
export const corsOriginsSchema = z
  .string()
  .default('[]')
  .transform((v, ctx) => {
    const text = v.trim();
    let list: unknown;
    if (text.startsWith('[')) {
      try {
        list = JSON.parse(text);
      } catch {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a JSON array of origins' });
        return z.NEVER;
      }
    } else {
      list = text ? text.split(',').map((s) => s.trim()) : [];
    }
    if (!Array.isArray(list) || !list.every((o) => typeof o === 'string' && /^https?:\/\/[^\s/]+$/.test(o))) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a JSON array of origins like ["https://opsdesk.example.com"]' });
      return z.NEVER;
    }
    return list as string[];
  });

export function natsServers(natsUrl: string): string[] {
  return natsUrl.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Caller-context keys (docs/SECURITY.md "RPC caller context"): Ed25519, base64 DER (PKCS#8 / SPKI) or PEM.
 * The gateway alone holds GATEWAY_CONTEXT_PRIVATE_KEY and signs every RPC context and internal HTTP token;
 * services hold the public key (a comma-separated list during a rotation). A service that calls another
 * (artifacts -> inventory) signs with its own key, and only the callee holds that public key.
 */
function contextKeyEnv(kind: 'private' | 'public') {
  return ed25519KeyEnv(kind === 'private' ? 'private' : 'public-list');
}

/** Only the gateway. */
export const gatewayContextPrivateKeyEnvShape = { GATEWAY_CONTEXT_PRIVATE_KEY: contextKeyEnv('private') };
/** Every service that answers RPCs or internal HTTP routes. */
export const gatewayContextPublicKeyEnvShape = { GATEWAY_CONTEXT_PUBLIC_KEY: contextKeyEnv('public') };
/** Only artifacts (it asks inventory about hosts). */
export const artifactsContextPrivateKeyEnvShape = { ARTIFACTS_CONTEXT_PRIVATE_KEY: contextKeyEnv('private') };
/** Only inventory (the one service artifacts calls). */
export const artifactsContextPublicKeyEnvShape = { ARTIFACTS_CONTEXT_PUBLIC_KEY: contextKeyEnv('public') };

/**
 * The callers a service trusts, from its own validated config: `<ISSUER>_CONTEXT_PUBLIC_KEY` -> issuer
 * `<issuer>`. A service's config shape lists only the keys it may hold, so this is exactly its trust.
 */
export function trustedCallerKeys(config: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    const m = /^([A-Z]+)_CONTEXT_PUBLIC_KEY$/.exec(k);
    if (m && typeof v === 'string' && v) out[m[1].toLowerCase()] = v;
  }
  return out;
}

/** proxy-addr's named ranges (Fastify's trustProxy): loopback, link-local and unique-local addresses. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true;
  const [addr, bits, ...rest] = entry.split('/');
  if (rest.length) return false;
  const family = isIP(addr);
  if (!family) return false;
  if (bits === undefined) return true;
  // a CIDR prefix length, or (IPv4) a dotted netmask
  if (/^\d{1,3}$/.test(bits)) return Number(bits) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(bits) === 4;
}

/**
 * TRUST_PROXY (SPEC §6/§7): the proxies whose `X-Forwarded-For` is believed, as a comma-separated list of
 * addresses, CIDRs or proxy-addr names (`loopback`, `linklocal`, `uniquelocal`). Empty / `false`: no proxy, the
 * client IP is the socket's peer. `true` (trust every hop) is refused: any client could then choose the IP
 * its rate-limit bucket and audit records are keyed by.
 */
export const trustProxySchema = z
  .string()
  .default('false')
  .transform((v, ctx): string[] | false => {
    const text = v.trim();
    if (text === '' || text === 'false' || text === '0' || text === 'no') return false;
    if (text === 'true' || text === '1' || text === 'yes' || text === '*') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'must list the trusted proxy addresses/CIDRs (e.g. 10.0.0.0/8), not trust every hop',
      });
      return z.NEVER;
    }
    const list = text.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = list.find((e) => !isProxyAddress(e));
    if (bad !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be a comma-separated list of proxy addresses/CIDRs (not "${bad.slice(0, 64)}")` });
      return z.NEVER;
    }
    return list;
  });
