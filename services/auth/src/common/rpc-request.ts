import { z } from 'zod';
import { rpcContextSchema, type RpcContext } from '@opsdesk/contracts';
import { parseRpcData } from '@opsdesk/messaging';

const envelope = z.object({ ctx: rpcContextSchema, data: z.unknown() });

/** Validates the RPC envelope and its data against a contracts schema (VALIDATION_FAILED otherwise). */
export function unpack<T>(payload: unknown, schema: z.ZodType<T, z.ZodTypeDef, unknown>): { ctx: RpcContext; data: T } {
  const env = parseRpcData(envelope, payload);
  return { ctx: env.ctx, data: parseRpcData(schema, env.data ?? {}) };
}

export const idSchema = z.object({ id: z.string().uuid({ message: 'must be a UUID' }) });
export const sessionRefSchema = z.object({ session_id: z.string().uuid().nullable().optional() });
