import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Static helpers for e2e/deploy.e2e-spec.ts: reading deploy/ and extracting what it references. */

export const ROOT = join(__dirname, '..', '..');
export const DEPLOY = join(ROOT, 'deploy');

export function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out.sort();
}

export const rel = (p: string): string => relative(ROOT, p);

export function readYaml(file: string): unknown {
  // merge: compose files use `<<: *anchor`, which must be resolved to see the real keys.
  return parseYaml(readFileSync(file, 'utf8'), { merge: true });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every `expr` string in a parsed document (alert rules, dashboard targets), wherever it sits. */
export function collectExprs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) collectExprs(n, out);
  else if (isRecord(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'expr' && typeof v === 'string') out.push(v);
      // Grafana query variables keep their PromQL in `definition` / `query.query`.
      else if (k === 'definition' && typeof v === 'string') out.push(v);
      else collectExprs(v, out);
    }
  }
  return out;
}

const METRIC_RE = /\b(opsdesk_[a-z0-9_]+|process_[a-z0-9_]+|nodejs_[a-z0-9_]+|up)\b/g;
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

/** Metric names a PromQL expression uses; histogram series are reduced to the histogram's name. */
export function metricNames(expr: string): string[] {
  // Label values and legend text are quoted; dropping string literals keeps e.g. route=~"...up..." out.
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const names = new Set<string>();
  for (const m of code.matchAll(METRIC_RE)) names.add(m[1].replace(HISTOGRAM_SUFFIX, ''));
  return [...names];
}

/** Names a Prometheus exposition declares with `# HELP` or `# TYPE`. */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# (?:HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)/gm)) names.add(m[1]);
  return names;
}

/** Variable names env.example documents (`NAME=` lines, commented or not). */
export function envExampleNames(): Set<string> {
  const names = new Set<string>();
  for (const m of readFileSync(join(ROOT, 'env.example'), 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)) names.add(m[1]);
  return names;
}

/** `.Values.a.b` / `$.Values.a.b` paths used by Helm templates. */
export function valuesPaths(template: string): string[] {
  const paths = new Set<string>();
  for (const m of template.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) paths.add(m[1].slice(1));
  return [...paths];
}

export function hasPath(obj: unknown, path: string): boolean {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (!isRecord(cur) || !(key in cur)) return false;
    cur = cur[key];
  }
  return true;
}

/**
 * Key paths of `override` missing from `base`. Children of maps that are empty in `base` (free-form maps
 * such as annotations) and list items are not compared.
 */
export function unknownKeys(override: unknown, base: unknown, prefix = ''): string[] {
  if (!isRecord(override) || !isRecord(base)) return [];
  if (Object.keys(base).length === 0) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(override)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (!(k in base)) out.push(path);
    else out.push(...unknownKeys(v, base[k], path));
  }
  return out;
}

/** The nginx tree helpers live in @opsdesk/testing (the artifacts bench, compiled into dist/, uses them too). */
export { makeSelfSignedCert, writeNginxTree, type NginxTree } from '@opsdesk/testing';
