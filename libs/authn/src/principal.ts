import type { ApiTokenScope, Role } from '@opsdesk/contracts';

/** Who is calling, as the gateway established it (from a JWT or a personal API token). */
export interface Principal {
  kind: 'jwt' | 'api_token';
  user_id: string;
  email: string;
  role: Role;
  /** session id (JWT) */
  sid?: string;
  /** API token id */
  token_id?: string;
  /** API token scope (read, write, admin): the token acts with its owner's role AND its scope */
  scope?: ApiTokenScope;
}
