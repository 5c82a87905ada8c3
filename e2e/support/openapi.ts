import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export const COMMITTED_DOCUMENT = join(__dirname, '..', '..', 'docs', 'openapi.json');
export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type Json = Record<string, unknown>;
export interface OperationRef {
  path: string;
  method: string;
  op: Json;
}

/** JSON documents (not JSON Lines: application/x-ndjson is a stream of them). */
export const isJson = (type: string): boolean => type === 'application/json' || type === 'application/problem+json';

export function committedDocument(): Json {
  return JSON.parse(readFileSync(COMMITTED_DOCUMENT, 'utf8')) as Json;
}

export function operations(doc: Json): OperationRef[] {
  const out: OperationRef[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) if (item[method]) out.push({ path, method, op: item[method] as Json });
  }
  return out;
}

/** OpenAPI 3.0 `nullable` is not JSON Schema: `{…, nullable: true}` becomes `anyOf [{…}, null]` for ajv. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const { nullable, example: _example, ...rest } = node as Json;
  const converted = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, toJsonSchema(s)])) : toJsonSchema(v)]));
  return nullable ? { anyOf: [converted, { type: 'null' }] } : converted;
}

/**
 * Validates real responses against the document: the status must be documented for the operation, the
 * media type must be one the document names, a JSON body must match its schema (ajv), documented success
 * headers must be present. Records which operations were exercised.
 */
export class ContractChecker {
  readonly seen = new Set<string>();
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();

  private constructor(private readonly doc: Json) {
    addFormats(this.ajv);
  }

  static async create(served: Json): Promise<ContractChecker> {
    // dereference a copy: $refs inlined, so each response schema compiles on its own
    const doc = (await SwaggerParser.dereference(structuredClone(served) as never)) as unknown as Json;
    return new ContractChecker(doc);
  }

  /** Every JSON example in the document (request bodies, responses) checked against its own schema. */
  examplesThatDoNotMatch(): string[] {
    const out: string[] = [];
    for (const { path, method, op } of operations(this.doc)) {
      const places: Array<[string, Record<string, { schema?: Json; example?: unknown }> | undefined]> = [
        ['request', (op.requestBody as Json | undefined)?.content as never],
        ...Object.entries((op.responses ?? {}) as Record<string, Json>).map(([s, r]) => [`response ${s}`, r.content] as [string, never]),
      ];
      for (const [where, content] of places) {
        for (const [type, media] of Object.entries(content ?? {})) {
          if (media.example === undefined || !isJson(type)) continue;
          const validate = this.ajv.compile(toJsonSchema(media.schema ?? {}) as Json);
          if (!validate(media.example)) out.push(`${method.toUpperCase()} ${path} ${where} example: ${this.ajv.errorsText(validate.errors)}`);
        }
      }
    }
    return out;
  }

  /** The document's operation for a concrete request path (`/api/hosts/<uuid>` → `/api/hosts/{id}`). */
  find(method: string, url: string): OperationRef {
    const path = new URL(url, 'http://x').pathname;
    for (const ref of operations(this.doc)) {
      if (ref.method !== method.toLowerCase()) continue;
      const re = new RegExp(`^${ref.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+')}$`);
      if (re.test(path)) return ref;
    }
    throw new Error(`no documented operation for ${method} ${path}`);
  }

  /** Throws with a readable reason when the response breaks the contract; returns the operation id. */
  check(method: string, url: string, res: { status: number; headers: Headers; text: string }): string {
    const { path, op } = this.find(method, url);
    const id = String(op.operationId);
    const where = `${id} (${method.toUpperCase()} ${path}) → ${res.status}`;
    const response = (op.responses as Record<string, Json>)[String(res.status)];
    if (!response) throw new Error(`${where}: status not documented (body ${res.text.slice(0, 300)})`);
    const content = response.content as Record<string, { schema?: Json }> | undefined;
    if (!content) {
      if (res.text !== '') throw new Error(`${where}: documented without a body but has one`);
    } else {
      const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
      const media = content[type] ?? content['*/*'];
      if (!media) throw new Error(`${where}: content type ${type} not documented (${Object.keys(content).join(', ')})`);
      if (isJson(type)) {
        const key = `${id} ${res.status} ${type}`;
        let validate = this.validators.get(key);
        if (!validate) {
          validate = this.ajv.compile(toJsonSchema(media.schema ?? {}) as Json);
          this.validators.set(key, validate);
        }
        const body: unknown = JSON.parse(res.text);
        if (!validate(body)) throw new Error(`${where}: body does not match the schema: ${this.ajv.errorsText(validate.errors)}\n${res.text.slice(0, 500)}`);
      }
    }
    if (res.status < 300) {
      for (const [h, spec] of Object.entries((response.headers ?? {}) as Record<string, { required?: boolean }>)) {
        if (spec.required && !res.headers.has(h)) throw new Error(`${where}: documented header ${h} missing`);
      }
    }
    this.seen.add(id);
    return id;
  }
}
