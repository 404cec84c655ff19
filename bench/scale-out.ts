import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { generateWhsecSecret } from '../src/lib/signatures/standard-webhooks.js';
import { freePort } from '../test/utils/harness.js';
import { Child, CpuMeter, cpuMs, sleep, type LatencySummary } from './common.js';
import { planEvents, type BenchProvider } from './events.js';
import type { ScaleOutJob, ScaleOutResult } from './load-scale-out.js';

/**
 * The scale-out scenario (BENCH_ONLY=scaleout): the same load, with one merchant webhook endpoint
 * and one subscriber per deposit, against one sidecar and one gateway, then two of each on the
 * same database and Redis prefix (the load balanced round-robin over them), alternated; then a
 * run with two of each where the sidecar that leads the outbox relay is killed (SIGKILL) halfway,
 * the provider retrying what failed on the other. Figures: events per second, the provider's wait
 * and the end to end latency, CPU per event, and for every run what was lost or doubled (changes
 * to subscribers, merchant webhook deliveries, credits).
 */

type Ports = { gateway: number; webhooks: number };

export interface ScaleOutDeps {
  db: pg.Pool;
  /** The bench database's name (its backends are counted into the CPU per event). */
  dbName: string;
  tenantId: string;
  /** A client token for a deposit (its subscriber's credential). */
  clientToken(depositId: string): string;
  /** `count` PENDING deposits of `provider` inserted directly, in order (run.ts's `seed`). */
  seed(label: string, provider: BenchProvider, count: number, tenantId: string): Promise<string[]>;
  /** Starts the app in `role` on `ports` and waits for `/readyz` (run.ts's `startApp`). */
  startApp(role: 'gateway' | 'webhooks', ports: Ports): Promise<Child>;
  log(msg: string): void;
  /** layer1 deposits per run (five events each). */
  deposits: number;
  /** Webhook POSTs in flight at once. */
  connections: number;
}

export interface ScaleOutRun {
  label: string;
  sidecars: number;
  gateways: number;
  killed: boolean;
  events: number;
  perSecond: number;
  answer: LatencySummary;
  e2e: LatencySummary;
  /** CPU per accepted event (ms): the app's processes together, and the database's backends. */
  cpuApp: number;
  cpuPostgres: number;
  /** Database sessions opened during the run (pg_stat_database.sessions). */
  sessionsOpened: number;
  outcomes: Record<string, number>;
  completed: number;
  /** Subscriptions refused before the load (not counted in `lost`). */
  notSubscribed: number;
  /** Status changes to subscribers: planned but never received, received more than once. */
  lost: number;
  doubled: number;
  unexpected: number;
  /** Merchant webhooks: changes never delivered, webhook-ids received more than once. */
  deliveriesMissing: number;
  deliveriesDoubled: number;
  /** Ledger entries beyond one per deposit. */
  creditsDoubled: number;
  /** From the end of the load to the last merchant delivery succeeded (s). */
  deliveryDrainS: number;
}

export interface ScaleOutResults {
  runs: ScaleOutRun[];
}

export async function runScaleOutScenario(d: ScaleOutDeps): Promise<ScaleOutResults> {
  const receiver = await startCountingReceiver();
  await d.db.query('delete from webhook_endpoint');
  await d.db.query('insert into webhook_endpoint (tenant_id, url, secret) values ($1, $2, $3)', [
    d.tenantId,
    receiver.url,
    generateWhsecSecret(),
  ]);
  const ports: Ports[] = [];
  for (let i = 0; i < 2; i++) ports.push({ gateway: await freePort(), webhooks: await freePort() });
  const sidecars: (Child | undefined)[] = [undefined, undefined];
  const gateways: (Child | undefined)[] = [undefined, undefined];
  /** Exactly `count` sidecars and gateways running; sidecar 0 starts first, so it leads the relay. */
  const scaleTo = async (count: number) => {
    for (let i = 0; i < 2; i++) {
      if (i < count) {
        if (!sidecars[i]?.running) sidecars[i] = await d.startApp('webhooks', ports[i]);
        if (!gateways[i]?.running) gateways[i] = await d.startApp('gateway', ports[i]);
      } else {
        await sidecars[i]?.stop();
        await gateways[i]?.stop();
      }
    }
  };
  const plan: { count: number; kill: boolean }[] = [
    { count: 1, kill: false },
    { count: 2, kill: false },
    { count: 1, kill: false },
    { count: 2, kill: false },
    { count: 2, kill: true },
  ];
  const runs: ScaleOutRun[] = [];
  try {
    for (const [i, p] of plan.entries()) {
      await scaleTo(p.count);
      const label = `${p.count} + ${p.count}${p.kill ? ', sidecar 1 killed halfway' : ''}`;
      d.log(`scale-out run ${i + 1}/${plan.length}: ${label}`);
      const run = await runOnce(d, `so${i}`, label, p.count, p.kill, sidecars, gateways, ports, receiver);
      d.log(
        `  ${run.perSecond.toFixed(0)} events/s, answer p99 ${run.answer.p99.toFixed(0)} ms, end to end p50 ` +
          `${run.e2e.p50.toFixed(0)} / p99 ${run.e2e.p99.toFixed(0)} ms, CPU ${run.cpuApp.toFixed(2)} + ` +
          `${run.cpuPostgres.toFixed(2)} ms/event (app + Postgres), ${run.sessionsOpened} sessions opened; ` +
          `changes lost ${run.lost}, doubled ${run.doubled} (${run.notSubscribed} subscriptions refused); deliveries missing ${run.deliveriesMissing}, ` +
          `doubled ${run.deliveriesDoubled}; credits doubled ${run.creditsDoubled}; ${JSON.stringify(run.outcomes)}`,
      );
      runs.push(run);
    }
  } finally {
    await scaleTo(0);
    receiver.close();
    // Whatever runs next measures without a merchant endpoint.
    await d.db.query('delete from webhook_endpoint');
    await d.db.query('truncate webhook_delivery');
  }
  return { runs };
}

