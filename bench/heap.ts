import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What grew on the V8 heap between two heap snapshots (`.heapsnapshot`, as `--heapsnapshot-signal`
 * writes them): self sizes summed by node type and constructor name, the difference, and that
 * difference divided by the number of things added between them (e.g. subscriptions). Self sizes,
 * not retained sizes: summed over every node they add up to the heap, without double counting.
 *
 * `npx tsx bench/heap.ts before.heapsnapshot after.heapsnapshot [count]` prints the table.
 */

export interface HeapGroup {
  /** `object: Foo`, `closure: bar`, `string`, `array: (object elements)`, `code`, … */
  name: string;
  count: number;
  bytes: number;
}

export interface HeapDiffRow {
  name: string;
  count: number;
  bytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** The snapshot's nodes grouped by type and name (names only where they say what a thing is). */
export function heapGroups(file: string): Map<string, HeapGroup> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt]];
    const size = s.nodes[i + sizeAt];
    let name: string;
    if (type === 'object' || type === 'closure' || type === 'array' || type === 'hidden' || type === 'native') {
      name = `${type}: ${s.strings[s.nodes[i + nameAt]].slice(0, 60)}`;
    } else {
      name = type; // strings by content, code and numbers by name would each be a group of one
    }
    const g = groups.get(name) ?? { name, count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(name, g);
  }
  return groups;
}

/** `after` minus `before`, largest growth first. */
export function heapDiff(before: Map<string, HeapGroup>, after: Map<string, HeapGroup>): HeapDiffRow[] {
  const rows: HeapDiffRow[] = [];
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const a = after.get(name);
    const b = before.get(name);
    rows.push({ name, count: (a?.count ?? 0) - (b?.count ?? 0), bytes: (a?.bytes ?? 0) - (b?.bytes ?? 0) });
  }
  return rows.sort((x, y) => y.bytes - x.bytes);
}

/** The top rows as text lines, per added thing when `per` is given. */
export function formatHeapDiff(rows: HeapDiffRow[], per = 1, top = 30): string[] {
  const total = rows.reduce((s, r) => s + r.bytes, 0);
  const lines = [`total ${(total / per).toFixed(0)} B${per > 1 ? ` per one of ${per}` : ''}`];
  for (const r of rows.slice(0, top)) {
    lines.push(`${(r.bytes / per).toFixed(0).padStart(8)} B ${(r.count / per).toFixed(2).padStart(7)} × ${r.name}`);
  }
  return lines;
}

interface Graph {
  names: string[];
  ids: Float64Array;
  self: Float64Array;
  /** Immediate dominator of each node (its ordinal), -1 for the root and unreachable nodes. */
  idom: Int32Array;
  retained: Float64Array;
}

/**
 * The snapshot's dominator tree (Lengauer–Tarjan, weak edges ignored, as DevTools does) and
 * every node's retained size: what would be freed with it.
 */
export function dominatorGraph(file: string): Graph {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot & {
    snapshot: { meta: { edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
    edges: number[];
  };
  const meta = s.snapshot.meta;
  const nw = meta.node_fields.length;
  const ew = meta.edge_fields.length;
  const types = meta.node_types[0];
  const [typeAt, nameAt, idAt, sizeAt, countAt] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  );
  const [eTypeAt, eToAt] = ['type', 'to_node'].map((f) => meta.edge_fields.indexOf(f));
  const weak = meta.edge_types[0].indexOf('weak');
  const n = s.nodes.length / nw;
  const names: string[] = new Array<string>(n);
  const ids = new Float64Array(n);
  const self = new Float64Array(n);
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    const type = types[s.nodes[i * nw + typeAt]];
    const name = s.strings[s.nodes[i * nw + nameAt]];
    names[i] =
      type === 'object' || type === 'closure' || type === 'native'
        ? name.slice(0, 60)
        : `(${type}) ${name.slice(0, 30)}`;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') names[i] = '(string)';
    if (type === 'code') names[i] = '(code)';
    if (type === 'number') names[i] = '(number)';
    ids[i] = s.nodes[i * nw + idAt];
    self[i] = s.nodes[i * nw + sizeAt];
    firstEdge[i] = e;
    e += s.nodes[i * nw + countAt];
    firstEdge[i + 1] = e;
  }
  const to = (e: number) => s.edges[e * ew + eToAt] / nw;
  const strong = (e: number) => s.edges[e * ew + eTypeAt] !== weak;
  // Depth-first numbering from the root (node 0): dfn[node] = 1..count, vertex[dfn] = node.
  const dfn = new Int32Array(n);
  const vertex = new Int32Array(n + 1);
  const parent = new Int32Array(n + 1);
  let count = 0;
  const stack = new Int32Array(n);
  const cursor = new Uint32Array(n);
  let top = 0;
  stack[0] = 0;
  dfn[0] = ++count;
  vertex[count] = 0;
  cursor[0] = firstEdge[0];
  while (top >= 0) {
    const v = stack[top];
    if (cursor[v] < firstEdge[v + 1]) {
      const e = cursor[v]++;
      if (!strong(e)) continue;
      const w = to(e);
      if (dfn[w] !== 0) continue;
      dfn[w] = ++count;
      vertex[count] = w;
      parent[count] = dfn[v];
      cursor[w] = firstEdge[w];
      stack[++top] = w;
    } else top--;
  }
  // Predecessors by dfn.
  const predCount = new Uint32Array(count + 2);
  for (let v = 0; v < n; v++) {
    if (dfn[v] === 0) continue;
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e++)
      if (strong(e) && dfn[to(e)] !== 0) predCount[dfn[to(e)] + 1]++;
  }
  for (let i = 1; i < predCount.length; i++) predCount[i] += predCount[i - 1];
  const preds = new Int32Array(predCount[count + 1]);
  const fill = predCount.slice();
  for (let v = 0; v < n; v++) {
    if (dfn[v] === 0) continue;
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e++)
      if (strong(e) && dfn[to(e)] !== 0) preds[fill[dfn[to(e)]]++] = dfn[v];
  }
  const semi = new Int32Array(count + 1);
  const label = new Int32Array(count + 1);
  const ancestor = new Int32Array(count + 1);
  const dom = new Int32Array(count + 1);
  const bucketHead = new Int32Array(count + 1);
  const bucketNext = new Int32Array(count + 1);
  for (let i = 1; i <= count; i++) {
    semi[i] = i;
    label[i] = i;
  }
  const path: number[] = [];
  const evaluate = (v: number): number => {
    if (ancestor[v] === 0) return v;
    path.length = 0;
    let x = v;
    while (ancestor[ancestor[x]] !== 0) {
      path.push(x);
      x = ancestor[x];
    }
    for (let i = path.length - 1; i >= 0; i--) {
      const y = path[i];
      const a = ancestor[y];
      if (semi[label[a]] < semi[label[y]]) label[y] = label[a];
      ancestor[y] = ancestor[a];
    }
    return label[v];
  };
  for (let w = count; w >= 2; w--) {
    for (let p = predCount[w]; p < predCount[w + 1]; p++) {
      const u = evaluate(preds[p]);
      if (semi[u] < semi[w]) semi[w] = semi[u];
    }
    bucketNext[w] = bucketHead[semi[w]];
    bucketHead[semi[w]] = w;
    const pw = parent[w];
    ancestor[w] = pw;
    for (let v = bucketHead[pw]; v !== 0; v = bucketNext[v]) {
      const u = evaluate(v);
      dom[v] = semi[u] < semi[v] ? u : pw;
    }
    bucketHead[pw] = 0;
  }
  for (let w = 2; w <= count; w++) if (dom[w] !== semi[w]) dom[w] = dom[dom[w]];
  const idom = new Int32Array(n).fill(-1);
  const retained = new Float64Array(n);
  for (let w = count; w >= 1; w--) {
    const v = vertex[w];
    retained[v] += self[v];
    if (w > 1) {
      idom[v] = vertex[dom[w]];
      retained[idom[v]] += retained[v];
    }
  }
  return { names, ids, self, idom, retained };
}

