import type { Role } from '@opsdesk/contracts';

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
}
