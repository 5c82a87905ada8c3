import 'reflect-metadata';
import { MessagePattern } from '@nestjs/microservices';
import { z } from 'zod';
import { RpcContracts, rpcContextSchema, type RpcContext, type RpcDataOf, type RpcPattern, type RpcResponseOf } from '@opsdesk/contracts';
import { parseRpcData } from './rpc';

/** What an `@RpcHandler` method receives: the caller's context and its data, validated by the pattern's schema. */
export interface RpcInput<P extends RpcPattern> {
  ctx: RpcContext;
  data: RpcDataOf<P>;
}

export type RpcHandlerMethod<P extends RpcPattern> = (input: RpcInput<P>) => RpcResponseOf<P> | Promise<RpcResponseOf<P>>;

const envelope = z.object({ ctx: rpcContextSchema, data: z.unknown() });

/** Validates an RPC envelope `{ctx, data}` and its data against the pattern's contract (VALIDATION_FAILED otherwise). */
export function parseRpcInput<P extends RpcPattern>(pattern: P, payload: unknown): RpcInput<P> {
  const env = parseRpcData(envelope, payload);
  const schema = RpcContracts[pattern].request as z.ZodType<RpcDataOf<P>, z.ZodTypeDef, unknown>;
  return { ctx: env.ctx, data: parseRpcData(schema, env.data ?? {}) };
}

/**
 * Declares a method as the handler of an RPC pattern (Nest's @MessagePattern underneath, so guards,
 * interceptors and filters apply as to any Nest handler) and types it from the contract map: the method gets
 * `{ctx, data}` already validated against the pattern's request schema and must answer the pattern's response
 * type — a handler answering something else does not compile.
 */
export function RpcHandler<P extends RpcPattern>(pattern: P) {
  return <M extends RpcHandlerMethod<P>>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<M>): void => {
    const original = descriptor.value;
    if (!original) throw new Error(`@RpcHandler(${pattern}) must decorate a method`);
    const wrapped = function (this: unknown, payload: unknown) {
      return original.call(this, parseRpcInput(pattern, payload));
    };
    // Metadata of decorators applied before this one (listed below it) lives on the original function: keep it.
    for (const k of Reflect.getMetadataKeys(original)) Reflect.defineMetadata(k, Reflect.getMetadata(k, original), wrapped);
    Object.defineProperty(wrapped, 'name', { value: original.name });
    descriptor.value = wrapped as unknown as M;
    MessagePattern(pattern)(target, key, descriptor);
  };
}
