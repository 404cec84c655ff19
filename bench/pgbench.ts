import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { applyPatch, decide, moneyFor } from '../src/domain/apply-rules.js';
import { DepositStatus } from '../src/domain/deposit-status.js';
import type { NormalizedEvent } from '../src/domain/events.js';
import { layer1 } from '../src/providers/layer1.provider.js';
import { sandbox } from '../src/providers/sandbox.provider.js';
import { BatchStatement } from '../src/store/batch-statement.js';
import { addDepositUpdates, type DepositRecord } from '../src/store/deposits.store.js';
import { addInboxOutcomes, storeAndLock } from '../src/store/inbox.store.js';
import { addCredits } from '../src/store/ledger.store.js';
import { addStatusChanges } from '../src/store/outbox.store.js';
import { addTimelineEntries } from '../src/store/timeline.store.js';
import { summarize, type LatencySummary } from './common.js';
import { DEPOSIT_TERMS, LAYER1_STEPS, signedRequest, type BenchProvider } from './events.js';

/**
 * The physical limit of scenario 1: the sidecar's own SQL for one webhook, run by Debian's
 * `pgbench`, so that no client code (no Node, no `pg`, no rules) sits in the baseline.
 *
 * The statements are the app's, taken from its stores when the bench runs (never copied
 * here): the transaction the applier runs for a batch of one event (`EventApplier.runBatch`):
 * `begin`; `storeAndLock` (store the delivery, lock its deposit, read it back: `\gset`); the
 * one statement the stores compose (timeline, inbox outcome, deposit update, outbox + NOTIFY
 * + merchant deliveries, ledger credit); `commit`. They are built by calling the stores with
 * a client that records instead of sending, on a deposit whose fields are sentinels; the
 * sentinels become pgbench expressions (the deposit id from the client's counter, the inbox
 * id and receipt time from the `\gset`), every other parameter a `-D` variable, so Postgres
 * sees the same statement texts with the same parameters as from the app (prepared, generic
 * plans as the applier sets them). What pgbench does not do: the rules (each script carries
 * the decision the app's `decide` takes for its step, computed when the scripts are written),
 * the Redis GETDEL of a deposit's first event, and group commit (a batch is always one event).
 * Every transaction of a step stores the same body and headers (one signed request of that step, its
 * deposit id a sentinel): the same bytes per row as the app stores, not the deposit's own id in them.
 *
 * The mix is scenario 1's: one script per layer1 step (DETECTED … COMPLETED) and one for a
 * sandbox PAID, equal weights; each script's deposits are seeded in the status before its
 * step (with what the earlier steps wrote), so every transaction is a valid status change of
 * a deposit of its own.
 */

export interface PgbenchOptions {
  db: pg.Pool;
  /** The bench database's URL (pgbench gets host, port, user and name from it). */
  dbUrl: string;
  tenantId: string;
  /** Where the scripts and the per-transaction logs go. */
  dir: string;
  clients: number;
  /** Events (transactions) of the warm-up and of each measured round. */
  warmupEvents: number;
  events: number;
  rounds: number;
  log: (msg: string) => void;
}

export interface PgbenchRound {
  perSecond: number;
  transactions: number;
  failed: number;
  seconds: number;
}

export interface PgbenchResult {
  /** Transactions (events) per second over the measured rounds. */
  perSecond: number;
  latency: LatencySummary;
  events: number;
  rounds: PgbenchRound[];
  /** The pgbench command line of a measured round (variables elided). */
  command: string;
}

const PGBENCH = '/usr/lib/postgresql/15/bin/pgbench';

/** Sentinels the statements are built with, and the pgbench expression each becomes. */
const S = {
  depositId: 'ffffffff-ffff-4fff-bfff-ffffffff0001',
  userId: 'pgbench-user-sentinel',
  dedupeKey: 'pgbench-key-sentinel',
  inboxId: '999999999999001',
  receivedAt: '2001-01-01T00:00:00.000Z',
};
const EXPR: Record<string, string> = {
  [S.depositId]: 'pgb_uuid(:k)',
  [S.userId]: `('pgb-' || :k)`,
  [S.dedupeKey]: `('pgb-' || :k)`,
  [S.inboxId]: ':p_inbox_id',
  [S.receivedAt]: ':p_received_at',
};

/** One provider event of the mix: its script, its deposits' status before it, and their count. */
interface Step {
  name: string;
  provider: BenchProvider;
  event: NormalizedEvent;
  body: string;
  headers: Record<string, string>;
  /** The deposit as the previous steps left it. */
  before: DepositRecord;
}

