/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- <name> --cpu-prof <dir>`): self time by function and by
 * package, and inclusive time of the frames matching a pattern. `node profile-top.js <file> [pattern]`.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const [file, pattern] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
// module loading (start-up) is its own concern (footprint scenario): left out unless PROFILE_STARTUP=1
const startup = (id: number): boolean => {
  for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
    const f = byId.get(cur)?.callFrame.functionName ?? '';
    if (f === 'Module._load' || f === 'compileForInternalLoader') return true;
  }
  return false;
};
const self = new Map<number, number>();
let startupTime = 0;
prof.samples.forEach((id, i) => {
  if (process.env.PROFILE_STARTUP !== '1' && startup(id)) {
    startupTime += prof.timeDeltas[i] ?? 0;
    return;
  }
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self.entries()].filter(([id]) => /\((idle|program)\)/.test(byId.get(id)?.callFrame.functionName ?? '')).reduce((a, [, v]) => a + v, 0);
for (const [id] of [...self.entries()]) if (/\((idle|program)\)/.test(byId.get(id)?.callFrame.functionName ?? '')) self.delete(id);
const pkg = (url: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes('/dist/')) return `ours:${url.split('/dist/')[1].split('/').slice(0, 2).join('/')}`;
  return url.startsWith('node:') ? 'node' : url || '(native)';
};
const agg = (key: (n: Node) => string) => {
  const m = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (n) m.set(key(n), (m.get(key(n)) ?? 0) + t);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
};
const busy = total - idle;
const pct = (t: number) => `${((t / busy) * 100).toFixed(1)}%`;
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled (+${(startupTime / 1e6).toFixed(2)} s module loading left out), idle ${pct(idle)}; below, % of the busy time\n-- self time by package\n`);
for (const [k, t] of agg((n) => pkg(n.callFrame.url)).slice(0, 25)) process.stdout.write(`${pct(t).padStart(7)}  ${k}\n`);
process.stdout.write('-- self time by function\n');
for (const [k, t] of agg((n) => `${n.callFrame.functionName || '(anon)'} ${pkg(n.callFrame.url)}:${n.callFrame.lineNumber}`).slice(0, 35)) process.stdout.write(`${pct(t).padStart(7)}  ${k}\n`);
if (pattern) {
  // inclusive time of frames whose "function url" matches, counted once per sample stack
  const parent = parentOf;
  const re = new RegExp(pattern);
  const incl = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    if (!self.has(id)) return;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const k = `${n.callFrame.functionName || '(anon)'} ${pkg(n.callFrame.url)}:${n.callFrame.lineNumber}`;
      if (re.test(k) && !seen.has(k)) {
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + (prof.timeDeltas[i] ?? 0));
      }
    }
  });
  process.stdout.write(`-- inclusive time of frames matching /${pattern}/\n`);
  for (const [k, t] of [...incl.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) process.stdout.write(`${pct(t).padStart(7)}  ${k}\n`);
}
