import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { metric, rss, sleep, type Child } from './common.js';
import { formatHeapDiff, heapDiff, heapGroups } from './heap.js';
import type { SwarmJob } from './subscribers.js';

/**
 * Scenario 4: the gateway's memory idle and with `subs` idle subscriptions (one graphql-ws
 * socket each, client tokens, each subscribed to its own deposit). RSS from /proc, V8 heap
 * from the gateway's own gauges. With `snapshotDir` (the gateway started with
 * `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<it>`), a heap snapshot is taken at
 * both points and what one subscription adds to the heap is printed by constructor.
 */

export interface MemoryJob {
  gateway: Child;
  gatewayUrl: string;
  wsUrl: string;
  subs: SwarmJob['subs'];
  /** Starts the subscriber swarm (bench/subscribers.ts) as an IPC child. */
  swarm: () => Child;
  log: (line: string) => void;
  snapshotDir?: string;
}

export interface MemoryResult {
  /** Gateway RSS, bytes: 3 s after ready, and 3 s after the subscriptions were open. */
  idle: number;
  withSubs: number;
  /** V8 heap in use (`nodejs_heap_size_used_bytes`) at the same two moments. */
  idleHeap: number;
  withSubsHeap: number;
  /** Outside the heap: ArrayBuffers and Buffers (`nodejs_external_memory_bytes`). */
  idleExternal: number;
  withSubsExternal: number;
  subs: number;
  connectMs: number;
  /** The largest heap growth per subscription, by constructor (only with `snapshotDir`). */
  heapPerSub?: string[];
}

async function gauges(url: string): Promise<{ heap: number; external: number }> {
  const [heap, external] = await Promise.all([
    metric(url, 'nodejs_heap_size_used_bytes'),
    metric(url, 'nodejs_external_memory_bytes'),
  ]);
  return { heap, external };
}

/** Asks the gateway for a heap snapshot and waits until the file stops growing. */
async function snapshot(gateway: Child, dir: string): Promise<string> {
  const known = new Set(readdirSync(dir));
  gateway.proc.kill('SIGUSR2');
  let file: string | undefined;
  let size = -1;
  for (const until = Date.now() + 300_000; Date.now() < until;) {
    await sleep(1000);
    file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !known.has(f));
    if (!file) continue;
    const now = statSync(path.join(dir, file)).size;
    if (now > 0 && now === size) return path.join(dir, file);
    size = now;
  }
  throw new Error(`no heap snapshot in ${dir} within 300 s`);
}

async function waitForOpen(url: string, atLeast: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const open = await metric(url, 'graphql_subscriptions_open');
    if (open >= atLeast || Date.now() > until) return open;
    await sleep(200);
  }
}

export async function runMemoryScenario(job: MemoryJob): Promise<MemoryResult> {
  const { gateway, gatewayUrl, log } = job;
  const idle = rss(gateway.pid).rss;
  const idleG = await gauges(gatewayUrl);
  const before = job.snapshotDir ? await snapshot(gateway, job.snapshotDir) : undefined;
  log(`memory: gateway idle ${(idle / 2 ** 20).toFixed(1)} MB; opening ${job.subs.length} subscriptions`);
  const swarm = job.swarm();
  try {
    swarm.send({ type: 'job', wsUrl: job.wsUrl, subs: job.subs, connectConcurrency: 200 } satisfies SwarmJob);
    const opened = await swarm.next<{ type: string; opened: number; errors: number; firstError?: string; ms: number }>(
      'subscribed',
      240_000,
    );
    const open = await waitForOpen(gatewayUrl, job.subs.length, 60_000);
    await sleep(3000);
    const withSubs = rss(gateway.pid).rss;
    const withG = await gauges(gatewayUrl);
    log(
      `  ${open} open (${opened.errors} errors${opened.firstError ? `, the first: ${opened.firstError}` : ''}) in ${(opened.ms / 1000).toFixed(1)} s: gateway ${(withSubs / 2 ** 20).toFixed(1)} MB`,
    );
    let heapPerSub: string[] | undefined;
    if (job.snapshotDir && before) {
      const after = await snapshot(gateway, job.snapshotDir);
      heapPerSub = formatHeapDiff(heapDiff(heapGroups(before), heapGroups(after)), Math.max(1, open), 25);
      for (const line of heapPerSub) log(`  heap ${line}`);
    }
    swarm.send({ type: 'close' });
    await swarm.next('closed', 120_000);
    return {
      idle,
      withSubs,
      idleHeap: idleG.heap,
      withSubsHeap: withG.heap,
      idleExternal: idleG.external,
      withSubsExternal: withG.external,
      subs: open,
      connectMs: opened.ms,
      heapPerSub,
    };
  } finally {
    await swarm.stop(5000);
  }
}

/** One line: RSS and heap idle and with the subscriptions, and the cost of one. */
export function memoryLine(m: MemoryResult): string {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
  const per = (a: number, b: number) => `${((b - a) / Math.max(1, m.subs) / 1024).toFixed(1)} KiB`;
  return (
    `RSS ${mb(m.idle)} idle, ${mb(m.withSubs)} with ${m.subs} subscriptions (+${per(m.idle, m.withSubs)} each); ` +
    `heap ${mb(m.idleHeap)} → ${mb(m.withSubsHeap)} (+${per(m.idleHeap, m.withSubsHeap)}); ` +
    `external ${mb(m.idleExternal)} → ${mb(m.withSubsExternal)} (+${per(m.idleExternal, m.withSubsExternal)})`
  );
}
