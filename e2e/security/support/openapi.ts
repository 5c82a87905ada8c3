import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { startStack, type Stack } from '../../support/stack';

/** The subset of OpenAPI 3 the suite reads: paths, methods, parameters and request bodies (not ids or responses). */
export type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  default?: unknown;
  nullable?: boolean;
  additionalProperties?: boolean | Schema;
};

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

export interface Operation {
  method: string;
  /** as the document spells it: /api/hosts/{id} */
  path: string;
  key: string;
  parameters: Parameter[];
  /** media types of the request body (application/json, multipart/form-data, text/csv, …) */
  bodyTypes: string[];
  jsonBody?: Schema;
}

export interface OpenApiDoc {
  paths: Record<string, Record<string, { parameters?: Array<Parameter | { $ref: string }>; requestBody?: { content?: Record<string, { schema?: Schema }> } }>>;
  components?: { schemas?: Record<string, Schema>; parameters?: Record<string, Parameter> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation of the served document (works with or without operation ids and response schemas). */
export function operationsOf(doc: OpenApiDoc): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const parameters = (op.parameters ?? []).map((p) => ('$ref' in p ? (doc.components?.parameters?.[p.$ref.split('/').pop() as string] as Parameter) : p)).filter(Boolean);
      // a path parameter the document forgot is still a path parameter
      for (const m of path.matchAll(/\{(\w+)\}/g)) if (!parameters.some((p) => p.in === 'path' && p.name === m[1])) parameters.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
      const content = op.requestBody?.content ?? {};
      out.push({
        method: method.toUpperCase(),
        path,
        key: `${method.toUpperCase()} ${path}`,
        parameters,
        bodyTypes: Object.keys(content),
        jsonBody: content['application/json']?.schema,
      });
    }
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** Follows `$ref`s into components.schemas (one level at a time; cycles end as an open object). */
export function deref(doc: OpenApiDoc, schema: Schema | undefined, seen = new Set<string>()): Schema {
  if (!schema) return {};
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop() as string;
    if (seen.has(name)) return { type: 'object' };
    seen.add(name);
    return deref(doc, doc.components?.schemas?.[name], seen);
  }
  return schema;
}

/**
 * Percent-encodes any string, lone surrogates included (encodeURIComponent throws on those; the UTF-8 encoder
 * turns them into U+FFFD, which is what a client library would send).
 */
export function pct(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Fills a path template: `/api/hosts/{id}` with { id } (values URL-encoded). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => pct(values[name] ?? '00000000-0000-4000-8000-000000000000'));
}

export interface SuiteStack {
  stack: Stack;
  doc: OpenApiDoc;
  /** the artifacts service's storage directory (ARTIFACT_STORAGE_PATH) */
  storage: string;
  stop(): Promise<void>;
}

/**
 * The whole system (every service, one gateway) for one security suite, with the rate limits lifted so the
 * generated requests reach the handlers (the limits themselves are tested by the abuse suite and e2e).
 */
export async function startSuiteStack(label: string, env: NodeJS.ProcessEnv = {}): Promise<SuiteStack> {
  const storage = mkdtempSync(join(tmpdir(), `opsdesk-${label}-`));
  const stack = await startStack(label, {
    services: ['auth', 'inventory', 'audit', 'artifacts'],
    env: {
      ARTIFACT_STORAGE_PATH: storage,
      PROMETHEUS_URL: 'http://127.0.0.1:9',
      RATE_LIMIT_API_PER_MINUTE: '1000000',
      RATE_LIMIT_AUTH_PER_MINUTE: '100000',
      RATE_LIMIT_AUTH_BURST: '100000',
      RATE_LIMIT_AUTH_IP_PER_MINUTE: '100000',
      RATE_LIMIT_AUTH_ACCOUNT_FAILURES_PER_MINUTE: '100000',
      ...env,
    },
  });
  const doc = (await request(stack.url).get('/api/openapi.json').expect(200)).body as OpenApiDoc;
  return {
    stack,
    doc,
    storage,
    async stop() {
      await stack.stop();
      rmSync(storage, { recursive: true, force: true });
    },
  };
}
