import { CpuMeter, sleep, type Child, type LatencySummary } from './common.js';
import type { PlannedEvent } from './events.js';
import type { IngestResult } from './load-ingest.js';
import type { E2EResult, SendJob, StageSummary, SwarmJob } from './subscribers.js';

/**
 * Scenario 2, end to end: 2,000 graphql-ws subscribers (bench/subscribers.ts), webhooks paced
 * at 500/s from the same process, the latency from the POST to the subscriber's `next`.
 * With `STATUS_TRACE=1` on the app each change also says when it passed each stage
 * (src/lib/trace.ts), and the run reports their p50/p99. `BENCH_ONLY=e2e` runs the tuning
 * rounds below: the floor and each app setting, alternated.
 */

export interface E2EBench {
  gatewayUrl: string;
  webhookUrl: string;
  wsUrl: string;
  /** Events per second, sent open loop. */
  rate: number;
  /** Client tokens for the subscribers. */
  token: (depositId: string) => string;
  swarm: () => Child;
  postgresPids: () => Promise<number[]>;
  metricOpen: (atLeast: number, timeoutMs: number) => Promise<number>;
  log: (msg: string) => void;
}

export interface E2ERun {
  app: E2EResult;
  subscribers: number;
  connectMs: number;
  /** CPU while the measured events ran, in % of one core, by process. */
  cpu: Record<'gateway' | 'sidecar' | 'clients' | 'postgres', number>;
}

type Set = { events: PlannedEvent[]; depositIds: string[] };

/** One run: subscribe every deposit of `set` and `warm`, send `warm`'s events (not counted), then `set`'s, measured. */
export async function runEndToEnd(o: E2EBench, gateway: Child, sidecar: Child, set: Set, warm: Set): Promise<E2ERun> {
  const swarm = o.swarm();
  try {
    swarm.send({
      type: 'job',
      wsUrl: o.wsUrl,
      subs: [...set.depositIds, ...warm.depositIds].map((id) => ({ depositId: id, clientToken: o.token(id) })),
      connectConcurrency: 200,
    } satisfies SwarmJob);
    const opened = await swarm.next<{ type: string; opened: number; errors: number; ms: number }>(
      'subscribed',
      120_000,
    );
    const subs = (await o.metricOpen(set.depositIds.length + warm.depositIds.length, 60_000)) - warm.depositIds.length;
    await sleep(1000);
    // Warm-up: the gateway and the sidecar were idle until now (cold JIT, pool connections without
    // their prepared statements); a running deployment is warm.
    swarm.send({
      type: 'send',
      webhookUrl: o.webhookUrl,
      events: warm.events,
      rate: o.rate,
      drainMs: 5_000,
    } satisfies SendJob);
    const w = await swarm.next<E2EResult>('e2e', 60_000);
    o.log(`  warm-up: ${w.delivered}/${w.sent} delivered, p99 ${w.latency.p99.toFixed(2)} ms (not counted)`);
    await sleep(1000);
    const meters = {
      gateway: new CpuMeter(async () => [gateway.pid]),
      sidecar: new CpuMeter(async () => [sidecar.pid]),
      clients: new CpuMeter(async () => [swarm.pid]),
      postgres: new CpuMeter(o.postgresPids),
    };
    await Promise.all(Object.values(meters).map((m) => m.start()));
    const started = performance.now();
    swarm.send({
      type: 'send',
      webhookUrl: o.webhookUrl,
      events: set.events,
      rate: o.rate,
      drainMs: 15_000,
    } satisfies SendJob);
    const app = await swarm.next<E2EResult>('e2e', 120_000);
    const wallMs = performance.now() - started;
    const pct = async (m: CpuMeter) => ((await m.stop()) / wallMs) * 100;
    const cpu = {
      gateway: await pct(meters.gateway),
      sidecar: await pct(meters.sidecar),
      clients: await pct(meters.clients),
      postgres: await pct(meters.postgres),
    };
    swarm.send({ type: 'close' });
    await swarm.next('closed', 60_000).catch(() => undefined);
    return { app, subscribers: Math.min(subs, opened.opened), connectMs: opened.ms, cpu };
  } finally {
    await swarm.stop(5000);
  }
}

/** What `BENCH_ONLY=e2e` needs from the orchestrator besides `E2EBench`. */
export interface E2ETuning extends E2EBench {
  /** Settings to compare, each the app's environment on top of the defaults; `{}` is the defaults. */
  variants: Record<string, string>[];
  rounds: number;
  /** A fresh seeded set for an e2e run (`tag` names its deposits) and its warm-up set. */
  seed: (tag: string) => Promise<{ set: Set; warm: Set }>;
  /** A fresh ingest set and its warm-up, when ingest throughput is measured per setting too. */
  seedIngest?: (tag: string) => Promise<{ set: Set; warm: Set }>;
  /** The floor at the same rate (raw SQL + one Redis hop) over a fresh set; no app process runs meanwhile. */
  floor: (tag: string) => Promise<IngestResult>;
  startApps: (env: Record<string, string>) => Promise<{ gateway: Child; sidecar: Child }>;
  startSidecar: (env: Record<string, string>) => Promise<Child>;
  ingest: (sidecar: Child, set: Set, warm: Set) => Promise<IngestResult>;
}

