import { cell, figure, latencySummary, median, parseBenchArgs, percentile } from './stats';

describe('bench runner arguments', () => {
  it('takes scenario names, comma lists and options', () => {
    expect(parseBenchArgs([])).toEqual({ names: [], quick: false, table: false });
    expect(parseBenchArgs(['gateway-hop', 'login,footprint', '--quick', '--rounds', '3', '--cpu-prof=/tmp/p'])).toEqual({
      names: ['gateway-hop', 'login', 'footprint'],
      quick: true,
      table: false,
      rounds: 3,
      cpuProf: '/tmp/p',
    });
    expect(parseBenchArgs(['--rounds=2', '--table']).rounds).toBe(2);
  });

  it('refuses unknown options and bad round counts', () => {
    expect(() => parseBenchArgs(['--fast'])).toThrow(/unknown option/);
    expect(() => parseBenchArgs(['--rounds', '0'])).toThrow(/positive integer/);
    expect(() => parseBenchArgs(['--rounds', 'x'])).toThrow(/positive integer/);
  });
});

describe('bench statistics', () => {
  it('percentiles by nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('a figure over rounds carries median, range and spread', () => {
    const f = figure([10, 12, 8, Number.NaN]);
    expect(f).toMatchObject({ median: 10, min: 8, max: 12, spread_pct: 40, rounds: [10, 12, 8] });
    expect(cell(f)).toBe('10.0 (8.0–12.0)');
    expect(cell(figure([250]))).toBe('250');
  });

  it('latency summary', () => {
    const s = latencySummary([1, 2, 3, 4, 100]);
    expect(s).toEqual({ n: 5, p50: 3, p95: 100, p99: 100, max: 100 });
  });
});
