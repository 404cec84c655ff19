import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { decide, moneyFor, type Decision, type DepositSnapshot } from '../domain/apply-rules.js';
import { DepositStatus, type PaymentState, type RejectionReason } from '../domain/deposit-status.js';
import type {
  DepositEventInput,
  NormalizedEvent,
  VerificationEventInput,
  WalletBalanceEventInput,
} from '../domain/events.js';
import type { IntentStore } from '../bus/intent-store.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { isStorageUnavailable } from '../db/errors.js';
import { isUuid } from './deposits.service.js';
import { OUTBOX_NOTIFY_CHANNEL } from './outbox-relay.js';

/** A verified event as stored in the inbox, normalized by its adapter. */
export interface StoredEvent {
  inboxId: string;
  provider: string;
  receivedAt: Date;
  event: NormalizedEvent;
  /** The webhook request that delivered it (its log lines carry the same id); absent for replays. */
  requestId?: string;
}

/** A verified webhook not stored yet: what the sidecar's route hands over. */
export interface IncomingEvent {
  provider: string;
  dedupeKey: string;
  headers: Record<string, string>;
  body: string;
  event: NormalizedEvent;
  requestId?: string;
}

export type ApplyOutcome = 'applied' | 'unchanged' | 'unmatched' | 'unsupported' | 'skipped';

export interface ApplyResult {
  outcome: ApplyOutcome;
  depositId?: string;
  changes: Decision['changes'];
  credited?: { amount: string; currency: string };
}

export type IngestResult = { status: 'duplicate' } | { status: 'accepted'; inboxId: string; result: ApplyResult };

export interface EventApplierDeps {
  /** The pool MikroORM manages (same limits and timeouts); the hot path speaks SQL to it directly. */
  pool: pg.Pool;
  intents: IntentStore;
  logger: Logger;
  metrics?: Metrics;
  /** Called after a commit that wrote outbox rows: wakes the relay in this process. */
  onOutboxWritten?: () => void;
  /** The clock (tests move it). */
  now?: () => Date;
  /** Group commit: events per transaction at most (1: a transaction each, as the benchmark's baseline). */
  maxBatch?: number;
  /** Group commit: transactions running at once; keep it under the pool size. */
  maxInFlight?: number;
}

interface Pending {
  e: IncomingEvent;
  started: bigint;
  /** Epoch ms after which the request has answered 503 already: not worth storing any more. */
  deadline?: number;
  resolve: (r: IngestResult) => void;
  reject: (err: unknown) => void;
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
  received_amount: string | null;
  received_currency: string | null;
  payment_state: PaymentState | null;
  rejection_reason: RejectionReason | null;
  /** As Postgres prints it (MikroORM's type parsers on this pool). */
  expires_at: string;
}

/** One event ready for the rules: stored, and its deposit (if it has one) locked. */
interface Locked {
  stored: StoredEvent;
  deposit?: DepositRow;
}

const DEPOSIT_COLUMNS = `d.id, d.tenant_id, d.user_id, d.currency, d.amount, d.min_amount, d.max_amount, d.status,
  d.received_amount, d.received_currency, d.payment_state, d.rejection_reason, d.expires_at`;

/**
 * Applies events in one transaction per batch: lock the deposit rows (concurrent deliveries
 * for one deposit serialize here), take the Redis intent on a deposit's first notification,
 * run the pure rules event by event, then write the timelines, the deposits, one outbox row
 * per status change, the credits (unique per deposit) and the inbox outcomes in one
 * statement. Safe to run any number of times for the same event.
 *
 * The request path (`ingest`) also stores the events in that transaction: begin, one
 * statement that stores the batch and locks its deposits, one that writes it, commit: four
 * round trips and one commit whether the batch holds one webhook or thirty-two. Both
 * statements are prepared once per connection and run with generic plans (no planning per
 * batch). If applying fails for any reason but storage, each event is stored alone and the
 * inbox processor applies it later: accepted always means stored.
 */
