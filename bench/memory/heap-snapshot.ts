import { readFileSync } from 'node:fs';

/** Count and self size of the objects of one constructor (node name) in a V8 heap snapshot. */
export interface ConstructorCount {
  count: number;
  size: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Objects in a .heapsnapshot file grouped by constructor (closures, strings etc. by their type). */
export function countByConstructor(file: string): Map<string, ConstructorCount> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map<string, ConstructorCount>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]];
    // objects by constructor name; everything else (closure, string, array, code…) by its type
    const name = type === 'object' || type === 'native' ? snap.strings[snap.nodes[i + nameAt]] : `(${type})`;
    const c = out.get(name) ?? { count: 0, size: 0 };
    c.count++;
    c.size += snap.nodes[i + sizeAt];
    out.set(name, c);
  }
  return out;
}

/** Constructors whose object count grew from `a` to `b`, most grown first. */
export function compareSnapshots(a: Map<string, ConstructorCount>, b: Map<string, ConstructorCount>): Array<{ name: string; countDelta: number; sizeDelta: number }> {
  const out: Array<{ name: string; countDelta: number; sizeDelta: number }> = [];
  for (const [name, cb] of b) {
    const ca = a.get(name) ?? { count: 0, size: 0 };
    if (cb.count > ca.count) out.push({ name, countDelta: cb.count - ca.count, sizeDelta: cb.size - ca.size });
  }
  return out.sort((x, y) => y.sizeDelta - x.sizeDelta || y.countDelta - x.countDelta);
}
