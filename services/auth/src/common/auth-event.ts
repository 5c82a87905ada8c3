import type { NewEvent, RpcContext } from '@opsdesk/contracts';

/** Builds an auth event carrying the caller's actor and request id (SPEC §5 envelope). */
export function authEvent(
  type: string,
  ctx: RpcContext,
  entity: { type: string; id: string | null },
  data: Record<string, unknown>,
): NewEvent {
  return { type, actor: ctx.actor, request_id: ctx.request_id, subject: { entity_type: entity.type, entity_id: entity.id }, data };
}

/** The caller's user id, which the gateway puts on every authenticated RPC. */
export function callerId(ctx: RpcContext): string {
  const id = ctx.actor?.user_id;
  if (!id) throw new Error('authenticated RPC without actor.user_id');
  return id;
}
