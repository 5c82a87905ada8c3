import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot } from './env-file';

/**
 * The V8 flags each service process starts with, from `deploy/node-flags.conf` (why each flag is there is
 * written in that file). Every launcher — `npm start`, the container image, the test and bench harnesses —
 * reads the same file, so a service is measured and tested the way it runs in production.
 */
export const NODE_FLAGS_FILE = join('deploy', 'node-flags.conf');

/** `<service> <flag> …` per line; `#` starts a comment. Throws on a line that is not that shape. */
export function parseNodeFlags(text: string): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [service, ...rest] = line.split(/\s+/);
    const where = `${NODE_FLAGS_FILE} line ${i + 1}`;
    if (!/^[a-z][a-z0-9-]*$/.test(service)) throw new Error(`${where}: "${service}" is not a service name`);
    if (flags.has(service)) throw new Error(`${where}: ${service} is listed twice`);
    // only `--name` or `--name=value`: the image's launcher splits the line on whitespace, so nothing may need quoting
    const bad = rest.find((f) => !/^--[a-z0-9-]+(=[A-Za-z0-9._,:/-]+)?$/.test(f));
    if (bad !== undefined) throw new Error(`${where}: "${bad}" is not a --flag or --flag=value`);
    flags.set(service, rest);
  });
  return flags;
}

/** deploy/node-flags.conf of the repository this code runs from. */
export function nodeFlagsFile(): string {
  const root = findRepoRoot(__dirname);
  if (!root) throw new Error(`no repository root (nx.json) above ${__dirname} to read ${NODE_FLAGS_FILE} from`);
  return join(root, NODE_FLAGS_FILE);
}

/** The flags to put before a service's main.js (empty for a service the file does not list). */
export function serviceNodeFlags(service: string, file: string = nodeFlagsFile()): string[] {
  return parseNodeFlags(readFileSync(file, 'utf8')).get(service) ?? [];
}