function steps(tenantId: string): Step[] {
  const base = (provider: BenchProvider): DepositRecord => ({
    id: S.depositId,
    tenantId,
    userId: S.userId,
    provider,
    currency: DEPOSIT_TERMS[provider].currency,
    amount: DEPOSIT_TERMS[provider].amount,
    minAmount: null,
    maxAmount: null,
    receivedAmount: null,
    receivedCurrency: null,
    paymentState: null,
    status: DepositStatus.PENDING,
    rejectionReason: null,
    checkoutUrl: null,
    redirectUrl: null,
    providerRef: null,
    resolution: null,
    amountUnreported: false,
    needsAttention: false,
    expiresAt: new Date(Date.now() + 86_400_000),
    createdAt: new Date(),
    updatedAt: new Date(),
  });
  const make = (provider: BenchProvider, fixture: string, before: DepositRecord, name: string): Step => {
    const r = signedRequest({ provider, depositId: S.depositId, status: '', completes: false, fixture });
    const event = (provider === 'layer1' ? layer1 : sandbox).parse(Buffer.from(r.body));
    const headers = {
      'content-type': r.headers['content-type'],
      'webhook-id': r.headers['webhook-id'],
      'webhook-timestamp': r.headers['webhook-timestamp'],
      'webhook-signature': r.headers['webhook-signature'],
    };
    return { name, provider, event, body: r.body, headers, before };
  };
  const out: Step[] = [];
  let d = base('layer1');
  for (const [i, s] of LAYER1_STEPS.entries()) {
    const step = make('layer1', s.file, d, `layer1-${i + 1}-${s.status.toLowerCase()}`);
    out.push(step);
    if (step.event.kind !== 'deposit') throw new Error(`${s.file} is not a deposit event`);
    d = applyPatch(d, decide(d, step.event, new Date(), new Date()).patch);
  }
  out.push(make('sandbox', 'sandbox/paid.json', base('sandbox'), 'sandbox-paid'));
  return out;
}

/** A client that records the statements the stores send and answers nothing. */
function recorder(): { client: pg.PoolClient; sent: { text: string; values: unknown[] }[] } {
  const sent: { text: string; values: unknown[] }[] = [];
  const client = {
    query: async (q: { text: string; values?: unknown[] }) => {
      sent.push({ text: q.text, values: q.values ?? [] });
      return { rows: [] };
    },
  } as unknown as pg.PoolClient;
  return { client, sent };
}

