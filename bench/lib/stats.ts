/**
 * Pure helpers of the benchmark suite (bench/run.ts): argument parsing, percentiles and the summary of
 * repeated rounds. The machine is shared, so a figure is never one run: every scenario repeats rounds that
 * each measure the system AND its baseline, and reports the median over rounds with the spread (min–max).
 */

export interface BenchArgs {
  /** scenario names to run; empty = all */
  names: string[];
  /** rounds per scenario (each measures system and baseline) */
  rounds?: number;
  /** quick: small sizes and short rounds, for a smoke run of the whole suite */
  quick: boolean;
  /** print the markdown summary table of the results directory's latest files and exit */
  table: boolean;
  /** write --cpu-prof profiles of the spawned services into this directory */
  cpuProf?: string;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const out: BenchArgs = { names: [], quick: false, table: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') out.quick = true;
    else if (a === '--table') out.table = true;
    else if (a === '--rounds' || a.startsWith('--rounds=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--rounds needs a positive integer, got ${String(v)}`);
      out.rounds = n;
    } else if (a === '--cpu-prof' || a.startsWith('--cpu-prof=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) throw new Error('--cpu-prof needs a directory');
      out.cpuProf = v;
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else out.names.push(...a.split(',').filter(Boolean));
  }
  return out;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A figure over rounds: median, min, max and the spread (max - min) relative to the median, in %. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  spread_pct: number;
  rounds: number[];
}

export function figure(rounds: readonly number[]): Figure {
  const finite = rounds.filter((v) => Number.isFinite(v));
  const med = median(finite);
  const min = finite.length ? Math.min(...finite) : Number.NaN;
  const max = finite.length ? Math.max(...finite) : Number.NaN;
  return {
    median: round3(med),
    min: round3(min),
    max: round3(max),
    spread_pct: med ? Math.round(((max - min) / Math.abs(med)) * 100) : 0,
    rounds: finite.map(round3),
  };
}

export function round3(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 1000) / 1000 : v;
}

/** "3.12 (2.9–3.4)" for a table cell. */
export function cell(f: Figure | undefined, digits = 1): string {
  if (!f || !Number.isFinite(f.median)) return '–';
  const d = (v: number) => v.toFixed(Math.abs(v) >= 100 ? 0 : digits);
  return f.rounds.length > 1 ? `${d(f.median)} (${d(f.min)}–${d(f.max)})` : d(f.median);
}

/** Latency summary of one round's samples (ms). */
export function latencySummary(ms: readonly number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  return {
    n: ms.length,
    p50: round3(percentile(ms, 50)),
    p95: round3(percentile(ms, 95)),
    p99: round3(percentile(ms, 99)),
    // a loop, not Math.max(...ms): a fast round has more samples than the call stack takes as arguments
    max: round3(ms.length ? ms.reduce((a, b) => (b > a ? b : a), -Infinity) : Number.NaN),
  };
}
