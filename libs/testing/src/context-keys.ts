import { generateEd25519KeyPair as pair } from '@opsdesk/config';

/**
 * Fresh caller-context key pairs for one suite (docs/SECURITY.md "RPC caller context"): the gateway's,
 * and artifacts' own for its calls to inventory. The in-process stack boots every service with one env,
 * so each sees all four; each service's config shape still reads only the keys it is allowed to hold.
 */
export function contextKeyEnv(): NodeJS.ProcessEnv {
  const gateway = pair();
  const artifacts = pair();
  return {
    GATEWAY_CONTEXT_PRIVATE_KEY: gateway.privateKey,
    GATEWAY_CONTEXT_PUBLIC_KEY: gateway.publicKey,
    ARTIFACTS_CONTEXT_PRIVATE_KEY: artifacts.privateKey,
    ARTIFACTS_CONTEXT_PUBLIC_KEY: artifacts.publicKey,
  };
}