export class EventApplier {
  constructor(private readonly d: EventApplierDeps) {}

  /**
   * Stores and applies a verified webhook (the request path). Concurrent calls share a
   * transaction (group commit): while `maxInFlight` transactions are running, newcomers
   * queue, and the next transaction takes up to `maxBatch` of them, in arrival order. At
   * low load every call has a transaction of its own at once; under load a commit serves
   * many. A batch that fails is retried call by call, so one bad event costs only itself.
   */
  ingest(e: IncomingEvent, opts: { deadline?: number } = {}): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ e, started: process.hrtime.bigint(), deadline: opts.deadline, resolve, reject });
      this.drain();
    });
  }

  private readonly queue: Pending[] = [];
  private inFlight = 0;

  private drain(): void {
    const maxInFlight = this.d.maxInFlight ?? 4;
    const maxBatch = this.d.maxBatch ?? 32;
    while (this.inFlight < maxInFlight && this.queue.length > 0) {
      // Under overload, events whose request already gave up (503) are not stored late: the
      // provider retries them, and the work goes to requests that can still be answered.
      const now = Date.now();
      for (let i = this.queue.length - 1; i >= 0; i--) {
        const p = this.queue[i];
        if (p.deadline !== undefined && p.deadline <= now) {
          this.queue.splice(i, 1);
          p.reject(new Error('timeout: the request gave up before its event was stored'));
        }
      }
      const batch = this.queue.splice(0, maxBatch);
      if (batch.length === 0) break;
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  private async runBatch(batch: Pending[], attempt = 1): Promise<void> {
    const now = this.d.now?.() ?? new Date();
    let results: IngestResult[];
    try {
      results = await this.inTransaction(async (c) => {
        const locked = await this.storeAll(
          c,
          batch.map((p) => p.e),
        );
        // Copies of an event stored by this batch or before it are duplicates; the rest apply.
        const fresh = locked.filter((l): l is Locked => l !== 'duplicate');
        const applied = (await this.applyAll(c, fresh, now)).values();
        return locked.map((l) =>
          l === 'duplicate'
            ? ({ status: 'duplicate' } as const)
            : { status: 'accepted' as const, inboxId: l.stored.inboxId, result: applied.next().value! },
        );
      });
    } catch (err) {
      if (batch.length === 1 && isTransient(err) && attempt < 4) {
        // Postgres aborted this transaction for another's sake. The lock order of `storeAll`
        // makes that rare (two batches' verification upserts could still cross): run it again.
        this.d.logger.info(
          { provider: batch[0].e.provider, attempt, code: (err as { code?: string }).code },
          'transaction aborted for another; retrying',
        );
        await this.runBatch(batch, attempt + 1);
        return;
      }
      if (batch.length > 1 && !isStorageUnavailable(err)) {
        // One event (or a deadlock between batches) spoiled the transaction: each on its own,
        // one after the other (in this slot: a burst of retries must not drain the pool).
        for (const p of batch) await this.runBatch([p]);
        return;
      }
      for (const p of batch) this.storeWithoutApplying(p, err).then(p.resolve, p.reject);
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if (r.status === 'accepted') this.observe(p.e.provider, p.started, r.result);
      p.resolve(r);
    });
  }

  /**
   * Stores a batch and locks its deposits in one statement. Locks are taken in one global
   * order, deposits by id and then inbox keys by (provider, key), and the inserts wait for
   * every deposit lock (they read the lock's result): transactions sharing deposits or
   * copies of one message wait for each other but never in a circle. A copy of a message
   * another transaction is storing queues behind its deposit lock and then finds it stored.
   * @returns per event: what was stored and its locked deposit, or 'duplicate'.
   */
  private async storeAll(c: pg.PoolClient, events: IncomingEvent[]): Promise<(Locked | 'duplicate')[]> {
    const refs = events.map((e) => (e.event.kind === 'deposit' ? depositRef(e.event) : undefined));
    const rows = await c.query<
      { inbox_id: string; inbox_provider: string; inbox_key: string; received_at: string } & Partial<DepositRow>
    >({
      name: 'store-batch',
      text: `with input as (
         select * from unnest($1::text[], $2::text[], $3::jsonb[], $4::text[], $5::uuid[], $6::text[])
           with ordinality as i(provider, dedupe_key, headers, body, ref_id, ref_pref, n)),
       ids as (
         select id from deposit where id = any($5::uuid[])
         union select d.id from input i join deposit d on d.provider = i.provider and d.provider_ref = i.ref_pref),
       d as materialized (
         select ${DEPOSIT_COLUMNS}, d.provider, d.provider_ref from deposit d
         where d.id = any(array(select id from ids)) order by d.id for update),
       stored as (
         insert into webhook_inbox (provider, dedupe_key, headers, body)
         select provider, dedupe_key, headers, body from input, (select count(*) from d) locked
         order by provider, dedupe_key, n
         on conflict (provider, dedupe_key) do nothing returning id, provider, dedupe_key, received_at)
       select distinct on (s.id) s.id as inbox_id, s.provider as inbox_provider, s.dedupe_key as inbox_key,
         s.received_at, ${DEPOSIT_COLUMNS}
       from stored s join input i on i.provider = s.provider and i.dedupe_key = s.dedupe_key
       left join d on d.provider = i.provider and (d.id = i.ref_id or d.provider_ref = i.ref_pref)
       order by s.id, i.n`,
      values: [
        events.map((e) => e.provider),
        events.map((e) => e.dedupeKey),
        events.map((e) => JSON.stringify(e.headers)),
        events.map((e) => e.body),
        refs.map((r) => (r?.by === 'id' ? r.depositId : null)),
        refs.map((r) => (r?.by === 'providerRef' ? r.providerRef : null)),
      ],
    });
    const byKey = new Map(rows.rows.map((r) => [`${r.inbox_provider}\u0000${r.inbox_key}`, r]));
    return events.map((e) => {
      const key = `${e.provider}\u0000${e.dedupeKey}`;
      const row = byKey.get(key);
      // The first of several copies in one batch is stored (its body, its deposit: the
      // statement orders copies by their place in the batch); the others are its duplicates.
      if (!row) return 'duplicate';
      byKey.delete(key);
      return {
        stored: {
          inboxId: String(row.inbox_id),
          provider: e.provider,
          receivedAt: new Date(row.received_at),
          event: e.event,
          requestId: e.requestId,
        },
        deposit: row.id ? (row as DepositRow) : undefined,
      };
    });
  }

  /**
   * Applying failed for a reason other than storage (the rules' writes were refused): the
   * event is kept anyway, acknowledged = stored, and the inbox processor retries it. When
   * storage itself is the problem nothing is acknowledged (503).
   */
  private async storeWithoutApplying(p: Pending, err: unknown): Promise<IngestResult> {
    if (isStorageUnavailable(err)) throw err;
    const { e } = p;
    this.d.logger.warn({ provider: e.provider, err: (err as Error).message }, 'event stored without applying it');
    const stored = await this.d.pool.query<{ id: string }>(
      `insert into webhook_inbox (provider, dedupe_key, headers, body, error) values ($1, $2, $3, $4, $5)
       on conflict (provider, dedupe_key) do nothing returning id`,
      [e.provider, e.dedupeKey, JSON.stringify(e.headers), e.body, (err as Error).message],
    );
    if (stored.rows.length === 0) return { status: 'duplicate' };
    return { status: 'accepted', inboxId: String(stored.rows[0].id), result: { outcome: 'skipped', changes: [] } };
  }

  /**
   * Applies an event that is already stored (the inbox processor, `npm run replay`).
   * @param force re-apply even if the inbox row is marked processed (replay after a fix).
   */
  async apply(stored: StoredEvent, opts: { force?: boolean } = {}): Promise<ApplyResult> {
    const started = process.hrtime.bigint();
    const now = this.d.now?.() ?? new Date();
    const result = await this.inTransaction(async (c) => {
      // The inbox row lock makes the request path and the background processor take turns.
      const claim = await c.query(
        `select id from webhook_inbox where id = $1 ${opts.force ? '' : 'and processed_at is null'} for update skip locked`,
        [stored.inboxId],
      );
      if (claim.rows.length === 0) return { outcome: 'skipped', changes: [] } satisfies ApplyResult;
      let deposit: DepositRow | undefined;
      const ref = stored.event.kind === 'deposit' ? depositRef(stored.event) : undefined;
      if (ref) {
        const rows = await c.query<DepositRow>(
          `select ${DEPOSIT_COLUMNS} from deposit d
           where ${ref.by === 'id' ? 'd.id' : 'd.provider_ref'} = $1 and d.provider = $2 for update`,
          [ref.by === 'id' ? ref.depositId : ref.providerRef, stored.provider],
        );
        deposit = rows.rows[0];
      }
      return (await this.applyAll(c, [{ stored, deposit }], now))[0];
    });
    this.observe(stored.provider, started, result);
    return result;
  }

  private observe(provider: string, started: bigint, result: ApplyResult): void {
    this.d.metrics?.webhookApplySeconds.observe({ provider }, Number(process.hrtime.bigint() - started) / 1e9);
    if (result.changes.length > 0) {
      for (const c of result.changes) this.d.metrics?.depositsTotal.inc({ status: c.to });
      this.d.onOutboxWritten?.();
    }
  }

  private async inTransaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.d.pool.connect();
    let broken = false;
    try {
      // Generic plans for the prepared statements (their shape, not their arrays, decides the
      // plan): without it Postgres plans the CTEs anew for every batch.
      await c.query('begin; set local plan_cache_mode = force_generic_plan');
      const out = await work(c);
      await c.query('commit');
      return out;
    } catch (err) {
      broken = isStorageUnavailable(err);
      if (!broken) await c.query('rollback').catch(() => (broken = true));
      throw err;
    } finally {
      // A connection that failed mid-transaction is not handed to the next request.
      c.release(broken ? true : undefined);
    }
  }

  /**
   * Everything after the locks, for a batch: the rules event by event in arrival order (a
   * deposit's later event sees what its earlier one did), then one statement writes the
   * timeline, the deposits, one outbox row per status change, the credits (unique per
   * deposit) with the balances, and every inbox outcome. Safe to run again for an event.
   */
  private async applyAll(c: pg.PoolClient, batch: Locked[], now: Date): Promise<ApplyResult[]> {
    const w = new BatchWrites();
    const states = new Map<string, DepositState>();
    // The first notification of a PENDING deposit takes its Redis intent (the seed's guard).
    const pending = new Map<string, DepositRow>();
    for (const { deposit } of batch) if (deposit?.status === DepositStatus.PENDING) pending.set(deposit.id, deposit);
    await Promise.all([...pending.values()].map((row) => this.takeIntent(row)));

    const results: ApplyResult[] = [];
    const statusAfter: (DepositStatus | undefined)[] = [];
    for (const { stored, deposit } of batch) {
      const e = stored.event;
      let result: ApplyResult;
      if (e.kind === 'deposit' && deposit) {
        let state = states.get(deposit.id);
        if (!state) states.set(deposit.id, (state = DepositState.of(deposit)));
        const decision = decide(state.snapshot(), e, stored.receivedAt, now);
        const outcome: ApplyOutcome = Object.keys(decision.patch).length > 0 ? 'applied' : 'unchanged';
        const money = moneyFor({ currency: deposit.currency }, e);
        w.event(randomUUID(), deposit.id, stored.inboxId, e, money, stored.receivedAt);
        state.apply(decision.patch);
        statusAfter.push(state.status);
        for (const ch of decision.changes) w.outbox(deposit, ch);
        if (decision.credit) w.credit(deposit, decision.credit);
        w.inbox(stored.inboxId, outcome, deposit.id);
        result = { outcome, depositId: deposit.id, changes: decision.changes };
        if (decision.credit) result.credited = decision.credit;
      } else {
        if (e.kind === 'verification') result = await this.applyVerification(c, e, stored.receivedAt);
        else if (e.kind === 'wallet-balance') {
          result = await this.applyWalletBalance(c, stored.provider, e, stored.receivedAt);
        } else result = { outcome: e.kind === 'unsupported' ? 'unsupported' : 'unmatched', changes: [] };
        w.inbox(stored.inboxId, result.outcome, null);
        statusAfter.push(undefined);
      }
      results.push(result);
    }
    for (const state of states.values()) if (state.dirty) w.deposit(state);

    const credited = await w.run(c);
    batch.forEach(({ stored, deposit }, i) => {
      const r = results[i];
      // A credit the ledger already held (an earlier delivery) is not a credit now.
      if (r.credited && !credited.has(r.depositId!)) delete r.credited;
      if (r.outcome === 'applied' && deposit) {
        this.d.logger.info(
          {
            reqId: stored.requestId,
            provider: stored.provider,
            inboxId: stored.inboxId,
            depositId: deposit.id,
            tenantId: deposit.tenant_id,
            status: statusAfter[i],
            changes: r.changes,
            credited: r.credited,
          },
          'event applied',
        );
      }
    });
    return results;
  }

  /** The seed's once-only guard: read-and-delete. Postgres decides; a missing intent changes nothing. */
  private async takeIntent(row: DepositRow): Promise<void> {
    try {
      const intent = await this.d.intents.take(row.id);
      if (intent && (intent.currency !== row.currency || intent.tenantId !== row.tenant_id)) {
        this.d.logger.error({ depositId: row.id }, 'redis intent disagrees with the stored deposit; postgres decides');
      }
    } catch (err) {
      this.d.logger.warn(
        { depositId: row.id, err: (err as Error).message },
        'intent not taken from redis; postgres decides',
      );
    }
  }

  /** Latest wins by the provider's time, so reordered deliveries settle on the newest verdict. */
  private async applyVerification(c: pg.PoolClient, e: VerificationEventInput, receivedAt: Date): Promise<ApplyResult> {
    const rows = await c.query(
      `insert into user_verification (user_id, status, provider_status, occurred_at) values ($1, $2, $3, $4)
       on conflict (user_id) do update set status = excluded.status, provider_status = excluded.provider_status, occurred_at = excluded.occurred_at
       where user_verification.occurred_at <= excluded.occurred_at
       returning user_id`,
      [e.userId, e.status, e.providerStatus, e.occurredAt ?? receivedAt],
    );
    return { outcome: rows.rows.length > 0 ? 'applied' : 'unchanged', changes: [] };
  }

  private async applyWalletBalance(
    c: pg.PoolClient,
    provider: string,
    e: WalletBalanceEventInput,
    receivedAt: Date,
  ): Promise<ApplyResult> {
    const rows = await c.query(
      `insert into wallet_balance (id, provider, address, asset, available, blockchain, reserved, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8)
       on conflict (provider, address, asset) do update set available = excluded.available, blockchain = excluded.blockchain,
         reserved = excluded.reserved, updated_at = excluded.updated_at
       where wallet_balance.updated_at <= excluded.updated_at
       returning id`,
      [randomUUID(), provider, e.address, e.asset, e.available, e.blockchain, e.reserved, e.occurredAt ?? receivedAt],
    );
    return { outcome: rows.rows.length > 0 ? 'applied' : 'unchanged', changes: [] };
  }
}

