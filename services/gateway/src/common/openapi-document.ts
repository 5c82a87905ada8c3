import { generateKeyPairSync } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { ZodType } from 'zod';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { PERMISSION, IS_PUBLIC } from '@opsdesk/authn';
import { RETRY_AFTER_SECONDS, RolePermissions, Roles, type Permission } from '@opsdesk/contracts';
import { AppModule } from '../app.module';
import { loadGatewayConfig } from '../config/gateway.config';
import { componentSchemas, openApiSchema, type JsonSchema } from './openapi';
import { ZodPipe } from './zod-body.pipe';
import { EDGE_TICKET_PATH } from '../edge/edge.controller';
import { API_TAGS, OPERATIONS, type OperationContract, type ResponseHeader, type SuccessResponse } from './openapi-operations';

/** Routes outside the /api prefix (liveness, readiness, metrics); the same list bootstrap.ts gives Nest. */
export const UNPREFIXED_ROUTES = ['healthz', 'readyz', 'metrics'];
/**
 * Served on the gateway's internal port only (GATEWAY_INTERNAL_PORT; the public port answers 404): not part of the
 * public API, so not in its document. bootstrap.ts enforces it with the same list.
 */
export const INTERNAL_ONLY_PATHS: ReadonlySet<string> = new Set(['/readyz', '/metrics', EDGE_TICKET_PATH]);

const ERROR_RESPONSES: Record<number, { name: string; description: string }> = {
  400: { name: 'BadRequest', description: 'Invalid input: `errors` lists each field with its message' },
  401: { name: 'Unauthorized', description: 'No valid access token or API token (or bad credentials)' },
  403: { name: 'Forbidden', description: "The caller's role lacks the permission this operation needs" },
  404: { name: 'NotFound', description: 'No such resource (or not visible to the caller)' },
  409: { name: 'Conflict', description: 'Conflicts with the current state (a taken hostname or email, an integrity failure, …)' },
  412: { name: 'PreconditionFailed', description: 'If-Match does not match the current version: read again, then retry' },
  413: { name: 'PayloadTooLarge', description: 'The body is larger than the limit' },
  415: { name: 'UnsupportedMediaType', description: 'This media type is not accepted here' },
  416: { name: 'RangeNotSatisfiable', description: 'The Range lies outside the file (Content-Range gives its size)' },
  429: { name: 'TooManyRequests', description: 'Rate limited: retry after Retry-After seconds' },
  503: { name: 'ServiceUnavailable', description: 'A service or dependency is unavailable (or the gateway is shutting down): retry after Retry-After seconds' },
};

const HEADERS: Record<ResponseHeader, { description: string; schema: JsonSchema }> = {
  ETag: { description: 'Entity tag: a host\'s `"<version>"` (send it back in If-Match), an artifact\'s `"<sha256>"`', schema: { type: 'string' } },
  Location: { description: 'URL of the created resource', schema: { type: 'string' } },
  'Content-Range': { description: '`bytes <start>-<end>/<size>` (206), `bytes */<size>` (416)', schema: { type: 'string' } },
  'Content-Disposition': { description: 'Always an attachment, with a safe file name', schema: { type: 'string' } },
  'Accept-Ranges': { description: '`bytes`', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
};


/** Sorted object keys, recursively: the same routes always give byte-identical JSON (docs/openapi.json). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

interface RouteFacts {
  isPublic: boolean;
  permission: Permission | undefined;
  /** the schemas the route's ZodPipes validate @Query() and @Body() with: the document describes exactly those */
  query?: ZodType;
  body?: ZodType;
}

/** The schema of the ZodPipe on the route's @Query() or @Body() argument, if any. */
function pipeSchema(args: Record<string, { pipes?: unknown[] }>, type: RouteParamtypes): ZodType | undefined {
  for (const [key, arg] of Object.entries(args)) {
    if (Number(key.split(':')[0]) !== type) continue;
    const pipe = arg.pipes?.find((p): p is ZodPipe<unknown> => p instanceof ZodPipe);
    if (pipe) return pipe.schema;
  }
  return undefined;
}