export interface TuningRow {
  variant: string;
  round: number;
  run: E2ERun;
  ingestPerSecond?: number;
}

export interface TuningResult {
  floors: IngestResult[];
  rows: TuningRow[];
}

export const variantName = (v: Record<string, string>) =>
  Object.keys(v).length === 0
    ? 'defaults'
    : Object.entries(v)
        .map(([k, x]) => `${k}=${x}`)
        .join(' ');

/** Rounds of: the floor, then each setting (the app with `STATUS_TRACE=1` unless the setting says otherwise). */
export async function runE2ETuning(o: E2ETuning): Promise<TuningResult> {
  const floors: IngestResult[] = [];
  const rows: TuningRow[] = [];
  for (let round = 0; round < o.rounds; round++) {
    o.log(`e2e round ${round + 1}: floor (raw SQL + Redis at ${o.rate}/s)`);
    const f = await o.floor(`f${round}`);
    floors.push(f);
    o.log(`  floor p50 ${f.latency.p50.toFixed(2)} ms, p99 ${f.latency.p99.toFixed(2)} ms`);
    for (const [k, v] of o.variants.entries()) {
      const env = { STATUS_TRACE: '1', ...v };
      const name = variantName(v);
      let ingestPerSecond: number | undefined;
      if (o.seedIngest) {
        const ing = await o.seedIngest(`i${round}v${k}`);
        const sidecar = await o.startSidecar(env);
        try {
          ingestPerSecond = (await o.ingest(sidecar, ing.set, ing.warm)).perSecond;
        } finally {
          await sidecar.stop();
        }
        o.log(`  ${name}: ingest ${ingestPerSecond.toFixed(0)} events/s`);
      }
      const { set, warm } = await o.seed(`e${round}v${k}`);
      const apps = await o.startApps(env);
      try {
        o.log(`e2e round ${round + 1}: ${name}`);
        const run = await runEndToEnd(o, apps.gateway, apps.sidecar, set, warm);
        rows.push({ variant: name, round, run, ingestPerSecond });
        o.log(`  ${e2eLine(run)}`);
        for (const s of run.app.stages) o.log(`    ${stageLine(s)}`);
      } finally {
        await apps.gateway.stop();
        await apps.sidecar.stop();
      }
    }
  }
  return { floors, rows };
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

export function e2eLine(r: E2ERun): string {
  const a = r.app;
  return (
    `delivered ${a.delivered}/${a.sent} (${a.traced} traced), p50 ${f2(a.latency.p50)} ms, p99 ${f2(a.latency.p99)} ms; ` +
    `webhook answer p99 ${f2(a.webhookLatency.p99)} ms; CPU % of a core ${JSON.stringify(
      Object.fromEntries(Object.entries(r.cpu).map(([k, v]) => [k, Math.round(v)])),
    )}`
  );
}

export function stageLine(s: StageSummary): string {
  return `${s.stage.padEnd(10)} since sent p50 ${f2(s.sinceSent.p50)} p99 ${f2(s.sinceSent.p99)}; gap p50 ${f2(s.gap.p50)} p99 ${f2(s.gap.p99)} (${s.count})`;
}

/** The per-stage table of a traced run, for docs/benchmarks.md. */
export function stageTable(stages: StageSummary[]): string[] {
  if (stages.length === 0) return ['(no trace: the app ran without `STATUS_TRACE=1`)'];
  return [
    '| stage | what | since the POST p50 / p99, ms | since the stage before p50 / p99, ms | changes |',
    '|---|---|---|---|---|',
    ...stages.map(
      (s) =>
        `| ${s.stage} | ${STAGE_TEXT[s.stage] ?? ''} | ${f2(s.sinceSent.p50)} / ${f2(s.sinceSent.p99)} | ${f2(s.gap.p50)} / ${f2(s.gap.p99)} | ${s.count} |`,
    ),
  ];
}

const STAGE_TEXT: Record<string, string> = {
  received: 'sidecar route has the webhook',
  committed: 'its transaction committed (group commit answered)',
  relayQuery: 'relay sends the statement that sequences and reads it',
  relayed: 'relay has the row',
  published: 'serialized, handed to the Redis pipeline',
  gateway: 'gateway’s Redis subscriber has it',
  written: 'graphql-ws serializes and writes the `next`',
  delivered: 'the subscriber’s `next` callback',
};

/** Median of the runs' p99 (and p50), as a summary of alternated rounds. */
export function medianOf(xs: LatencySummary[], k: 'p50' | 'p99'): number {
  const v = xs.map((x) => x[k]).sort((a, b) => a - b);
  return v.length === 0 ? NaN : v[Math.floor((v.length - 1) / 2)];
}
