import type { RpcContext } from '@opsdesk/contracts';

/** The caller's user id, which the gateway puts on every authenticated RPC. */
export function callerId(ctx: RpcContext): string {
  const id = ctx.actor?.user_id;
  if (!id) throw new Error('authenticated RPC without actor.user_id');
  return id;
}