/**
 * How to find an event's deposit, always among that provider's deposits: by our id (only if
 * it is a UUID: anything else cannot match, and Postgres would refuse the cast) or by the
 * provider's reference.
 */
function depositRef(
  e: DepositEventInput,
): { by: 'id'; depositId: string } | { by: 'providerRef'; providerRef: string } | undefined {
  if (e.ref.by === 'id') return isUuid(e.ref.depositId) ? { by: 'id', depositId: e.ref.depositId } : undefined;
  return { by: 'providerRef', providerRef: e.ref.providerRef };
}

/** A deposit's columns the rules change, as a batch's events move it along. */
class DepositState {
  dirty = false;
  private constructor(
    readonly row: DepositRow,
    public status: DepositStatus,
    public receivedAmount: string | null,
    public receivedCurrency: string | null,
    public paymentState: PaymentState | null,
    public rejectionReason: RejectionReason | null,
  ) {}

  static of(row: DepositRow): DepositState {
    return new DepositState(
      row,
      row.status,
      row.received_amount,
      row.received_currency,
      row.payment_state,
      row.rejection_reason,
    );
  }

  snapshot(): DepositSnapshot {
    return {
      status: this.status,
      currency: this.row.currency,
      amount: this.row.amount,
      minAmount: this.row.min_amount,
      maxAmount: this.row.max_amount,
      expiresAt: new Date(this.row.expires_at),
      rejectionReason: this.rejectionReason,
    };
  }

