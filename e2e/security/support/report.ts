import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where each check's case count goes (one JSON line per check), for the table in docs/SECURITY.md. */
export const REPORT_FILE = process.env.SECURITY_REPORT ?? join(tmpdir(), 'opsdesk-security-report.jsonl');

/** Records how many cases a check ran and what it proves (printed too, so CI logs carry the numbers). */
export function recordCheck(check: string, cases: number, proves: string, extra: Record<string, unknown> = {}): void {
  const line = { check, cases, proves, at: new Date().toISOString(), ...extra };
  appendFileSync(REPORT_FILE, `${JSON.stringify(line)}\n`);
  process.stdout.write(`[security] ${check}: ${cases} cases — ${proves}${Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : ''}\n`);
}
