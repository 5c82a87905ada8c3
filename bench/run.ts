/**
 * The benchmark suite: `npm run bench` runs every scenario, `npm run bench -- <name>[,<name>…]` some.
 * Options: --quick (small sizes, short rounds), --rounds N (default 3; 1 with --quick), --cpu-prof <dir>
 * (services write V8 CPU profiles there), --table (print the markdown table of the latest results and exit).
 * Each scenario starts what it needs, warms up, measures the system and its baseline in the same rounds,
 * prints median and spread, and writes bench/results/<name>-<time>.json and <name>-latest.json.
 * Performance is measured here, never asserted in tests (docs/PERFORMANCE.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cell, parseBenchArgs, type Figure } from './lib/stats';
import type { Row, Scenario, ScenarioResult } from './lib/scenario';
import { ROOT, RUNNING } from './lib/system';
import { SCENARIOS } from './scenarios';

const RESULTS = join(ROOT, 'bench', 'results');

function markdown(results: Array<{ name: string; at: string; rows: Row[] }>): string {
  const lines = ['| scenario | figure | system | baseline | system vs baseline | goal |', '|---|---|---|---|---|---|'];
  const fmt = (f: Figure | undefined, unit: string) => (f ? `${cell(f, unit === 'ms' ? 2 : 1)} ${unit}` : '–');
  for (const r of results) {
    for (const row of r.rows) {
      const ratioUnit = row.ratio_label ?? '';
      lines.push(
        `| ${r.name} | ${row.figure} | ${fmt(row.system, row.unit)} | ${row.baseline ? `${fmt(row.baseline, row.unit)} (${row.baseline_label ?? ''})` : '–'} | ${row.ratio ? `${cell(row.ratio, 2)} ${ratioUnit}` : '–'} | ${row.goal ?? ''} |`,
      );
    }
  }
  return lines.join('\n');
}

function latest(): Array<{ name: string; at: string; rows: Row[] }> {
  let files: string[] = [];
  try {
    files = readdirSync(RESULTS).filter((f) => f.endsWith('-latest.json'));
  } catch {
    return [];
  }
  const order = SCENARIOS.map((s) => s.name);
  return files
    .map((f) => JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as { name: string; at: string; rows: Row[] })
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.table) {
    process.stdout.write(`${markdown(latest())}\n`);
    return;
  }
  const unknown = args.names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const chosen: Scenario[] = args.names.length ? SCENARIOS.filter((s) => args.names.includes(s.name)) : SCENARIOS;
  const rounds = args.rounds ?? (args.quick ? 1 : 3);
  mkdirSync(RESULTS, { recursive: true });
  const done: Array<{ name: string; at: string; rows: Row[] }> = [];
  let failed = 0;
  for (const s of chosen) {
    // each scenario starts with no writeback of the one before it queued in front of its own fsyncs (a gateway-hop
    // right after artifacts once timed out its first host create behind 500 MB of dirty pages)
    spawnSync('sync', { stdio: 'ignore' });
    const at = new Date().toISOString();
    process.stdout.write(`\n== ${s.name}: ${s.summary} (${rounds} round${rounds > 1 ? 's' : ''}${args.quick ? ', quick' : ''})\n`);
    const t = Date.now();
    let result: ScenarioResult;
    try {
      result = await s.run({ rounds, quick: args.quick, cpuProfDir: args.cpuProf, log: (l) => process.stdout.write(`  ${l}\n`) });
    } catch (err) {
      failed++;
      process.stderr.write(`${s.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      continue;
    }
    const out = { name: s.name, at, seconds: Math.round((Date.now() - t) / 1000), rounds, quick: args.quick, node: process.version, ...result };
    writeFileSync(join(RESULTS, `${s.name}-${at.replace(/[:.]/g, '-')}.json`), JSON.stringify(out, null, 2));
    writeFileSync(join(RESULTS, `${s.name}-latest.json`), JSON.stringify(out, null, 2));
    done.push({ name: s.name, at, rows: result.rows });
    process.stdout.write(`${markdown([{ name: s.name, at, rows: result.rows }])}\n`);
  }
  process.stdout.write(`\n== summary (median over rounds, (min–max))\n${markdown(done)}\nresults in ${RESULTS}\n`);
  if (failed) process.exit(1);
}

// Ctrl-C / kill: stop the services, drop the databases and streams of the scenario under way
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`\n${sig}: stopping what the scenario started\n`);
    void Promise.allSettled([...RUNNING].map((stop) => stop())).then(() => process.exit(130));
  });
}

main().then(
  // open handles (NATS, pg pools) of a failed scenario must not keep the runner alive
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
