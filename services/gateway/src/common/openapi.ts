import type { ZodType } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';

/** OpenAPI schema from the same zod schema that validates the request: docs cannot drift from code. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any zod schema
export function openApiSchema(schema: ZodType<any, any, any>): Record<string, unknown> {
  // the cast avoids TypeScript's deep instantiation of zod's generic types in zodToJsonSchema's signature
  const convert = zodToJsonSchema as unknown as (s: unknown, o: Record<string, unknown>) => Record<string, unknown>;
  const json = convert(schema, { target: 'openApi3', $refStrategy: 'none' });
  delete json.$schema;
  return json;
}
