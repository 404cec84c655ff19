import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ROOT } from './common.js';

/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and aggregates self
 * time: by function (name + file:line) and by where the code lives (a package
 * of node_modules, a folder of src/, Node's own modules, GC, idle).
 *
 * `tsx bench/cpuprofile.ts <file.cpuprofile> [top]` prints both tables.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  key: string;
  ms: number;
  /** Share of the busy time (everything but idle), in percent. */
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  functions: SelfTime[];
  places: SelfTime[];
  /** Native functions (socket and file writes, crypto...) by the place of the JavaScript that called them. */
  nativeByCaller: SelfTime[];
}

const rootUrl = pathToFileURL(ROOT).href;

function shortUrl(url: string): string {
  if (url.startsWith(rootUrl)) return url.slice(rootUrl.length).replace(/^\/+/, '');
  return url.replace(/^file:\/\//, '');
}

/** Where a function lives: `pg`, `@mikro-orm/core`, `src/services`, `node:internal/streams`, `(garbage collector)` ... */
export function placeOf(f: CallFrame): string {
  const url = f.url;
  if (!url) {
    if (f.functionName.startsWith('(')) return f.functionName;
    return '(native)';
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts[0] === 'internal' ? `internal/${parts[1] ?? ''}` : parts[0]}`.replace(/\.js$/, '');
  }
  const rel = shortUrl(url);
  const src = /^(src|bench|test)\/([^/]+)\//.exec(rel);
  if (src) return `${src[1]}/${src[2]}`;
  return rel;
}

/**
 * @param window only samples taken between these instants of the monotonic clock (µs, as
 * `process.hrtime.bigint() / 1000n` reads it in any process of the machine): the measured run, without start-up.
 */
export function summarizeProfile(file: string, top = 25, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  /** The place of the nearest caller outside Node's own modules (the package or file that asked for it). */
  const callerPlace = (id: number): string => {
    let nodeCore: string | undefined;
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!f.url) continue;
      if (!f.url.startsWith('node:')) return placeOf(f);
      nodeCore ??= placeOf(f);
    }
    return nodeCore ?? '(unknown)';
  };
  const self = new Map<number, number>();
  // timeDeltas[i] is the time elapsed before sample i; the interval after a sample belongs to it.
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + Math.max(0, dt));
  }
  const fn = new Map<string, number>();
  const place = new Map<string, number>();
  const native = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    total += us;
    if (f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const name = f.functionName || '(anonymous)';
    const key = f.url ? `${name} ${shortUrl(f.url)}:${f.lineNumber + 1}` : name;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const pl = placeOf(f);
    place.set(pl, (place.get(pl) ?? 0) + us);
    if (pl === '(native)') {
      const k = `${name} ← ${callerPlace(id)}`;
      native.set(k, (native.get(k) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => ({ key, ms: us / 1000, pct: (100 * us) / busy }));
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    busyMs: busy / 1000,
    functions: rank(fn),
    places: rank(place),
    nativeByCaller: rank(native),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/cpuprofile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const s = summarizeProfile(file, Number(process.argv[3] ?? 25));
  console.log(`sampled ${s.totalMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms, busy ${s.busyMs.toFixed(0)} ms`);
  console.log('\nself time by place');
  for (const r of s.places)
    console.log(`${r.pct.toFixed(1).padStart(6)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.key}`);
  console.log('\nnative self time by calling place');
  for (const r of s.nativeByCaller)
    console.log(`${r.pct.toFixed(1).padStart(6)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.key}`);
  console.log('\nself time by function');
  for (const r of s.functions)
    console.log(`${r.pct.toFixed(1).padStart(6)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.key}`);
}