async function runOnce(
  d: ScaleOutDeps,
  tag: string,
  label: string,
  count: number,
  kill: boolean,
  sidecars: (Child | undefined)[],
  gateways: (Child | undefined)[],
  ports: Ports[],
  receiver: CountingReceiver,
): Promise<ScaleOutRun> {
  const ids = await d.seed(tag, 'layer1', d.deposits, d.tenantId);
  await d.db.query('analyze');
  const events = planEvents(ids, []);
  const used = ports.slice(0, count);
  const load = new Child('load-scale-out', 'bench/load-scale-out.ts', [], { ipc: true });
  try {
    load.send({
      type: 'job',
      gatewayWsUrls: used.map((p) => `ws://127.0.0.1:${p.gateway}/graphql`),
      webhookUrls: used.map((p) => `http://127.0.0.1:${p.webhooks}`),
      subs: ids.map((id) => ({ depositId: id, clientToken: d.clientToken(id) })),
      events,
      connections: d.connections,
      drainMs: 60_000,
    } satisfies ScaleOutJob);
    await load.next('subscribed', 300_000);
    receiver.reset();
    const appPids = async () => [...sidecars, ...gateways].filter((c) => c?.running).map((c) => c!.pid);
    const backends = async () =>
      (await d.db.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [d.dbName])).rows.map(
        (r) => r.pid,
      );
    const meters = { app: new CpuMeter(appPids), postgres: new CpuMeter(backends) };
    // The killed sidecar's CPU up to its death counts: read at the start and just before the kill.
    let killedCpu = 0;
    const victimCpuBefore = kill ? cpuMs(sidecars[0]!.pid) : 0;
    const sessions = async () =>
      Number(
        (await d.db.query<{ n: string }>('select sessions as n from pg_stat_database where datname = $1', [d.dbName]))
          .rows[0].n,
      );
    const sessionsBefore = await sessions();
    await Promise.all([meters.app.start(), meters.postgres.start()]);
    load.send({ type: 'go' });
    if (kill) {
      for (;;) {
        const m = await load.next<{ type: 'progress'; done: number; total: number }>('progress', 300_000);
        if (m.done >= m.total / 2) break;
      }
      const victim = sidecars[0]!;
      killedCpu = (await killAndCount(victim)) - victimCpuBefore;
    }
    const result = await load.next<ScaleOutResult>('result', 600_000);
    const loadEnded = Date.now();
    const [cpuApp, cpuPostgres] = await Promise.all([meters.app.stop(), meters.postgres.stop()]);
    const sessionsOpened = (await sessions()) - sessionsBefore;

    // Every merchant delivery done (what the killed sidecar had claimed waits for its lease: 30 s).
    const until = Date.now() + 180_000;
    for (;;) {
      const left = (
        await d.db.query<{ n: number }>(
          `select count(*)::int as n from webhook_delivery w join outbox o on o.id = w.outbox_id
           where o.deposit_id = any($1) and w.status <> 'SUCCEEDED'`,
          [ids],
        )
      ).rows[0].n;
      if (left === 0 || Date.now() > until) break;
      await sleep(200);
    }
    const deliveryDrainS = (Date.now() - loadEnded) / 1000;
    const changes = (
      await d.db.query<{ id: string }>('select id from outbox where deposit_id = any($1)', [ids])
    ).rows.map((r) => `evt_${r.id}`);
    const deliveriesMissing = changes.filter((id) => !receiver.counts.has(id)).length;
    let deliveriesDoubled = 0;
    for (const n of receiver.counts.values()) if (n > 1) deliveriesDoubled += n - 1;
    const credits = (
      await d.db.query<{ entries: number; deposits: number }>(
        `select count(*)::int as entries, count(distinct deposit_id)::int as deposits
         from ledger_entry where deposit_id = any($1)`,
        [ids],
      )
    ).rows[0];
    const completed = (
      await d.db.query<{ n: number }>(
        `select count(*)::int as n from deposit where id = any($1) and status = 'COMPLETED'`,
        [ids],
      )
    ).rows[0].n;
    // Gone for the next run, dead rows included.
    await d.db.query('truncate webhook_delivery');
    const accepted = Math.max(1, (result.outcomes.accepted ?? 0) + (result.outcomes.duplicate ?? 0));
    return {
      label,
      sidecars: count,
      gateways: count,
      killed: kill,
      events: result.sent,
      perSecond: result.perSecond,
      answer: result.answer,
      e2e: result.e2e,
      cpuApp: (cpuApp + killedCpu) / accepted,
      cpuPostgres: cpuPostgres / accepted,
      sessionsOpened,
      outcomes: result.outcomes,
      completed,
      notSubscribed: result.notSubscribed,
      lost: result.lost,
      doubled: result.doubled,
      unexpected: result.unexpected,
      deliveriesMissing,
      deliveriesDoubled,
      creditsDoubled: credits.entries - credits.deposits,
      deliveryDrainS,
    };
  } finally {
    await load.stop(5000);
  }
}

