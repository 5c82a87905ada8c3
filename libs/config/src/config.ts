import { z } from 'zod';

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
  ENVIRONMENT: z.enum(Environments).default('development'),
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
  NATS_PASSWORD: z.string().min(1).optional(),
  EVENTS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/).default('OPSDESK_EVENTS'),
  /** JetStream replicas of the events stream (3 on a 3-node NATS cluster) */
  EVENTS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  EVENTS_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/).default('opsdesk'),
  RPC_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/).default('rpc'),
  REVOCATION_BUCKET: z.string().regex(/^[A-Za-z0-9_-]+$/).default('OPSDESK_REVOCATIONS'),
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
};

export const jwtEnvShape = {
  JWT_SECRET: z.string({ required_error: 'is required' }).min(16, 'must be at least 16 characters (32 in production)'),
  JWT_ALGORITHM: z.enum(['HS256', 'HS384', 'HS512']).default('HS256'),
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

/** Secret for internal gateway→service HTTP tokens; falls back to JWT_SECRET (a distinct key is derived). */
export const internalTokenEnvShape = {
  INTERNAL_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
};