/** `<Controller>_<method>` → what the route's own decorators say (public, permission): the guards' truth. */
function routeFacts(app: INestApplication): Map<string, RouteFacts> {
  const out = new Map<string, RouteFacts>();
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const type = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!type) continue;
      for (const key of Object.getOwnPropertyNames(type.prototype)) {
        if (key === 'constructor') continue;
        const handler = (type.prototype as Record<string, unknown>)[key];
        if (typeof handler !== 'function') continue;
        const meta = (k: string): unknown => Reflect.getMetadata(k, handler) ?? Reflect.getMetadata(k, type);
        const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, type, key) ?? {}) as Record<string, { pipes?: unknown[] }>;
        out.set(`${type.name}_${key}`, {
          isPublic: meta(IS_PUBLIC) === true,
          permission: meta(PERMISSION) as Permission | undefined,
          query: pipeSchema(args, RouteParamtypes.QUERY),
          body: pipeSchema(args, RouteParamtypes.BODY),
        });
      }
    }
  }
  return out;
}

function successResponse(r: SuccessResponse): Record<string, unknown> {
  const out: Record<string, unknown> = { description: r.description };
  const headers = [...(r.headers ?? []).map((h) => [h, { ...HEADERS[h], required: true }] as const), ...(r.optionalHeaders ?? []).map((h) => [h, HEADERS[h]] as const)];
  if (headers.length) out.headers = Object.fromEntries(headers);
  if (typeof r.body === 'string') {
    out.content = { 'application/json': { schema: { $ref: `#/components/schemas/${r.body}` }, ...(r.example !== undefined ? { example: r.example } : {}) } };
  } else if (r.body) {
    out.content = { [r.body.mediaType]: { schema: r.body.schema } };
  }
  return out;
}

function queryParameters(query: ZodType | undefined): Record<string, unknown>[] {
  if (!query) return [];
  const schema = openApiSchema(query) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s as JsonSchema & { description?: string };
    return {
      name,
      in: 'query',
      required: schema.required?.includes(name) ?? false,
      ...(description ? { description } : {}),
      schema: rest,
      ...(rest.type === 'array' ? { style: 'form', explode: true } : {}),
    };
  });
}

function describePermission(facts: RouteFacts): string {
  if (facts.isPublic) return 'No login needed.';
  if (!facts.permission) return 'Any signed-in user.';
  const roles = Roles.filter((r) => RolePermissions[r].includes(facts.permission as Permission));
  return `Needs permission \`${facts.permission}\` (roles: ${roles.join(', ')}).`;
}

/** Applies a contract to the operation Nest's scanner produced for the route (path and method are Nest's). */
function applyContract(path: string, contract: OperationContract, facts: RouteFacts): Record<string, unknown> {
  const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const parameters: Record<string, unknown>[] = [
    ...pathParams.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' } })),
    ...queryParameters(facts.query),
  ];
  if (contract.ifMatch) parameters.push({ $ref: '#/components/parameters/IfMatch' });
  if (contract.conditionalDownload) parameters.push({ $ref: '#/components/parameters/Range' }, { $ref: '#/components/parameters/IfNoneMatch' }, { $ref: '#/components/parameters/IfRange' });

  const out: Record<string, unknown> = {
    operationId: contract.id,
    tags: [contract.tag],
    summary: contract.summary,
    description: [contract.description, describePermission(facts)].filter(Boolean).join('\n\n'),
  };
  if (parameters.length) out.parameters = parameters;

  const jsonBody = facts.body !== undefined;
  if (facts.body) {
    const extra = contract.body && !('content' in contract.body) ? contract.body : {};
    out.requestBody = {
      required: extra.required ?? true,
      content: { 'application/json': { schema: openApiSchema(facts.body), ...(extra.example !== undefined ? { example: extra.example } : {}) } },
    };
  } else if (contract.body && 'content' in contract.body) {
    out.requestBody = { required: true, content: contract.body.content };
  } else if (contract.body) {
    throw new Error(`OpenAPI: ${contract.id} describes a JSON body but the route validates none with a ZodPipe`);
  }

  const responses: Record<string, unknown> = {};
  for (const r of contract.responses) responses[String(r.status)] = successResponse(r);
  const errors = new Set<number>(contract.errors ?? []);
  if (facts.query || facts.body || contract.body || pathParams.length) errors.add(400);
  if (!facts.isPublic) errors.add(401).add(403);
  if (pathParams.length) errors.add(404);
  if (jsonBody) errors.add(413);
  // every route passes the rate limiter; any may meet a shutting-down gateway or an unavailable service
  errors.add(429).add(503);
  for (const status of [...errors].sort((a, b) => a - b)) {
    if (responses[String(status)]) continue; // a route's own description of that status wins (readyz 503)
    const e = ERROR_RESPONSES[status];
    if (!e) throw new Error(`OpenAPI: no problem response for status ${status} (${contract.id})`);
    responses[String(status)] = { $ref: `#/components/responses/${e.name}` };
  }
  out.responses = responses;
  out.security = facts.isPublic ? [] : [{ bearer_jwt: [] }, { api_token: [] }];
  // machine-readable form of "Needs permission …": bearer schemes carry no scopes in OpenAPI 3.0
  if (facts.permission) {
    out['x-opsdesk-permission'] = facts.permission;
    out['x-opsdesk-roles'] = Roles.filter((r) => RolePermissions[r].includes(facts.permission as Permission));
  }
  return out;
}

