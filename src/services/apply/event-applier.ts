import type pg from 'pg';
import type { IntentStore } from '../../bus/intent-store.js';
import { isStorageUnavailable, isTransient } from '../../db/errors.js';
import { inTransaction } from '../../db/sql.js';
import { applyPatch, decide, moneyFor, type Decision } from '../../domain/apply-rules.js';
import { EventSource } from '../../domain/audit.js';
import { DepositStatus } from '../../domain/deposit-status.js';
import type { NormalizedEvent } from '../../domain/events.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { BatchStatement } from '../../store/batch-statement.js';
import { addDepositUpdates, lockDeposit, type DepositRecord } from '../../store/deposits.store.js';
import {
  addInboxOutcomes,
  claimStored,
  storeAndLock,
  storeUnapplied,
  type Delivery,
  type InboxOutcome,
  type InboxSource,
} from '../../store/inbox.store.js';
import { addCredits, creditedBy, type Credit } from '../../store/ledger.store.js';
import { addStatusChanges, type StatusChangeRow } from '../../store/outbox.store.js';
import { addTimelineEntries, type TimelineEntry } from '../../store/timeline.store.js';
import { upsertVerification } from '../../store/verification.store.js';
import { upsertWalletBalance } from '../../store/wallet-balance.store.js';
import { GroupCommit, type GroupCommitLimits, type Pending } from './group-commit.js';

/** A verified event as stored in the inbox, normalized by its adapter. */
export interface StoredEvent {
  inboxId: string;
  provider: string;
  receivedAt: Date;
  event: NormalizedEvent;
  /** The webhook request that delivered it (its log lines carry the same id); absent for replays. */
  requestId?: string;
  /** A provider's delivery (absent: the same) or its answer to a status sync (timeline source SYNC). */
  source?: InboxSource;
}

/** A verified webhook not stored yet: what the sidecar hands over. */
export interface IncomingEvent extends Omit<Delivery, 'ref'> {
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

export interface EventApplierDeps extends GroupCommitLimits {
  /** The pool MikroORM manages (same limits and timeouts); the hot path speaks SQL to it directly. */
  pool: pg.Pool;
  intents: IntentStore;
  logger: Logger;
  metrics?: Metrics;
  /** Called after a commit that wrote outbox rows: wakes the relay in this process. */
  onOutboxWritten?: () => void;
  /** The clock (tests move it). */
  now?: () => Date;
}

/** One event ready for the rules: stored, and its deposit (if it has one) locked. */
interface Locked {
  stored: StoredEvent;
  deposit?: DepositRecord;
}

/**
 * Applies events in one transaction per batch: begin, one statement that stores the batch and
 * locks its deposits (`inbox.store`), the Redis intent of a deposit's first notification, the
 * pure rules event by event, one statement the stores compose (timeline, inbox, deposits,
 * outbox, ledger), commit: four round trips whether the batch holds one webhook or thirty-two.
 * Safe to run any number of times for the same event. If applying fails for any reason but
 * storage, each event is stored alone and the inbox processor applies it later: accepted
 * always means stored.
 */
export class EventApplier {
  private readonly queue: GroupCommit<IncomingEvent, IngestResult>;

  constructor(private readonly d: EventApplierDeps) {
    this.queue = new GroupCommit((batch) => this.runBatch(batch), d);
  }

  /** Stores and applies a verified webhook (the request path); concurrent calls share a transaction. */
  ingest(e: IncomingEvent, opts: { deadline?: number } = {}): Promise<IngestResult> {
    return this.queue.submit(e, opts);
  }

