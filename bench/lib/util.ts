import { createServer } from 'node:net';
import type { RpcPrincipal } from '@opsdesk/contracts';

export function freePortOf(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The principal an access token names (its payload, unverified: the bench issued it itself). */
export function principalOf(token: string): RpcPrincipal {
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { sub: string; role: RpcPrincipal['role'] };
  return { user_id: claims.sub, role: claims.role };
}
