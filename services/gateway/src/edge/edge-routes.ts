import { ArtifactsInternalPaths, Permissions, type Permission } from '@opsdesk/contracts';

/**
 * The public requests the edge (nginx, deploy/nginx/opsdesk.conf) may send straight to the artifacts service with a
 * ticket, bytes in one hop (docs/PERFORMANCE.md change 20): exactly the two that carry artifact bodies. Each maps to
 * the permission its gateway route requires (services/gateway/src/artifacts/artifacts.controller.ts) and to the
 * internal route the gateway would have forwarded it to, which the ticket is bound to.
 */
export interface EdgeRoute {
  permission: Permission;
  /** method and path of the artifacts service's internal route: what the ticket (an internal token) is minted for */
  method: 'POST' | 'GET';
  path: string;
}

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const UPLOAD = new RegExp(`^/api/hosts/(${UUID})/artifacts$`);
const DOWNLOAD = new RegExp(`^/api/artifacts/(${UUID})/download$`);

/**
 * The edge route for the client's original method and URI (nginx's `$request_method` and `$request_uri`), or null
 * when the request is not one of them (then the gateway serves it as usual). A query string is not allowed: the
 * gateway forwards neither route's query, and the edge would drop it too.
 */
export function edgeRouteOf(method: string | undefined, uri: string | undefined): EdgeRoute | null {
  if (!method || !uri || uri.includes('?') || uri.includes('#')) return null;
  const m = method.toUpperCase();
  const up = m === 'POST' ? UPLOAD.exec(uri) : null;
  if (up) return { permission: Permissions.ARTIFACTS_WRITE, method: 'POST', path: ArtifactsInternalPaths.upload(up[1]) };
  const down = m === 'GET' ? DOWNLOAD.exec(uri) : null;
  if (down) return { permission: Permissions.ARTIFACTS_DOWNLOAD, method: 'GET', path: ArtifactsInternalPaths.download(down[1]) };
  return null;
}