/** The app's two statements for one event of `step`, as the applier composes them for a batch of one. */
async function appStatements(step: Step): Promise<{ text: string; values: unknown[] }[]> {
  const { client, sent } = recorder();
  const e = step.event;
  if (e.kind !== 'deposit') throw new Error(`${step.name}: not a deposit event`);
  await storeAndLock(client, [
    { provider: step.provider, dedupeKey: S.dedupeKey, headers: step.headers, body: step.body, ref: e.ref },
  ]);
  const deposit = step.before;
  const stored = { inboxId: S.inboxId, receivedAt: new Date(S.receivedAt) };
  const decision = decide(deposit, e, new Date(), new Date());
  if (decision.changes.length === 0) throw new Error(`${step.name}: the event changes nothing`);
  const after = applyPatch(deposit, decision.patch);
  const statement = new BatchStatement('apply-batch');
  addTimelineEntries(statement, [{ deposit, stored, event: e, money: moneyFor(deposit, e) }]);
  addInboxOutcomes(statement, [{ inboxId: S.inboxId, outcome: 'applied', depositId: deposit.id }]);
  addDepositUpdates(statement, [after]);
  addStatusChanges(
    statement,
    decision.changes.map((ch) => ({ deposit, ...ch })),
  );
  addCredits(statement, decision.credit ? [{ deposit, ...decision.credit }] : []);
  await statement.run(client);
  return sent;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A statement with its `$n` replaced: a value holding a sentinel (or a fresh UUID, which the
 * app makes per event) becomes an expression, any other a `-D` variable of its own.
 */
function toScript(
  text: string,
  values: unknown[],
  tenantId: string,
  vars: Map<string, string>,
  prefix: string,
): string {
  const element = (v: unknown): string | undefined => {
    if (typeof v !== 'string') return undefined;
    if (EXPR[v]) return EXPR[v];
    if (UUID.test(v) && v !== tenantId) return 'gen_random_uuid()';
    return undefined;
  };
  const replaced = values.map((v, i) => {
    if (Array.isArray(v)) {
      const exprs = v.map(element);
      if (exprs.some((x) => x !== undefined)) {
        return `array[${v.map((x, j) => exprs[j] ?? literal(x)).join(', ')}]`;
      }
      const name = `${prefix}_${i + 1}`;
      vars.set(name, arrayLiteral(v));
      return `:${name}`;
    }
    const expr = element(v);
    if (expr) return expr;
    const name = `${prefix}_${i + 1}`;
    vars.set(name, String(v));
    return `:${name}`;
  });
  return text.replace(/\$(\d+)/g, (_, n: string) => replaced[Number(n) - 1]);
}

/** A SQL literal, for a constant beside an expression in one array. */
function literal(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  if (/:[A-Za-z_]/.test(s)) throw new Error(`a literal pgbench would read as a variable: ${s}`);
  return `'${s.replace(/'/g, "''")}'`;
}

/** Postgres's text form of a one-dimensional array (what `pg` sends for a JS array). */
function arrayLiteral(v: unknown[]): string {
  const el = (x: unknown) =>
    x === null || x === undefined ? 'NULL' : `"${String(x).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return `{${v.map(el).join(',')}}`;
}

/** Deposit ids pgbench can compute from an integer: `pgb_uuid(k)`, inlined by the planner. */
const UUID_FUNCTION = `create or replace function pgb_uuid(k bigint) returns uuid language sql immutable parallel safe
  as $$ select ('00000000-0000-4000-8000-' || lpad(k::text, 12, '0'))::uuid $$`;

/**
 * Seeds `perClient` deposits per client for every step, in the status the step expects,
 * keys `base + client × perClient + n` (n from 1). @returns the first key of each step.
 */
async function seedSteps(o: PgbenchOptions, all: Step[], firstKey: number, perClient: number): Promise<number[]> {
  const bases: number[] = [];
  let base = firstKey;
  for (const s of all) {
    bases.push(base);
    const d = s.before;
    await o.db.query(
      `insert into deposit (id, tenant_id, user_id, provider, currency, amount, status, received_amount,
         received_currency, payment_state, rejection_reason, amount_unreported, expires_at)
       select pgb_uuid(k), $1, 'pgb-' || k, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + interval '1 day'
       from generate_series($11::bigint, $12::bigint) k`,
      [
        o.tenantId,
        d.provider,
        d.currency,
        d.amount,
        d.status,
        d.receivedAmount ?? null,
        d.receivedCurrency ?? null,
        d.paymentState ?? null,
        d.rejectionReason ?? null,
        d.amountUnreported ?? false,
        base + 1,
        base + o.clients * perClient,
      ],
    );
    base += o.clients * perClient + 1;
  }
  return bases;
}

function pgbenchRun(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PGBENCH, args, { env, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`pgbench failed: ${err.message}\n${stderr}`));
      else resolve(`${stdout}\n${stderr}`);
    });
  });
}

/** Latencies (ms) of the transactions pgbench logged with `--log-prefix=prefix`, failures excluded. */
function loggedLatencies(dir: string, prefix: string): { ms: number[]; failed: number } {
  const ms: number[] = [];
  let failed = 0;
  for (const f of readdirSync(dir).filter((x) => x.startsWith(`${prefix}.`))) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const field = line.split(' ')[2];
      if (field === undefined) continue;
      if (field === 'failed' || field === 'skipped') failed++;
      else ms.push(Number(field) / 1000);
    }
  }
  return { ms, failed };
}

/**
 * Writes the scripts, seeds their deposits, runs pgbench once as a warm-up and `rounds` times
 * measured, and checks that every measured transaction moved its deposit.
 */
export async function runPgbench(o: PgbenchOptions): Promise<PgbenchResult> {
  const all = steps(o.tenantId);
  await o.db.query(UUID_FUNCTION);
  const vars = new Map<string, string>();
  const url = new URL(o.dbUrl);
  const env = {
    ...process.env,
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username) || 'postgres',
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: url.pathname.slice(1),
    // What the applier sets in each transaction (`inTransaction(..., { genericPlans: true })`), per session here.
    PGOPTIONS: '-c plan_cache_mode=force_generic_plan',
  };
  const latencies: number[] = [];
  const rounds: PgbenchRound[] = [];
  let command = '';
  let key = 0;
  for (let r = 0; r <= o.rounds; r++) {
    const measured = r > 0;
    const total = measured ? o.events : o.warmupEvents;
    const perClientTx = Math.ceil(total / o.clients);
    // Scripts are picked at random by weight: each one's deposits per client cover far more than its expected share.
    const perClient = Math.ceil((perClientTx / all.length) * 2) + 20;
    const bases = await seedSteps(o, all, key, perClient);
    key += all.length * (o.clients * perClient + 1);
    await o.db.query('analyze deposit');
    const files: string[] = [];
    for (const [i, s] of all.entries()) {
      const [store, apply] = await appStatements(s);
      const counter = `n${i + 1}`;
      vars.set(counter, '0');
      const script = [
        `-- ${s.name}: the app's statements for one event (bench/pgbench.ts)`,
        `\\set ${counter} :${counter} + 1`,
        `\\set k ${bases[i]} + :client_id * ${perClient} + :${counter}`,
        'begin;',
        `${toScript(store.text, store.values, o.tenantId, vars, `s${i + 1}`)}\n\\gset p_`,
        `${toScript(apply.text, apply.values, o.tenantId, vars, `a${i + 1}`)};`,
        'commit;',
        '',
      ].join('\n');
      const file = path.join(o.dir, `pgbench-${s.name}.sql`);
      writeFileSync(file, script);
      files.push(file);
    }
    const logPrefix = `pgbench-log-${r}`;
    const args = [
      '--no-vacuum',
      `--client=${o.clients}`,
      '--jobs=2',
      `--transactions=${perClientTx}`,
      '--protocol=prepared',
      '--log',
      `--log-prefix=${path.join(o.dir, logPrefix)}`,
      ...files.flatMap((f) => ['-f', `${f}@1`]),
    ];
    command = `pgbench ${args
      .filter((a) => !a.startsWith('--log-prefix'))
      .map((a) => path.basename(a))
      .join(' ')} -D …`;
    const out = await pgbenchRun([...args, ...[...vars].flatMap(([k, v]) => ['-D', `${k}=${v}`])], env);
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? NaN);
    const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(out);
    const done = Number(processed?.[1] ?? 0);
    const got = loggedLatencies(o.dir, logPrefix);
    o.log(
      `  pgbench ${measured ? `round ${r}` : 'warm-up'}: ${tps.toFixed(0)} tps, ${done} transactions, ${got.failed} failed`,
    );
    if (done !== o.clients * perClientTx || got.failed > 0) throw new Error(`pgbench: ${processed?.[0]}\n${out}`);
    // Every transaction moved a deposit of its step out of its seeded status, or the scripts are wrong.
    let moved = 0;
    for (const [i, s] of all.entries()) {
      const n = await o.db.query<{ n: number }>(
        `select count(*)::int as n from deposit where id = any(array(select pgb_uuid(k)
           from generate_series($1::bigint, $2::bigint) k)) and status <> $3`,
        [bases[i] + 1, bases[i] + o.clients * perClient, s.before.status],
      );
      moved += n.rows[0].n;
    }
    if (moved !== done) throw new Error(`pgbench: ${done} transactions moved ${moved} deposits`);
    if (!measured) continue;
    latencies.push(...got.ms);
    rounds.push({ perSecond: tps, transactions: done, failed: got.failed, seconds: done / tps });
  }
  await o.db.query('delete from outbox where published_at is null');
  const events = rounds.reduce((s, x) => s + x.transactions, 0);
  const seconds = rounds.reduce((s, x) => s + x.seconds, 0);
  return { perSecond: events / seconds, latency: summarize(latencies), events, rounds, command };
}

