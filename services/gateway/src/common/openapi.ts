import type { ZodType } from 'zod';
import { ignoreOverride, zodToJsonSchema } from 'zod-to-json-schema';
import { ApiComponentSchemas } from '@opsdesk/contracts';

export type JsonSchema = Record<string, unknown>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any zod schema, whatever its input and output types
type AnyZod = ZodType<any, any, any>;

// the cast avoids TypeScript's deep instantiation of zod's generic types in zodToJsonSchema's signature
const convert = zodToJsonSchema as unknown as (s: unknown, o: Record<string, unknown>) => JsonSchema;

/**
 * OpenAPI 3.0 schema of a zod schema, from the same schema that validates the request or describes the
 * response: docs cannot drift from code. Schemas named in ApiComponentSchemas become `$ref`s to their
 * component (except `self`, the component being written). `input` (default): what a client may send
 * (defaults make a field optional, transforms are ignored); `output`: a response.
 */
export function openApiSchema(schema: AnyZod, opts: { refs?: boolean; self?: string; io?: 'input' | 'output' } = {}): JsonSchema {
  const named = new Map<unknown, string>();
  if (opts.refs !== false) for (const [name, s] of Object.entries(ApiComponentSchemas)) if (name !== opts.self) named.set(s._def, name);
  const json = convert(schema, {
    target: 'openApi3',
    // a schema used twice (two ports) is written out twice: refs inside one schema would point nowhere useful
    $refStrategy: 'none',
    override: (def: unknown) => (named.has(def) ? { $ref: `#/components/schemas/${named.get(def)}` } : ignoreOverride),
    effectStrategy: 'input',
    pipeStrategy: 'input',
    // what a client sends: unknown fields are stripped (allowed) unless the schema is .strict(); what the API
    // answers: exactly the documented fields (the contract test rejects any other)
    removeAdditionalStrategy: opts.io === 'output' ? 'passthrough' : 'strict',
    // …said by leaving additionalProperties out (JSON Schema's default), so generated client types stay closed
    ...(opts.io === 'output' ? {} : { allowedAdditionalProperties: undefined }),
  });
  delete json.$schema;
  return json;
}

/** Every named component schema, in ApiComponentSchemas order (the document's components.schemas). */
export function componentSchemas(): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(ApiComponentSchemas).map(([name, schema]) => [name, openApiSchema(schema, { self: name, io: 'output' })]));
}
