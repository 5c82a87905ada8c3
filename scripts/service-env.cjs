// The environment each OpsDesk process gets from a launcher: `npm start` (scripts/start.mjs) and the fault suite
// (reliability/) both build it here, so a new setting (a credential, a key, a per-service login) is added once
// and every launcher passes it on. CommonJS so that both ES modules and the TypeScript suite can require it.
'use strict';

/**
 * @param {string | null} name the service (`auth`, `gateway`, …), or null for a tool (migrations, seeds)
 * @param {{ base: Record<string, string | undefined>, databaseUrl: string, natsUrl: string, jwtSecret: string,
 *           artifactsDir: string, stateDir: string, ports?: Record<string, number> }} sys the system being run
 * @returns {Record<string, string | undefined>}
 */
// `name` is unused today: it is where per-service settings (own DB login, NATS user) branch.
function serviceEnv(name, sys) {
  const env = {
    ...sys.base,
    DATABASE_URL: sys.databaseUrl,
    NATS_URL: sys.natsUrl,
    JWT_SECRET: sys.jwtSecret,
    ARTIFACT_STORAGE_PATH: sys.artifactsDir,
    OPSDESK_STATE_DIR: sys.stateDir,
  };
  // every process learns where every service listens (<NAME>_PORT, <NAME>_URL)
  for (const [n, port] of Object.entries(sys.ports ?? {})) {
    env[`${n.toUpperCase()}_PORT`] = String(port);
    env[`${n.toUpperCase()}_URL`] = `http://127.0.0.1:${port}`;
  }
  return env;
}

module.exports = { serviceEnv };