const fmt0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const fmt2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

/** Scenario 1's row for the pgbench baseline in the results table (the app's rate against it). */
export function pgbenchRow(p: PgbenchResult, appPerSecond: number, clients: number): string {
  return (
    `| 1 | webhook ingest against pgbench: the app's statements for one webhook, no client code (${clients} clients, ${fmt0(p.events)} transactions) ` +
    `| ${fmt0(appPerSecond)} /s | pgbench: ${fmt0(p.perSecond)} /s, p50 / p99 ${fmt2(p.latency.p50)} / ${fmt2(p.latency.p99)} ms ` +
    `| ${fmt2(appPerSecond / p.perSecond)} | | |`
  );
}

/** The Details paragraph of the pgbench baseline. */
export function pgbenchDetail(p: PgbenchResult): string {
  return (
    `- **pgbench** (scenario 1, the physical limit). Debian's pgbench 15 runs the sidecar's own statements for one webhook ` +
    '(bench/pgbench.ts builds them when the bench runs by calling the stores the applier composes, with a recording client: ' +
    '`begin`; `storeAndLock` with `\\gset`; the one statement of timeline, inbox outcome, deposit update, outbox + NOTIFY + merchant ' +
    'deliveries and ledger credit; `commit`), prepared, with generic plans as the applier sets them, one script per step of ' +
    "scenario 1's mix (five layer1 steps and a sandbox PAID, equal weights), each on deposits of its own seeded in the status " +
    'before the step; every transaction is checked to have moved its deposit. No Node, no `pg`, no rules (the decision is ' +
    'written into each script), no Redis GETDEL, and no group commit: one event per transaction, as at a batch of one. ' +
    `Per round (transactions/s): ${p.rounds.map((x) => fmt0(x.perSecond)).join('; ')}. \`${p.command}\`. ` +
    'The sidecar batches concurrent webhooks into shared statements and commits, so it can exceed this rate.'
  );
}
