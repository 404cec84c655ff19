import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { decide, moneyFor, type Decision, type DepositSnapshot } from '../domain/apply-rules.js';
import { DepositStatus, type RejectionReason } from '../domain/deposit-status.js';
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
  rejection_reason: RejectionReason | null;
  expires_at: Date;
}

const DEPOSIT_COLUMNS = `d.id, d.tenant_id, d.user_id, d.currency, d.amount, d.min_amount, d.max_amount, d.status,
  d.rejection_reason, d.expires_at`;

/**
 * Applies one event in one transaction: lock the deposit row (concurrent deliveries for
 * one deposit serialize here), take the Redis intent on the first notification, run the
 * pure rules, then write the timeline, the deposit, one outbox row per status change, the
 * credit (unique per deposit) and the inbox outcome in one statement. Safe to run any
 * number of times for the same event.
 *
 * The request path (`ingest`) also stores the event in that transaction: four round trips
 * and one commit per webhook. If applying fails for any reason but storage, the event is
 * stored alone and the inbox processor applies it later: accepted always means stored.
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
        // Locks are taken in one global order (deposit, then inbox key), so transactions
        // that share deposits or copies of one message wait for each other but never
        // deadlock: a copy queues behind the deposit lock of the transaction holding the
        // original and then finds it stored.
        const out: IngestResult[] = new Array<IngestResult>(batch.length);
        for (const i of lockOrder(batch.map((p) => p.e))) out[i] = await this.storeAndApply(c, batch[i].e, now);
        return out;
      });
    } catch (err) {
      if (batch.length === 1 && isTransient(err) && attempt < 4) {
        // Postgres aborted this transaction for another's sake. `lockOrder` makes that rare
        // (one deposit reached through two references could still do it): run it again.
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

  /** Stored and, for a deposit event, its deposit locked, in one statement; then the rules. */
  private async storeAndApply(c: pg.PoolClient, e: IncomingEvent, now: Date): Promise<IngestResult> {
    const ref = e.event.kind === 'deposit' ? depositLookup(e.provider, e.event, 5) : undefined;
    // The deposit row is locked before the inbox row is inserted (the insert reads the lock's
    // result, so Postgres cannot run them the other way round): see `lockOrder`.
    const rows = await c.query<{ inbox_id: string; received_at: Date } & Partial<DepositRow>>(
      ref
        ? `with d as materialized (select ${DEPOSIT_COLUMNS} from deposit d where ${ref.where} for update),
           stored as (
             insert into webhook_inbox (provider, dedupe_key, headers, body)
             select $1, $2, $3, $4 from (select count(*) from d) locked
             on conflict (provider, dedupe_key) do nothing returning id, received_at)
           select stored.id as inbox_id, stored.received_at, d.* from stored left join d on true`
        : `insert into webhook_inbox (provider, dedupe_key, headers, body) values ($1, $2, $3, $4)
           on conflict (provider, dedupe_key) do nothing returning id as inbox_id, received_at`,
      [e.provider, e.dedupeKey, JSON.stringify(e.headers), e.body, ...(ref?.params ?? [])],
    );
    if (rows.rows.length === 0) return { status: 'duplicate' };
    const row = rows.rows[0];
    const stored: StoredEvent = {
      inboxId: String(row.inbox_id),
      provider: e.provider,
      receivedAt: new Date(row.received_at),
      event: e.event,
      requestId: e.requestId,
    };
    const deposit = row.id ? (row as DepositRow) : undefined;
    const result = await this.applyIn(c, stored, now, deposit);
    return { status: 'accepted', inboxId: stored.inboxId, result };
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
      if (stored.event.kind === 'deposit') {
        const ref = depositLookup(stored.provider, stored.event, 1);
        if (ref) {
          const rows = await c.query<DepositRow>(
            `select ${DEPOSIT_COLUMNS} from deposit d where ${ref.where} for update`,
            ref.params,
          );
          deposit = rows.rows[0];
        }
      }
      return this.applyIn(c, stored, now, deposit);
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
      await c.query('begin');
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

  /** Everything after the lock; `deposit` is the locked row (absent: no such deposit for this provider). */
  private async applyIn(c: pg.PoolClient, stored: StoredEvent, now: Date, deposit?: DepositRow): Promise<ApplyResult> {
    const e = stored.event;
    let result: ApplyResult;
    switch (e.kind) {
      case 'unsupported':
        result = { outcome: 'unsupported', changes: [] };
        break;
      case 'verification':
        result = await this.applyVerification(c, e, stored.receivedAt);
        break;
      case 'wallet-balance':
        result = await this.applyWalletBalance(c, stored.provider, e, stored.receivedAt);
        break;
      case 'deposit':
        if (deposit) return this.applyDeposit(c, stored, e, deposit, now);
        result = { outcome: 'unmatched', changes: [] };
        break;
    }
    await c.query(
      `update webhook_inbox set processed_at = now(), outcome = $2, deposit_id = null, error = null, attempts = attempts + 1
       where id = $1`,
      [stored.inboxId, result.outcome],
    );
    return result;
  }

  private async applyDeposit(
    c: pg.PoolClient,
    stored: StoredEvent,
    e: DepositEventInput,
    row: DepositRow,
    now: Date,
  ): Promise<ApplyResult> {
    if (row.status === DepositStatus.PENDING) await this.takeIntent(row);
    const snapshot: DepositSnapshot = {
      status: row.status,
      currency: row.currency,
      amount: row.amount,
      minAmount: row.min_amount,
      maxAmount: row.max_amount,
      expiresAt: new Date(row.expires_at),
      rejectionReason: row.rejection_reason,
    };
    const decision = decide(snapshot, e, stored.receivedAt, now);
    const patch = Object.entries(decision.patch);
    const outcome: ApplyOutcome = patch.length > 0 ? 'applied' : 'unchanged';
    const money = moneyFor({ currency: row.currency }, e);

    // One statement: timeline, deposit, outbox, credit, inbox outcome (data-modifying CTEs all run).
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    const ctes = [
      `ev as (insert into deposit_event (id, deposit_id, inbox_id, status, provider_status, amount, currency, tx_hash, network, fee, occurred_at, received_at)
         values (${[
           randomUUID(),
           row.id,
           stored.inboxId,
           e.status,
           e.providerStatus.slice(0, 100),
           money?.amount ?? null,
           money?.currency ?? null,
           e.txHash?.slice(0, 200) ?? null,
           e.network?.slice(0, 100) ?? null,
           e.fee ?? null,
           e.occurredAt ?? stored.receivedAt,
           stored.receivedAt,
         ]
           .map(p)
           .join(', ')}) on conflict (inbox_id) do nothing)`,
      `inbox as (update webhook_inbox set processed_at = now(), outcome = ${p(outcome)}, deposit_id = ${p(row.id)},
         error = null, attempts = attempts + 1 where id = ${p(stored.inboxId)})`,
    ];
    if (patch.length > 0) {
      const sets = patch.map(([k, v]) => `${PATCH_COLUMNS[k as keyof Decision['patch']]} = ${p(v ?? null)}`);
      ctes.push(`upd as (update deposit set ${sets.join(', ')}, updated_at = now() where id = ${p(row.id)})`);
    }
    if (decision.changes.length > 0) {
      const values = decision.changes.map(
        (ch) => `(${[row.tenant_id, row.id, row.user_id, ch.to, ch.from].map(p).join(', ')})`,
      );
      ctes.push(
        `ob as (insert into outbox (tenant_id, deposit_id, user_id, status, previous_status) values ${values.join(', ')})`,
      );
    }
    if (decision.credit) {
      const { amount, currency } = decision.credit;
      ctes.push(
        `led as (insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount)
           values (${[randomUUID(), row.id, row.tenant_id, row.user_id, currency, amount].map(p).join(', ')})
           on conflict (deposit_id) do nothing returning amount)`,
        `bal as (insert into balance (id, tenant_id, user_id, currency, available)
           select ${[randomUUID(), row.tenant_id, row.user_id, currency].map(p).join(', ')}, amount from led
           on conflict (tenant_id, user_id, currency) do update set available = balance.available + excluded.available, updated_at = now())`,
      );
    }
    const notify = decision.changes.length > 0 ? `, pg_notify(${p(OUTBOX_NOTIFY_CHANNEL)}, '')` : '';
    const credited = decision.credit ? '(select count(*) from led)' : '0';
    const out = await c.query<{ credited: string }>(
      `with ${ctes.join(',\n')} select ${credited} as credited${notify}`,
      params,
    );
    const result: ApplyResult = {
      outcome,
      depositId: row.id,
      changes: decision.changes,
      credited: Number(out.rows[0].credited) > 0 ? decision.credit : undefined,
    };
    if (outcome === 'applied') {
      this.d.logger.info(
        {
          reqId: stored.requestId,
          provider: stored.provider,
          inboxId: stored.inboxId,
          depositId: row.id,
          tenantId: row.tenant_id,
          status: decision.patch.status ?? row.status,
          changes: decision.changes,
          credited: result.credited,
        },
        'event applied',
      );
    }
    return result;
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

const PATCH_COLUMNS: Record<keyof Decision['patch'], string> = {
  status: 'status',
  receivedAmount: 'received_amount',
  receivedCurrency: 'received_currency',
  paymentState: 'payment_state',
  rejectionReason: 'rejection_reason',
};

/**
 * How to find an event's deposit: by our id (only if it is a UUID: anything else cannot match,
 * and Postgres would refuse the cast) or by the provider's reference, always of that provider.
 * @param first the number of the first of its two parameters in the statement.
 */
function depositLookup(
  provider: string,
  e: DepositEventInput,
  first: number,
): { where: string; params: unknown[] } | undefined {
  const [a, b] = [`$${first}`, `$${first + 1}`];
  if (e.ref.by === 'id') {
    return isUuid(e.ref.depositId)
      ? { where: `id = ${a} and provider = ${b}`, params: [e.ref.depositId, provider] }
      : undefined;
  }
  return { where: `provider_ref = ${a} and provider = ${b}`, params: [e.ref.providerRef, provider] };
}

/**
 * The order in which a batch takes its locks: events that lock a deposit first, by deposit
 * reference, then the rest; ties by inbox key. Every transaction taking its locks in one
 * global order (deposit row before inbox key) is what keeps concurrent batches, in one
 * process or many, from waiting on each other in a circle.
 * @returns indexes into `events`.
 */
export function lockOrder(events: readonly Pick<IncomingEvent, 'provider' | 'dedupeKey' | 'event'>[]): number[] {
  const keys = events.map((e) => {
    const ref = e.event.kind === 'deposit' ? depositLookup(e.provider, e.event, 1) : undefined;
    return {
      group: ref ? 0 : 1,
      deposit: ref ? `${e.provider}\u0000${ref.params.join('\u0000')}` : '',
      inbox: `${e.provider}\u0000${e.dedupeKey}`,
    };
  });
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return keys
    .map((_, i) => i)
    .sort(
      (i, j) =>
        keys[i].group - keys[j].group || cmp(keys[i].deposit, keys[j].deposit) || cmp(keys[i].inbox, keys[j].inbox),
    );
}

/** A deadlock or serialization failure: the transaction was aborted for another's sake, not for what it did. */
function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}
