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