function components(): Record<string, unknown> {
  const problemExample = (status: number, code: string, detail: string, extra: Record<string, unknown> = {}) => ({
    type: `https://opsdesk.dev/problems/${code.toLowerCase().replace(/[._]/g, '-')}`,
    title: ERROR_RESPONSES[status].name.replace(/([a-z])([A-Z])/g, '$1 $2'),
    status,
    detail,
    code,
    request_id: '8c1d0e4e-5b8f-4d7c-9a53-2f3c1f0e9b21',
    ...extra,
  });
  const examples: Record<number, unknown> = {
    400: problemExample(400, 'COMMON.VALIDATION_FAILED', 'Request validation failed', { errors: [{ field: 'ip', message: 'must be an IPv4 or IPv6 address' }] }),
    412: problemExample(412, 'INVENTORY.PRECONDITION_FAILED', 'The host changed since you read it'),
    429: problemExample(429, 'GATEWAY.RATE_LIMITED', 'Too many requests (api); retry in 3 s', { retry_after: 3 }),
  };
  const responses = Object.fromEntries(
    Object.entries(ERROR_RESPONSES).map(([status, e]) => {
      const withRetry = status === '429' || status === '503';
      const withRange = status === '416';
      return [
        e.name,
        {
          description: e.description,
          ...(withRetry ? { headers: { 'Retry-After': HEADERS['Retry-After'] } } : {}),
          ...(withRange ? { headers: { 'Content-Range': HEADERS['Content-Range'] } } : {}),
          content: {
            'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' }, ...(examples[Number(status)] ? { example: examples[Number(status)] } : {}) },
          },
        },
      ];
    }),
  );
  return {
    schemas: componentSchemas(),
    responses,
    parameters: {
      IfMatch: {
        name: 'If-Match',
        in: 'header',
        required: false,
        description: 'The ETag you read (`"<version>"`): the change applies only if nobody changed the resource meanwhile (else 412). `*` or absent: unconditional.',
        schema: { type: 'string' },
        example: '"3"',
      },
      Range: { name: 'Range', in: 'header', required: false, description: 'One byte range, e.g. `bytes=0-1023` (206 with Content-Range)', schema: { type: 'string' } },
      IfNoneMatch: { name: 'If-None-Match', in: 'header', required: false, description: 'An ETag you hold: 304 when it still matches', schema: { type: 'string' } },
      IfRange: { name: 'If-Range', in: 'header', required: false, description: 'Apply Range only while the ETag still matches', schema: { type: 'string' } },
    },
    securitySchemes: {
      bearer_jwt: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'Access token from POST /api/auth/login (EdDSA JWT; verify with /api/auth/jwks.json). Carries the user\'s role; each operation names the permission it needs.',
      },
      api_token: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'odp_…',
        description: 'Personal API token from POST /api/auth/tokens (`odp_…`), for scripts and CI; acts with its owner\'s role.',
      },
    },
  };
}