/**
 * What the objects created between two snapshots hang on: every new object whose immediate
 * dominator is older (or the root) starts a cluster; clusters are summed by their own name and
 * their dominator's, with the retained size of each.
 */
export function newClusters(before: string, after: string, per = 1, top = 30): string[] {
  const old = new Set(dominatorGraph(before).ids);
  const g = dominatorGraph(after);
  const rows = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let v = 0; v < g.names.length; v++) {
    if (g.idom[v] < 0 || old.has(g.ids[v]) || !old.has(g.ids[g.idom[v]])) continue;
    const key = `${g.names[v]}  ⟵  ${g.names[g.idom[v]]}`;
    const r = rows.get(key) ?? { bytes: 0, count: 0 };
    r.bytes += g.retained[v];
    r.count++;
    rows.set(key, r);
    total += g.retained[v];
  }
  const lines = [`new objects retain ${(total / per).toFixed(0)} B${per > 1 ? ` per one of ${per}` : ''}`];
  for (const [key, r] of [...rows].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
    lines.push(`${(r.bytes / per).toFixed(0).padStart(8)} B ${(r.count / per).toFixed(2).padStart(7)} × ${key}`);
  }
  return lines;
}

/** Inside the new objects named `name`: what they dominate, by name, summed (self sizes). */
export function insideOf(after: string, before: string, name: string, per = 1, top = 40): string[] {
  const old = new Set(dominatorGraph(before).ids);
  const g = dominatorGraph(after);
  const rows = new Map<string, { bytes: number; count: number }>();
  for (let v = 0; v < g.names.length; v++) {
    if (g.idom[v] < 0 || old.has(g.ids[v])) continue;
    // The nearest dominator named `name`, if any, among new objects.
    let d = g.idom[v];
    while (d > 0 && !old.has(g.ids[d]) && g.names[d] !== name) d = g.idom[d];
    if (d <= 0 || g.names[d] !== name || old.has(g.ids[d])) continue;
    const r = rows.get(g.names[v]) ?? { bytes: 0, count: 0 };
    r.bytes += g.self[v];
    r.count++;
    rows.set(g.names[v], r);
  }
  return [...rows]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, top)
    .map(([k, r]) => `${(r.bytes / per).toFixed(0).padStart(8)} B ${(r.count / per).toFixed(2).padStart(7)} × ${k}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [before, after, count] = process.argv.slice(2);
  if (!before || !after) {
    process.stderr.write('usage: tsx bench/heap.ts before.heapsnapshot after.heapsnapshot [count]\n');
    process.exit(2);
  }
  const per = Number(count ?? '1');
  const inside = process.env.HEAP_INSIDE;
  if (inside) for (const line of insideOf(after, before, inside, per)) console.log(line);
  else if (process.env.HEAP_CLUSTERS === '1') for (const line of newClusters(before, after, per, 40)) console.log(line);
  else for (const line of formatHeapDiff(heapDiff(heapGroups(before), heapGroups(after)), per, 40)) console.log(line);
}
