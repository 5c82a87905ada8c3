// Runs before `npm start` and `npm test` (npm's prestart/pretest): a fresh clone needs no separate
// `npm ci`. Installs exactly the locked dependencies when node_modules is missing or was installed from
// another package-lock.json (after a pull that changed dependencies); otherwise does nothing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.opsdesk-lock-sha256');
const lockHash = createHash('sha256').update(readFileSync(lock)).digest('hex');

const installed = existsSync(join(root, 'node_modules', '.package-lock.json'));
const stampHash = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : null;
// node_modules from an `npm ci` before this script existed has no stamp: trust it and stamp it
if (installed && (stampHash === null || stampHash === lockHash)) {
  if (stampHash === null) writeFileSync(stamp, lockHash);
  process.exit(0);
}
console.log(installed ? 'package-lock.json changed since the last install: npm ci' : 'no node_modules yet: npm ci');
const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(stamp, lockHash);