  apply(patch: Decision['patch']): void {
    if (Object.keys(patch).length === 0) return;
    this.dirty = true;
    if ('status' in patch) this.status = patch.status!;
    if ('receivedAmount' in patch) this.receivedAmount = patch.receivedAmount ?? null;
    if ('receivedCurrency' in patch) this.receivedCurrency = patch.receivedCurrency ?? null;
    if ('paymentState' in patch) this.paymentState = patch.paymentState ?? null;
    if ('rejectionReason' in patch) this.rejectionReason = patch.rejectionReason ?? null;
  }
}

/** What one batch writes, column by column: one statement of data-modifying CTEs over arrays. */
class BatchWrites {
  private readonly ev = columns(12);
  private readonly inboxRows = columns(3);
  private readonly dep = columns(6);
  private readonly ob = columns(5);
  private readonly led = columns(5);

  event(
    id: string,
    depositId: string,
    inboxId: string,
    e: DepositEventInput,
    money: { amount: string; currency: string } | undefined,
    receivedAt: Date,
  ): void {
    push(this.ev, [
      id,
      depositId,
      inboxId,
      e.status,
      e.providerStatus.slice(0, 100),
      money?.amount ?? null,
      money?.currency ?? null,
      e.txHash?.slice(0, 200) ?? null,
      e.network?.slice(0, 100) ?? null,
      e.fee ?? null,
      (e.occurredAt ?? receivedAt).toISOString(),
      receivedAt.toISOString(),
    ]);
  }

