import { isIPv6, type ConnectionMethod } from '@opsdesk/contracts';

/** Characters that never need quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_.:@%+=,/[\]-]+$/;

/**
 * Quotes one shell word. Values are already free of metacharacters by validation at write time; this is the
 * second line of defence: anything outside the safe set is single-quoted ('\'' for an embedded quote), so the
 * rendered command is always exactly one argument per value whatever reaches it.
 */
export function isSafeWord(v: string): boolean {
  return v !== '' && SAFE_WORD.test(v);
}

export function shellQuote(v: string): string {
  if (v !== '' && SAFE_WORD.test(v) && !v.startsWith('-')) return v;
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

export interface SshTarget {
  connection_method: ConnectionMethod;
  ip: string;
  ssh_port: number;
  bastion_host: string | null;
  bastion_port: number;
}

/** ssh's -J takes [user@]host[:port]: an IPv6 literal must be bracketed there. */
export function jumpHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

/**
 * The fixed renderer OpsDesk used before access templates. Commands are now rendered from templates
 * (access-template.ts); this stays as the reference the built-in templates are proven against, character for
 * character (access-template.spec.ts).
 *
 * The SSH command for a host (argv and its shell rendering):
 *   direct_ssh:  ssh -p <port> <user>@<ip>
 *   bastion_ssh: ssh -J <user>@<bastion_host>:<bastion_port> -p <port> <user>@<ip>
 * The target is the host's IP (always present and resolvable from the bastion without internal DNS).
 */
export function renderSshCommand(host: SshTarget, user: string): { argv: string[]; command: string } {
  // fixed tokens (program, option flags) are written as they are; every value is quoted
  const words: Array<{ v: string; fixed: boolean }> = [{ v: 'ssh', fixed: true }];
  if (host.connection_method === 'bastion_ssh') {
    if (!host.bastion_host) throw new Error('bastion_ssh host without bastion_host');
    words.push({ v: '-J', fixed: true }, { v: `${user}@${jumpHost(host.bastion_host)}:${host.bastion_port}`, fixed: false });
  }
  words.push({ v: '-p', fixed: true }, { v: String(host.ssh_port), fixed: false }, { v: `${user}@${host.ip}`, fixed: false });
  return { argv: words.map((w) => w.v), command: words.map((w) => (w.fixed ? w.v : shellQuote(w.v))).join(' ') };
}
