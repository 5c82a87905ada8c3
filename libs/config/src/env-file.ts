import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { config as loadDotenv } from 'dotenv';

/** Finds the repository root (the folder with nx.json) from a starting directory. */
export function findRepoRoot(start: string = process.cwd()): string | null {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Reads `.env` at the repository root when present (the guide's `cp env.example .env`).
 * Variables already in the environment win, so a deployment's real environment is never overridden.
 */
export function loadEnvFile(): string | null {
  const root = findRepoRoot() ?? findRepoRoot(__dirname);
  if (!root) return null;
  const file = join(root, '.env');
  if (!existsSync(file)) return null;
  loadDotenv({ path: file, override: false, quiet: true } as Parameters<typeof loadDotenv>[0]);
  return file;
}

/** Where `npm start` keeps its local state: OPSDESK_STATE_DIR, else `.opsdesk` at the repository root. */
export function stateDir(): string | null {
  if (process.env.OPSDESK_STATE_DIR) return process.env.OPSDESK_STATE_DIR;
  const root = findRepoRoot() ?? findRepoRoot(__dirname);
  return root ? join(root, '.opsdesk') : null;
}

/** The file (in the state directory, mode 600) where a running `npm start` says which DATABASE_URL and NATS_URL it uses. */
export const RUNNING_ENV_FILE = 'running.env';

/**
 * For the command-line tools (migrate, seed:admin, seed:demo), after `.env`: a variable still unset is taken
 * from the system `npm start` is running (its embedded Postgres and own NATS), so `npm run seed:demo` works
 * next to `npm start` with no setup. Services never read it: their environment comes from the launcher.
 */
export function loadRunningSystemEnv(): string | null {
  const dir = stateDir();
  if (!dir) return null;
  const file = join(dir, RUNNING_ENV_FILE);
  if (!existsSync(file)) return null;
  loadDotenv({ path: file, override: false, quiet: true } as Parameters<typeof loadDotenv>[0]);
  return file;
}