  inbox(inboxId: string, outcome: ApplyOutcome, depositId: string | null): void {
    push(this.inboxRows, [inboxId, outcome, depositId]);
  }

  deposit(s: DepositState): void {
    push(this.dep, [s.row.id, s.status, s.receivedAmount, s.receivedCurrency, s.paymentState, s.rejectionReason]);
  }

  outbox(row: DepositRow, ch: { from: DepositStatus; to: DepositStatus }): void {
    push(this.ob, [row.tenant_id, row.id, row.user_id, ch.to, ch.from]);
  }

  credit(row: DepositRow, credit: { amount: string; currency: string }): void {
    push(this.led, [row.id, row.tenant_id, row.user_id, credit.currency, credit.amount]);
  }

  /** @returns the deposits credited by this statement. */
  async run(c: pg.PoolClient): Promise<Set<string>> {
    const params: unknown[] = [];
    const arrays = (cols: unknown[][], types: string[]) => cols.map((col, i) => `$${params.push(col)}::${types[i]}[]`);
    const ctes: string[] = [];
    if (this.ev[0].length > 0) {
      ctes.push(`ev as (insert into deposit_event (id, deposit_id, inbox_id, status, provider_status, amount, currency,
          tx_hash, network, fee, occurred_at, received_at)
        select * from unnest(${arrays(this.ev, ['uuid', 'uuid', 'bigint', 'text', 'text', 'numeric', 'text', 'text', 'text', 'numeric', 'timestamptz', 'timestamptz']).join(', ')})
        on conflict (inbox_id) do nothing)`);
    }
    ctes.push(`inbox as (update webhook_inbox w set processed_at = now(), outcome = v.outcome, deposit_id = v.deposit_id,
        error = null, attempts = w.attempts + 1
      from unnest(${arrays(this.inboxRows, ['bigint', 'text', 'uuid']).join(', ')}) as v(id, outcome, deposit_id)
      where w.id = v.id)`);
    if (this.dep[0].length > 0) {
      ctes.push(`upd as (update deposit d set status = v.status, received_amount = v.received_amount,
          received_currency = v.received_currency, payment_state = v.payment_state,
          rejection_reason = v.rejection_reason, updated_at = now()
        from unnest(${arrays(this.dep, ['uuid', 'text', 'numeric', 'text', 'text', 'text']).join(', ')})
          as v(id, status, received_amount, received_currency, payment_state, rejection_reason)
        where d.id = v.id)`);
    }
    if (this.ob[0].length > 0) {
      // Outbox ids follow the order of the rows (the order the changes happened in).
      ctes.push(`ob as (insert into outbox (tenant_id, deposit_id, user_id, status, previous_status)
        select tenant_id, deposit_id, user_id, status, previous_status
        from unnest(${arrays(this.ob, ['uuid', 'uuid', 'text', 'text', 'text']).join(', ')})
          with ordinality as v(tenant_id, deposit_id, user_id, status, previous_status, n)
        order by n)`);
    }
    let credited = `'{}'::text[]`;
    if (this.led[0].length > 0) {
      // The unique ledger row is the exactly-once guarantee; the balance grows by what it took.
      ctes.push(
        `led as (insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount)
          select gen_random_uuid(), * from unnest(${arrays(this.led, ['uuid', 'uuid', 'text', 'text', 'numeric']).join(', ')})
          on conflict (deposit_id) do nothing returning deposit_id, tenant_id, user_id, currency, amount)`,
        `bal as (insert into balance (id, tenant_id, user_id, currency, available)
          select gen_random_uuid(), tenant_id, user_id, currency, sum(amount) from led group by tenant_id, user_id, currency
          on conflict (tenant_id, user_id, currency)
          do update set available = balance.available + excluded.available, updated_at = now())`,
      );
      credited = 'array(select deposit_id::text from led)';
    }
    const notify = this.ob[0].length > 0 ? `, pg_notify($${params.push(OUTBOX_NOTIFY_CHANNEL)}, '')` : '';
    // Prepared once per connection and shape (at most 16 shapes): Postgres parses and plans
    // these CTEs once instead of on every batch.
    const shape = [this.ev, this.dep, this.ob, this.led].map((cols) => (cols[0].length > 0 ? 1 : 0)).join('');
    const out = await c.query<{ credited: string[] }>({
      name: `apply-batch-${shape}`,
      text: `with ${ctes.join(',\n')} select ${credited} as credited${notify}`,
      values: params,
    });
    return new Set(out.rows[0].credited);
  }
}

const columns = (n: number): unknown[][] => Array.from({ length: n }, () => []);
function push(cols: unknown[][], values: unknown[]): void {
  values.forEach((v, i) => cols[i].push(v));
}

/** A deadlock or serialization failure: the transaction was aborted for another's sake, not for what it did. */
function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}
