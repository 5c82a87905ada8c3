import { z } from 'zod';
import { rpcContextSchema, type NewEvent, type RpcContext } from '@opsdesk/contracts';
import { parseRpcData } from '@opsdesk/messaging';

const envelope = z.object({ ctx: rpcContextSchema, data: z.unknown() });

/** Validates the RPC envelope and its data against a contracts schema (VALIDATION_FAILED otherwise). */
export function unpack<T>(payload: unknown, schema: z.ZodType<T, z.ZodTypeDef, unknown>): { ctx: RpcContext; data: T } {
  const env = parseRpcData(envelope, payload);
  return { ctx: env.ctx, data: parseRpcData(schema, env.data ?? {}) };
}

/** An artifacts event with the caller's actor and request id (SPEC §5 envelope). */
export function artifactEvent(type: string, ctx: RpcContext, artifactId: string, data: Record<string, unknown>): NewEvent {
  return { type, actor: ctx.actor, request_id: ctx.request_id, subject: { entity_type: 'artifact', entity_id: artifactId }, data };
}
