// `node scripts/provision.mjs`: creates (or updates) the database logins of SPEC §7 in the database
// DB_ADMIN_URL points at: <prefix>_owner (NOLOGIN, owns the schemas), <prefix>_migrator, one login per service
// (<prefix>_auth, _inventory, _audit, _artifacts) and <prefix>_monitor (pg_monitor), then exits.
// Run once before `scripts/migrate.mjs` (the compose `db-provision` one-shot, the Helm provision job) and
// again to rotate passwords; idempotent. The SQL lives in libs/database/src/provision.ts (one place).
//   DB_ADMIN_URL            postgres:// URL of a superuser, connected to the target database
//   DB_ROLE_PREFIX          role name prefix (default opsdesk)
//   DB_MIGRATOR_PASSWORD, DB_AUTH_PASSWORD, DB_INVENTORY_PASSWORD, DB_AUDIT_PASSWORD,
//   DB_ARTIFACTS_PASSWORD, DB_MONITOR_PASSWORD   one password per login (>= 16 URL-safe characters)
// Run after `npm run build`.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const fail = (msg) => {
  console.error(`Invalid configuration: ${msg}`);
  process.exit(78); // EX_CONFIG, like the services
};

export function passwordVariable(login) {
  return `DB_${login.toUpperCase()}_PASSWORD`;
}

export async function provisionFromEnv(env = process.env, log = console.log) {
  const { DB_LOGINS, DEFAULT_ROLE_PREFIX, ROLE_PREFIX_RE, provisionDatabase, dbRoleNames, loginRole } = require(join(root, 'dist/libs/database/src/index.js'));
  const adminUrl = env.DB_ADMIN_URL;
  if (!adminUrl || !/^postgres(ql)?:\/\//.test(adminUrl)) fail('DB_ADMIN_URL is required (postgres://admin:pass@host:5432/db)');
  const prefix = env.DB_ROLE_PREFIX || DEFAULT_ROLE_PREFIX;
  if (!ROLE_PREFIX_RE.test(prefix)) fail('DB_ROLE_PREFIX must be a lower-case identifier of at most 40 characters');
  const passwords = {};
  for (const login of DB_LOGINS) {
    const v = env[passwordVariable(login)];
    // URL-safe only: the same password is written into postgres:// URLs (compose, Helm) without escaping.
    if (!v || !/^[A-Za-z0-9._~-]{16,}$/.test(v)) fail(`${passwordVariable(login)} is required: at least 16 characters of A-Z a-z 0-9 . _ ~ - (e.g. openssl rand -hex 24)`);
    passwords[login] = v;
  }
  await provisionDatabase(adminUrl, { prefix, passwords });
  const names = dbRoleNames(prefix);
  log(`provisioned: ${DB_LOGINS.map((l) => loginRole(names, l)).join(', ')} (objects owned by ${names.owner})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  provisionFromEnv().catch((err) => {
    console.error(`provision failed: ${err.message}`);
    process.exit(1);
  });
}