  /**
   * Applies an event that is already stored (the inbox processor, `npm run replay`).
   * @param force re-apply even if the inbox row is marked processed (replay after a fix).
   */
  async apply(stored: StoredEvent, opts: { force?: boolean } = {}): Promise<ApplyResult> {
    const started = process.hrtime.bigint();
    const now = this.now();
    const result = await this.transaction(async (c) => {
      // The inbox row lock makes the request path and the background processor take turns.
      if (!(await claimStored(c, stored.inboxId, opts.force ?? false))) {
        return { outcome: 'skipped', changes: [] } satisfies ApplyResult;
      }
      const e = stored.event;
      const deposit = e.kind === 'deposit' ? await lockDeposit(c, stored.provider, e.ref) : undefined;
      return (await this.applyAll(c, [{ stored, deposit }], now))[0];
    });
    this.observe(stored.provider, started, result);
    return result;
  }

  private async runBatch(batch: Pending<IncomingEvent, IngestResult>[], attempt = 1): Promise<void> {
    const now = this.now();
    let results: IngestResult[];
    try {
      results = await this.transaction(async (c) => {
        const events = batch.map((p) => p.item);
        const stored = await storeAndLock(
          c,
          events.map((e) => ({ ...e, ref: e.event.kind === 'deposit' ? e.event.ref : undefined })),
        );
        // Copies of an event stored by this batch or before it are duplicates; the rest apply.
        const fresh: Locked[] = [];
        stored.forEach((s, i) => {
          if (s === 'duplicate') return;
          const { provider, event, requestId, source } = events[i];
          const { inboxId, receivedAt, deposit } = s;
          fresh.push({ stored: { inboxId, provider, receivedAt, event, requestId, source }, deposit });
        });
        const applied = (await this.applyAll(c, fresh, now)).values();
        return stored.map((s) =>
          s === 'duplicate'
            ? ({ status: 'duplicate' } as const)
            : { status: 'accepted' as const, inboxId: s.inboxId, result: applied.next().value! },
        );
      });
    } catch (err) {
      if (batch.length === 1 && isTransient(err) && attempt < 4) {
        // Postgres aborted this transaction for another's sake. The lock order of `storeAndLock`
        // makes that rare (two batches' verification upserts could still cross): run it again.
        this.d.logger.info(
          { provider: batch[0].item.provider, attempt, code: (err as { code?: string }).code },
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
      for (const p of batch) this.storeWithoutApplying(p.item, err).then(p.resolve, p.reject);
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if (r.status === 'accepted') this.observe(p.item.provider, p.started, r.result);
      p.resolve(r);
    });
  }

  /**
   * Applying failed for a reason other than storage (the rules' writes were refused): the
   * event is kept anyway, acknowledged = stored, and the inbox processor retries it. When
   * storage itself is the problem nothing is acknowledged (503).
   */
  private async storeWithoutApplying(e: IncomingEvent, err: unknown): Promise<IngestResult> {
    if (isStorageUnavailable(err)) throw err;
    this.d.logger.warn({ provider: e.provider, err: (err as Error).message }, 'event stored without applying it');
    const inboxId = await storeUnapplied(this.d.pool, e, (err as Error).message);
    if (inboxId === undefined) return { status: 'duplicate' };
    return { status: 'accepted', inboxId, result: { outcome: 'skipped', changes: [] } };
  }

  /**
   * Everything after the locks, for a batch: the rules event by event in arrival order (a
   * deposit's later event sees what its earlier one did), then one statement writes it all.
   */
  private async applyAll(c: pg.PoolClient, batch: Locked[], now: Date): Promise<ApplyResult[]> {
    // The first notification of a PENDING deposit takes its Redis intent (the seed's guard).
    const pending = new Map<string, DepositRecord>();
    for (const { deposit } of batch) if (deposit?.status === DepositStatus.PENDING) pending.set(deposit.id, deposit);
    await Promise.all([...pending.values()].map((deposit) => this.takeIntent(deposit)));

    // Each deposit as the batch's events leave it, and those they changed.
    const current = new Map<string, DepositRecord>();
    const updated = new Map<string, DepositRecord>();
    const timeline: TimelineEntry[] = [];
    const outcomes: InboxOutcome[] = [];
    const changes: StatusChangeRow[] = [];
    const credits: Credit[] = [];
    const results: ApplyResult[] = [];
    const statusAfter: (DepositStatus | undefined)[] = [];
    for (const { stored, deposit: locked } of batch) {
      const e = stored.event;
      let result: ApplyResult;
      if (e.kind === 'deposit' && locked) {
        const deposit = current.get(locked.id) ?? locked;
        const decision = decide(deposit, e, stored.receivedAt, now);
        const outcome: ApplyOutcome = Object.keys(decision.patch).length > 0 ? 'applied' : 'unchanged';
        timeline.push({
          deposit,
          stored,
          event: e,
          money: moneyFor(deposit, e),
          ...(stored.source === 'SYNC' && { audit: { source: EventSource.SYNC } }),
        });
        const after = applyPatch(deposit, decision.patch);
        current.set(deposit.id, after);
        if (outcome === 'applied') updated.set(deposit.id, after);
        statusAfter.push(after.status);
        for (const ch of decision.changes) changes.push({ deposit, ...ch });
        if (decision.credit) credits.push({ deposit, ...decision.credit });
        outcomes.push({ inboxId: stored.inboxId, outcome, depositId: deposit.id });
        result = { outcome, depositId: deposit.id, changes: decision.changes };
        if (decision.credit) result.credited = decision.credit;
      } else {
        result = await this.applyOther(c, stored);
        outcomes.push({ inboxId: stored.inboxId, outcome: result.outcome, depositId: null });
        statusAfter.push(undefined);
      }
      results.push(result);
    }

    // One statement, in the order the tables were always written: timeline, inbox, deposits, outbox, ledger.
    const statement = new BatchStatement('apply-batch');
    addTimelineEntries(statement, timeline);
    addInboxOutcomes(statement, outcomes);
    addDepositUpdates(statement, [...updated.values()]);
    addStatusChanges(statement, changes);
    addCredits(statement, credits);
    const credited = creditedBy(await statement.run(c));

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
            tenantId: deposit.tenantId,
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

  /** An event that moves no deposit: a verification, a wallet balance, or one we keep without applying. */
  private async applyOther(c: pg.PoolClient, { event: e, provider, receivedAt }: StoredEvent): Promise<ApplyResult> {
    let outcome: ApplyOutcome;
    if (e.kind === 'verification') {
      outcome = (await upsertVerification(c, e, receivedAt)) ? 'applied' : 'unchanged';
    } else if (e.kind === 'wallet-balance') {
      outcome = (await upsertWalletBalance(c, provider, e, receivedAt)) ? 'applied' : 'unchanged';
    } else {
      outcome = e.kind === 'unsupported' ? 'unsupported' : 'unmatched';
    }
    return { outcome, changes: [] };
  }

  /** The seed's once-only guard: read-and-delete. Postgres decides; a missing intent changes nothing. */
  private async takeIntent(deposit: DepositRecord): Promise<void> {
    try {
      const intent = await this.d.intents.take(deposit.id);
      if (intent && (intent.currency !== deposit.currency || intent.tenantId !== deposit.tenantId)) {
        this.d.logger.error(
          { depositId: deposit.id },
          'redis intent disagrees with the stored deposit; postgres decides',
        );
      }
    } catch (err) {
      this.d.logger.warn(
        { depositId: deposit.id, err: (err as Error).message },
        'intent not taken from redis; postgres decides',
      );
    }
  }

  private observe(provider: string, started: bigint, result: ApplyResult): void {
    this.d.metrics?.webhookApplySeconds.observe({ provider }, Number(process.hrtime.bigint() - started) / 1e9);
    if (result.changes.length > 0) {
      for (const c of result.changes) this.d.metrics?.depositsTotal.inc({ status: c.to });
      this.d.onOutboxWritten?.();
    }
  }

  private now = (): Date => this.d.now?.() ?? new Date();

  private transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.d.pool, work, { genericPlans: true });
  }
}
