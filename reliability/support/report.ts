import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from './run';

export const DOC = join(__dirname, '..', '..', 'docs', 'RELIABILITY.md');
const BEGIN = '<!-- reliability-table:begin (written by the fault suite; do not edit by hand) -->';
const END = '<!-- reliability-table:end -->';

function errors(e: Record<string, number>): string {
  const parts = Object.entries(e)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}×${n}`);
  return parts.length ? parts.join(', ') : '—';
}

function rss(r: RunResult): string {
  if (!r.rss) return '';
  return `RSS MiB start→end: ${Object.keys(r.rss.start)
    .map((k) => `${k} ${r.rss!.start[k]}→${r.rss!.end[k] ?? '?'}`)
    .join(', ')}`;
}

export function table(
  results: RunResult[],
  meta: { mode: string; when: Date; rate: number; clients: number },
): string {
  const lines = [
    `Last run: ${meta.when.toISOString().slice(0, 16).replace('T', ' ')} UTC, mode \`${meta.mode}\`, ${meta.clients} clients at ~${meta.rate} actions/s.`,
    '',
    '| fault | acked | lost | dup | audit missing | client errors by status | p99 during fault | recover | dead letters | result |',
    '|---|---:|---:|---:|---:|---|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const result = r.violations.length
      ? `**FAIL**: ${r.violations.join('; ').replace(/\|/g, '/').slice(0, 400)}`
      : 'pass';
    const extra = rss(r);
    lines.push(
      `| ${r.fault} | ${r.acked} | ${r.lost} | ${r.duplicated} | ${r.auditMissing} | ${errors(r.errors)} | ${r.p99FaultMs ?? '—'} ms | ${
        r.recoverS === null ? '—' : `${r.recoverS.toFixed(1)} s`
      } | ${r.deadLetters} | ${result}${extra ? ` (${extra})` : ''} |`,
    );
  }
  return lines.join('\n');
}

/** Writes the table to the OS temp dir always, and into docs/RELIABILITY.md between its markers when asked. */
export function writeReport(
  results: RunResult[],
  meta: { mode: string; when: Date; rate: number; clients: number },
  intoDocs: boolean,
): string {
  const md = table(results, meta);
  const file = join(tmpdir(), 'opsdesk-reliability-last.md');
  writeFileSync(file, `${md}\n`);
  writeFileSync(
    join(tmpdir(), 'opsdesk-reliability-last.json'),
    JSON.stringify({ ...meta, results }, null, 2),
  );
  if (intoDocs && existsSync(DOC)) {
    const doc = readFileSync(DOC, 'utf8');
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    if (a >= 0 && b > a) writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n${md}\n${doc.slice(b)}`);
  }
  return file;
}
