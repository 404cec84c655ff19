import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import type { IntentStore } from '../src/bus/intent-store.js';
import type { NormalizedEvent } from '../src/domain/events.js';
import { EventApplier } from '../src/services/apply-event.service.js';
import { parseLayer1Event } from '../src/webhooks/providers/layer1.provider.js';
import { parseSandboxEvent } from '../src/webhooks/providers/sandbox.provider.js';
import { receive, reply, runTool, sleep, summarize, wallMs, type Message } from './common.js';
import { signedRequest, type PlannedEvent } from './events.js';
import type { IngestResult } from './load-ingest.js';

/**
 * The baseline of scenario 1: exactly the SQL statements one webhook costs the sidecar,
 * issued directly with `pg` at the same concurrency. It drives the app's own
 * `EventApplier.ingest` (src/services/apply-event.service.ts) on a plain `pg.Pool`, so the
 * statements cannot drift from the app's: no HTTP, no signature check, no ORM, no Redis
 * (a no-op intent store), no logging; payloads are parsed before the clock starts. What is
 * left is the database's own cost plus the rules, the floor of the app's.
 *
 * Per event (see EventApplier): begin; insert into webhook_inbox ... returning, joined with
 * the deposit row locked `for update`; one statement of data-modifying CTEs writing the
 * timeline, the deposit, the outbox (+ NOTIFY), the ledger entry and balance of a completing
 * event, and the inbox outcome; commit.
 *
 * Paced mode (the floor of scenario 2): the same statements for each event at a
 * fixed rate (open loop), then one Redis PUBLISH of the change that a
 * subscriber of this process receives; the latency is from the start of the
 * event to the receipt. The app's path adds HTTP, verification, the outbox
 * relay's own queries and the gateway's GraphQL over WebSocket to that.
 *
 * IPC: ← job {databaseUrl, warmup, events, connections, [pace]} → ready; ← warmup → warmed; ← go → result; ← finish.
 */

export interface BaselineJob extends Message {
  type: 'job';
  databaseUrl: string;
  /** Sent first, not measured. */
  warmup: PlannedEvent[];
  events: PlannedEvent[];
  connections: number;
  pace?: { rate: number; redisUrl: string; channel: string; drainMs: number };
}

interface Prepared {
  event: NormalizedEvent;
  e: PlannedEvent;
  dedupeKey: string;
  headers: string;
  body: string;
}

runTool(async () => {
  const job = await receive<BaselineJob>('job');
  const warmup = job.warmup.map(prepare);
  const prepared = job.events.map(prepare);
  const pool = new pg.Pool({ connectionString: job.databaseUrl, max: job.connections });
  pool.on('error', () => undefined); // an idle connection lost is replaced on the next query
  // Open the connections before the clock starts, as the app's pool is warm too.
  await Promise.all(Array.from({ length: job.connections }, () => pool.query('select 1')));
  await reply({ type: 'ready', count: prepared.length });
  try {
    await receive('warmup');
    if (warmup.length > 0) await closedLoop(pool, warmup, job.connections);
    await reply({ type: 'warmed' });
    await receive('go');
    const r = job.pace ? await paced(pool, prepared, job.pace) : await closedLoop(pool, prepared, job.connections);
    await reply(r);
    // The connections stay open until the orchestrator has read their backends' CPU time.
    await receive('finish');
  } finally {
    await pool.end();
  }
});

/** The same bytes the sidecar stores: the signed body and the headers it keeps. */
function prepare(e: PlannedEvent): Prepared {
  const r = signedRequest(e);
  const kept = {
    'content-type': r.headers['content-type'],
    'webhook-id': r.headers['webhook-id'],
    'webhook-timestamp': r.headers['webhook-timestamp'],
    'webhook-signature': r.headers['webhook-signature'],
  };
  const parse = e.provider === 'layer1' ? parseLayer1Event : parseSandboxEvent;
  const event = parse(Buffer.from(r.body));
  return { e, dedupeKey: r.headers['webhook-id'], headers: JSON.stringify(kept), body: r.body, event };
}

/** `connections` workers, each taking the next event as soon as its previous one committed. */
async function closedLoop(pool: pg.Pool, prepared: Prepared[], connections: number): Promise<IngestResult> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= prepared.length) return;
      const t0 = performance.now();
      await applyOne(pool, prepared[i]);
      latencies.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const durationS = (performance.now() - started) / 1000;
  return {
    type: 'result',
    sent: prepared.length,
    durationS,
    perSecond: latencies.length / durationS,
    latency: summarize(latencies),
    samples: latencies,
    outcomes: { accepted: latencies.length },
    errors: 0,
  };
}

/** Event i starts at t0 + i/rate, whatever the previous ones are doing; then its change goes through Redis pub/sub. */
async function paced(
  pool: pg.Pool,
  prepared: Prepared[],
  pace: NonNullable<BaselineJob['pace']>,
): Promise<IngestResult> {
  const pub = new Redis(pace.redisUrl);
  const sub = new Redis(pace.redisUrl);
  const startedAt = new Map<string, number>();
  const latencies: number[] = [];
  sub.on('message', (_channel: string, message: string) => {
    const t = startedAt.get(message);
    if (t !== undefined) latencies.push(wallMs() - t);
  });
  await sub.subscribe(pace.channel);
  let failed = 0;
  const interval = 1000 / pace.rate;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < prepared.length; i++) {
    const wait = t0 + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    const p = prepared[i];
    const key = `${p.e.depositId}|${p.e.status}`;
    startedAt.set(key, wallMs());
    pending.push(
      applyOne(pool, p)
        .then(() => pub.publish(pace.channel, key))
        .then(
          () => undefined,
          () => void failed++,
        ),
    );
  }
  const durationS = (performance.now() - t0) / 1000;
  await Promise.all(pending);
  const until = Date.now() + pace.drainMs;
  while (latencies.length < prepared.length - failed && Date.now() < until) await sleep(10);
  pub.disconnect();
  sub.disconnect();
  return {
    type: 'result',
    sent: prepared.length,
    durationS,
    perSecond: prepared.length / durationS,
    latency: summarize(latencies),
    samples: latencies,
    outcomes: { accepted: latencies.length, failed },
    errors: failed,
  };
}

const silent = pino({ level: 'silent' });
const noIntents: IntentStore = {
  put: async () => undefined,
  take: async () => null,
  ping: async () => true,
};
const appliers = new WeakMap<pg.Pool, EventApplier>();

async function applyOne(pool: pg.Pool, p: Prepared): Promise<void> {
  let applier = appliers.get(pool);
  if (!applier) {
    // One transaction per event, as many at once as there are connections: the statements of
    // one webhook, issued directly (the app may group several webhooks into one commit).
    applier = new EventApplier({
      pool,
      intents: noIntents,
      logger: silent,
      maxBatch: 1,
      maxInFlight: pool.options.max,
    });
    appliers.set(pool, applier);
  }
  const r = await applier.ingest({
    provider: p.e.provider,
    dedupeKey: p.dedupeKey,
    headers: JSON.parse(p.headers) as Record<string, string>,
    body: p.body,
    event: p.event,
  });
  if (r.status !== 'accepted' || r.result.outcome !== 'applied')
    throw new Error(`baseline event not applied: ${JSON.stringify(r)}`);
}