/**
 * The OpenAPI document of a gateway application: paths and methods from Nest's routes, everything else from
 * the route contracts (openapi-operations.ts) and the zod schemas in libs/contracts (query and JSON body: the
 * very schemas the route's ZodPipes validate with). A route without a
 * contract or a contract without a route is a gap: it throws (generation, tests), or `onGap` reports it (the
 * serving gateway logs it and serves the route marked `x-missing-contract`, which the e2e walk rejects).
 */
export function buildOpenApiDocument(app: INestApplication, opts: { onGap?: (problem: string) => void } = {}): OpenAPIObject {
  const gap =
    opts.onGap ??
    ((problem: string) => {
      throw new Error(problem);
    });
  const scanned = SwaggerModule.createDocument(app, new DocumentBuilder().build());
  const facts = routeFacts(app);
  const used = new Set<string>();
  const ids = new Set<string>();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, item] of Object.entries(scanned.paths)) {
    if (INTERNAL_ONLY_PATHS.has(path)) continue;
    for (const [method, op] of Object.entries(item as Record<string, { operationId?: string }>)) {
      const key = op.operationId ?? '';
      const contract = OPERATIONS[key];
      const f = facts.get(key);
      if (!contract || !f) {
        // served anyway (marked), so a running gateway never fails over its documentation; tests do fail
        gap(`OpenAPI: no contract for ${method.toUpperCase()} ${path} (${key}); add one to common/openapi-operations.ts`);
        (paths[path] ??= {})[method] = { ...op, 'x-missing-contract': true };
        continue;
      }
      if (ids.has(contract.id)) gap(`OpenAPI: operation id ${contract.id} used twice`);
      ids.add(contract.id);
      used.add(key);
      (paths[path] ??= {})[method] = applyContract(path, contract, f);
    }
  }
  const unused = Object.keys(OPERATIONS).filter((k) => !used.has(k));
  if (unused.length) gap(`OpenAPI: contracts without a route: ${unused.join(', ')}`);

  const doc = {
    openapi: '3.0.3',
    info: {
      title: 'OpsDesk API',
      version: '1',
      description:
        'Host inventory, governed SSH access, telemetry, artifacts and a tamper-evident audit trail. JSON with snake_case fields; ' +
        'errors are RFC 9457 problem documents (application/problem+json) with a stable `code` and the `request_id`. ' +
        `Lists are keyset pages \`{items, next_cursor}\`. 429 and 503 carry Retry-After (a shutting-down gateway says ${RETRY_AFTER_SECONDS} s). ` +
        'Generated from the zod schemas in libs/contracts; committed as docs/openapi.json.',
    },
    tags: Object.entries(API_TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: components(),
  };
  // paths keep Nest's route order (grouped by controller); keys inside are sorted
  return {
    openapi: doc.openapi,
    info: canonical(doc.info),
    tags: doc.tags,
    paths: Object.fromEntries(Object.entries(paths).map(([p, v]) => [p, canonical(v)])),
    components: canonical(doc.components),
  } as OpenAPIObject;
}

/**
 * The document without a running system (`npm run openapi`, tests): Nest's preview mode builds the module
 * graph and routes but instantiates nothing, so no NATS, database or keys are needed. The config only has
 * to parse; its values never reach the document.
 */
export async function generateOpenApiDocument(): Promise<OpenAPIObject> {
  const key = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  // development: the document needs a gateway's routes, not production secrets (none is real here)
  const config = loadGatewayConfig({ ENVIRONMENT: 'development', JWT_SECRET: 'openapi-generation-only-secret', GATEWAY_CONTEXT_PRIVATE_KEY: key });
  const app = await NestFactory.create(AppModule.forRoot(config), new FastifyAdapter(), { preview: true, logger: false });
  try {
    app.setGlobalPrefix('api', { exclude: UNPREFIXED_ROUTES });
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

/** docs/openapi.json's exact text. */
export function serializeOpenApiDocument(doc: OpenAPIObject): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
