import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { decide, moneyFor } from '../src/domain/apply-rules.js';
import type { DepositStatus, RejectionReason } from '../src/domain/deposit-status.js';
import type { NormalizedEvent } from '../src/domain/events.js';
import { OUTBOX_NOTIFY_CHANNEL } from '../src/store/outbox.store.js';
import { layer1 } from '../src/providers/layer1.provider.js';
import { sandbox } from '../src/providers/sandbox.provider.js';
import { receive, reply, runTool, sleep, summarize, wallMs, type Message } from './common.js';
import { signedRequest, type PlannedEvent } from './events.js';
import type { IngestResult } from './load-ingest.js';

// The provider modules under the names these tests were written with.
const parseLayer1Event = layer1.parse;
const parseSandboxEvent = sandbox.parse;

/**
 * The baseline of scenario 1: the SQL statements one webhook needs, issued directly with
 * `pg` at the same concurrency, one transaction per event (`applyOne` below, written out
 * here so that no change to the app can move it): no HTTP, no signature check, no ORM, no
 * Redis, no logging; payloads are parsed before the clock starts. What is left is the
 * database's own cost plus the rules: the floor of a one-webhook-one-transaction design.
 * The app may do better than this by grouping webhooks into shared statements and commits.
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

/**
 * One webhook, one transaction, the fewest statements a careful hand-written implementation
 * issues for it: begin; the inbox insert joined with the deposit row locked; the rules (the
 * app's pure `decide`); one statement of data-modifying CTEs; commit. Written out here, not
 * borrowed from the app, so that no change to the app can move its own baseline.
 */
async function applyOne(pool: pg.Pool, p: Prepared): Promise<void> {
  const e = p.event;
  if (e.kind !== 'deposit' || e.ref.by !== 'id') throw new Error('baseline events are deposit events by id');
  const c = await pool.connect();
  try {
    await c.query('begin');
    const rows = await c.query<DepositRow & { inbox_id: string; received_at: Date }>(
      `with d as materialized (select ${DEPOSIT_COLUMNS} from deposit d where id = $5 and provider = $1 for update),
       stored as (
         insert into webhook_inbox (provider, dedupe_key, headers, body)
         select $1, $2, $3, $4 from (select count(*) from d) locked
         on conflict (provider, dedupe_key) do nothing returning id, received_at)
       select stored.id as inbox_id, stored.received_at, d.* from stored left join d on true`,
      [p.e.provider, p.dedupeKey, p.headers, p.body, e.ref.depositId],
    );
    const row = rows.rows[0];
    if (!row?.id) throw new Error(`baseline event not stored or unmatched: ${p.dedupeKey}`);
    const decision = decide(
      {
        status: row.status,
        currency: row.currency,
        amount: row.amount,
        minAmount: row.min_amount,
        maxAmount: row.max_amount,
        expiresAt: new Date(row.expires_at),
        rejectionReason: row.rejection_reason,
      },
      e,
      row.received_at,
      new Date(),
    );
    const patch = Object.entries(decision.patch);
    if (patch.length === 0) throw new Error(`baseline event changed nothing: ${p.dedupeKey}`);
    const money = moneyFor({ currency: row.currency }, e);
    const params: unknown[] = [];
    const v = (x: unknown) => `$${params.push(x)}`;
    const ctes = [
      `ev as (insert into deposit_event (id, deposit_id, inbox_id, status, provider_status, amount, currency, tx_hash,
         network, fee, occurred_at, received_at)
       values (${[
         randomUUID(),
         row.id,
         row.inbox_id,
         e.status,
         e.providerStatus,
         money?.amount ?? null,
         money?.currency ?? null,
         e.txHash ?? null,
         e.network ?? null,
         e.fee ?? null,
         e.occurredAt ?? row.received_at,
         row.received_at,
       ]
         .map(v)
         .join(', ')})
       on conflict (inbox_id) do nothing)`,
      `inbox as (update webhook_inbox set processed_at = now(), outcome = 'applied', deposit_id = ${v(row.id)},
         error = null, attempts = attempts + 1 where id = ${v(row.inbox_id)})`,
      `upd as (update deposit set ${patch.map(([k, x]) => `${COLUMN[k as keyof typeof COLUMN]} = ${v(x ?? null)}`).join(', ')},
         updated_at = now() where id = ${v(row.id)})`,
    ];
    if (decision.changes.length > 0) {
      const values = decision.changes.map(
        (ch) => `(${[row.tenant_id, row.id, row.user_id, ch.to, ch.from].map(v).join(', ')})`,
      );
      ctes.push(
        `ob as (insert into outbox (tenant_id, deposit_id, user_id, status, previous_status) values ${values.join(', ')})`,
      );
    }
    if (decision.credit) {
      const { amount, currency } = decision.credit;
      ctes.push(
        // The balance is Postgres's (trigger ledger_entry_post): the entry is the whole write.
        `led as (insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount, kind)
           select ${[randomUUID(), row.id, row.tenant_id, row.user_id, currency, amount].map(v).join(', ')}, 'DEPOSIT'
           where not exists (select 1 from ledger_entry where deposit_id = ${v(row.id)} and kind <> 'REVERSAL')
           returning amount)`,
      );
    }
    const notify = decision.changes.length > 0 ? `, pg_notify(${v(OUTBOX_NOTIFY_CHANNEL)}, '')` : '';
    await c.query(`with ${ctes.join(',\n')} select 1${notify}`, params);
    await c.query('commit');
  } catch (err) {
    await c.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

interface DepositRow {
  id: string;
  tenant_id: string;
  user_id: string;
  currency: string;
  amount: string | null;
  min_amount: string | null;
  max_amount: string | null;
  status: DepositStatus;
  rejection_reason: RejectionReason | null;
  expires_at: Date;
}

const DEPOSIT_COLUMNS = `d.id, d.tenant_id, d.user_id, d.currency, d.amount, d.min_amount, d.max_amount, d.status,
  d.rejection_reason, d.expires_at`;

const COLUMN = {
  status: 'status',
  receivedAmount: 'received_amount',
  receivedCurrency: 'received_currency',
  paymentState: 'payment_state',
  rejectionReason: 'rejection_reason',
} as const;
