import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * The alert rules are unit-tested with the real `promtool test rules` (deploy/prometheus/tests/*.test.yml), and
 * every alert must have at least one case where it fires (with its labels and rendered annotations) and one where
 * it stays quiet: a new alert without both fails here.
 */
const PROMETHEUS_DIR = join(__dirname, '..', 'deploy', 'prometheus');
const TESTS_DIR = join(PROMETHEUS_DIR, 'tests');
const PROMTOOL = '/usr/bin/promtool';

interface RuleFile {
  groups: Array<{ rules: Array<{ alert?: string; record?: string }> }>;
}
interface AlertTest {
  alertname: string;
  exp_alerts?: unknown[];
}
interface TestFile {
  rule_files: string[];
  tests: Array<{ name?: string; alert_rule_test?: AlertTest[] }>;
}

const testFiles = readdirSync(TESTS_DIR).filter((f) => f.endsWith('.test.yml'));

it('promtool test rules passes for every test file', () => {
  expect(testFiles.length).toBeGreaterThan(0);
  for (const f of testFiles) {
    const r = spawnSync(PROMTOOL, ['test', 'rules', f], { cwd: TESTS_DIR, encoding: 'utf8' });
    expect({ file: f, status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ file: f, status: 0, out: expect.stringContaining('SUCCESS') });
  }
});

it('every alert of every rule file has a firing case and a quiet case', () => {
  const ruleFiles = readdirSync(PROMETHEUS_DIR).filter((f) => f.endsWith('-alerts.yml'));
  const alerts = ruleFiles.flatMap((f) => (parse(readFileSync(join(PROMETHEUS_DIR, f), 'utf8')) as RuleFile).groups.flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => !!a)));
  expect(alerts.length).toBeGreaterThan(0);
  const fires = new Set<string>();
  const quiet = new Set<string>();
  const tested = new Set<string>();
  for (const f of testFiles) {
    const doc = parse(readFileSync(join(TESTS_DIR, f), 'utf8')) as TestFile;
    for (const rf of doc.rule_files) tested.add(rf.replace(/^\.\.\//, ''));
    for (const t of doc.tests) {
      for (const a of t.alert_rule_test ?? []) (a.exp_alerts && a.exp_alerts.length > 0 ? fires : quiet).add(a.alertname);
    }
  }
  expect([...tested].sort()).toEqual(expect.arrayContaining(ruleFiles));
  const missing = alerts.flatMap((a) => [...(fires.has(a) ? [] : [`${a}: no firing case`]), ...(quiet.has(a) ? [] : [`${a}: no quiet case`])]);
  expect(missing).toEqual([]);
});

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

it('every alert has a runbook_url that resolves to a heading of docs/OPERATIONS.md', () => {
  const ops = readFileSync(join(__dirname, '..', 'docs', 'OPERATIONS.md'), 'utf8');
  const anchors = new Set([...ops.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
  const ruleFiles = readdirSync(PROMETHEUS_DIR).filter((f) => f.endsWith('-alerts.yml'));
  const alerts = ruleFiles.flatMap((f) =>
    (parse(readFileSync(join(PROMETHEUS_DIR, f), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; annotations?: Record<string, string> }> }> }).groups.flatMap((g) =>
      g.rules.filter((r) => r.alert),
    ),
  );
  expect(alerts.length).toBeGreaterThan(30);
  const broken = alerts.flatMap((r) => {
    const url = r.annotations?.runbook_url ?? '';
    const m = /^docs\/OPERATIONS\.md#(.+)$/.exec(url);
    if (!m) return [`${r.alert}: runbook_url "${url}" is not docs/OPERATIONS.md#<anchor>`];
    return anchors.has(m[1]) ? [] : [`${r.alert}: no heading for #${m[1]}`];
  });
  expect(broken).toEqual([]);
});