/** SIGKILL (a crash); returns the CPU time (ms) it had used in all, read just before. */
async function killAndCount(victim: Child): Promise<number> {
  const used = cpuMs(victim.pid);
  victim.proc.kill('SIGKILL');
  await victim.exited;
  return used;
}

interface CountingReceiver {
  url: string;
  /** Requests received per webhook-id since the last reset. */
  counts: Map<string, number>;
  reset(): void;
  close(): void;
}

/** The merchant's endpoint: answers 204 at once and counts requests per webhook-id. */
async function startCountingReceiver(): Promise<CountingReceiver> {
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const id = String(req.headers['webhook-id'] ?? '');
    req.resume();
    req.on('end', () => {
      counts.set(id, (counts.get(id) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    counts,
    reset: () => counts.clear(),
    close: () => server.close(),
  };
}

// ---------------------------------------------------------------- report

const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

interface Pooled {
  perSecond: number;
  answerP99: number;
  e2eP50: number;
  e2eP99: number;
  cpuApp: number;
  cpuPostgres: number;
}

/** The unkilled runs of one shape together: rates and CPU averaged over the rounds, percentiles too. */
function pooled(runs: ScaleOutRun[]): Pooled {
  const avg = (f: (r: ScaleOutRun) => number) => runs.reduce((s, r) => s + f(r), 0) / Math.max(1, runs.length);
  return {
    perSecond: avg((r) => r.perSecond),
    answerP99: avg((r) => r.answer.p99),
    e2eP50: avg((r) => r.e2e.p50),
    e2eP99: avg((r) => r.e2e.p99),
    cpuApp: avg((r) => r.cpuApp),
    cpuPostgres: avg((r) => r.cpuPostgres),
  };
}

const shape = (r: ScaleOutResults, count: number) => pooled(r.runs.filter((x) => x.sidecars === count && !x.killed));

/** One line for the console. */
export function scaleOutLine(r: ScaleOutResults): string {
  const one = shape(r, 1);
  const two = shape(r, 2);
  const k = r.runs.find((x) => x.killed);
  return (
    `2 + 2 ${f0(two.perSecond)} events/s (answer p99 ${f0(two.answerP99)} ms, end to end p99 ${f0(two.e2eP99)} ms) vs 1 + 1 ` +
    `${f0(one.perSecond)} events/s (${f0(one.answerP99)} / ${f0(one.e2eP99)} ms), ratio ${f2(two.perSecond / one.perSecond)}` +
    (k
      ? `; killed halfway: changes lost ${k.lost}, doubled ${k.doubled}, credits doubled ${k.creditsDoubled}, ` +
        `deliveries missing ${k.deliveriesMissing}, sent twice ${k.deliveriesDoubled}`
      : '')
  );
}

/** The rows of the results table (`| # | scenario | measured | baseline | ratio | target | |`). */
export function scaleOutRows(r: ScaleOutResults, connections: number): string[] {
  const one = shape(r, 1);
  const two = shape(r, 2);
  const events = r.runs[0]?.events ?? 0;
  const rows = [
    `| 6 | scale out: 2 sidecars + 2 gateways on one database, events/s, provider's wait p99 / end to end p99 (${f0(events)} events per run, ${connections} connections round-robin, one merchant endpoint, one subscriber per deposit) | ${f0(two.perSecond)} /s, ${f0(two.answerP99)} / ${f0(two.e2eP99)} ms | 1 sidecar + 1 gateway: ${f0(one.perSecond)} /s, ${f0(one.answerP99)} / ${f0(one.e2eP99)} ms | ${f2(two.perSecond / one.perSecond)} | reported (2 cores) | |`,
  ];
  const k = r.runs.find((x) => x.killed);
  if (k) {
    const ok = k.lost === 0 && k.doubled === 0 && k.creditsDoubled === 0 && k.deliveriesMissing === 0;
    rows.push(
      `| 6 | scale out: the relay's leader sidecar killed (SIGKILL) halfway, 2 + 2 | changes lost ${k.lost}, doubled ${k.doubled}; credits doubled ${k.creditsDoubled}; merchant deliveries missing ${k.deliveriesMissing}, sent twice ${k.deliveriesDoubled} (at least once, same webhook-id); ${f0(k.perSecond)} events/s, end to end p99 ${f0(k.e2e.p99)} ms | | | lost 0, doubled 0 | ${ok ? '**met**' : '**not met**'} |`,
    );
  }
  return rows;
}

/** The details paragraph. */
export function scaleOutDetail(r: ScaleOutResults): string {
  const one = shape(r, 1);
  const two = shape(r, 2);
  const k = r.runs.find((x) => x.killed);
  const run = (x: ScaleOutRun) =>
    `${x.label}: ${f0(x.perSecond)} events/s, provider's wait p50 / p99 ${f0(x.answer.p50)} / ${f0(x.answer.p99)} ms, ` +
    `end to end p50 / p99 ${f0(x.e2e.p50)} / ${f0(x.e2e.p99)} ms, CPU ${f2(x.cpuApp)} + ${f2(x.cpuPostgres)} ms per event ` +
    `(app processes + Postgres), ${f0(x.sessionsOpened)} database sessions opened, ` +
    `${f0(x.notSubscribed)} subscriptions refused at the start (not counted as lost), answers ${Object.entries(
      x.outcomes,
    )
      .map(([o, n]) => `${o} ${f0(n)}`)
      .join(
        ', ',
      )}, ${f0(x.completed)} deposits completed, merchant deliveries done ${x.deliveryDrainS.toFixed(1)} s after the load`;
  return (
    `- **Scale out** (scenario 6, \`BENCH_ONLY=scaleout\`, bench/scale-out.ts). Two shapes on one database and one Redis prefix, alternated: ` +
    'one sidecar and one gateway, then two of each (sidecar 1 started first, so it leads the outbox relay), the load balanced ' +
    'round-robin over the sidecars and the subscribers spread over the gateways (one graphql-ws client per deposit, client tokens); ' +
    'one merchant endpoint (a local receiver answering 204) gets every change. Per run: layer1 deposits seeded PENDING, five events each, ' +
    'closed loop; a failed POST is sent again to the next sidecar, as a provider retries. Then two of each once more, with sidecar 1 killed ' +
    'with SIGKILL when half the events were answered. Runs: ' +
    r.runs.map(run).join('; ') +
    `. Two of each against one of each: ${f2(two.perSecond / one.perSecond)} of the rate, CPU per event ${f2(two.cpuApp + two.cpuPostgres)} ` +
    `against ${f2(one.cpuApp + one.cpuPostgres)} ms. On this 2-core machine two of each cannot be faster: one sidecar, Postgres and the ` +
    'load process already share the two cores, so a second sidecar adds no CPU, only its own fixed costs (a second group commit, so ' +
    'smaller batches and more commits; a second dispatcher and sync polling; a standby relay) and contention on the same rows. ' +
    'What scale-out buys is availability and headroom on more cores; the figure to watch here is CPU per event, which says what the ' +
    'second process costs. ' +
    (k
      ? `With the leader killed: status changes lost ${k.lost}, doubled ${k.doubled} (the survivor took over the relay; a batch ` +
        'published but not yet marked is published again with the same seq, which subscribers drop), unexpected ' +
        `${k.unexpected}; credits doubled ${k.creditsDoubled}; merchant deliveries missing ${k.deliveriesMissing}, ` +
        `sent twice ${k.deliveriesDoubled}: a delivery the killed sidecar had sent but whose success it had not yet written is ` +
        'sent again by the survivor once its lease (twice WEBHOOK_TIMEOUT_MS) runs out, with the same webhook-id: at least once ' +
        'by contract, the merchant dedupes on webhook-id, and no delivery credits anything.'
      : '')
  );
}
