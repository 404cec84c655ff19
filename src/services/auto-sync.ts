import type pg from 'pg';
import { DepositStatus } from '../domain/deposit-status.js';
import { isFinal } from '../domain/deposit-status.js';
import { AppError, ProviderUnavailableError } from '../lib/errors.js';
import { every, type Stoppable } from '../lib/periodic.js';
import type { Logger } from '../observability/logger.js';
import { claimDueSyncs, finishSyncs, type ClaimedSync, type SyncResult } from '../store/sync-schedule.store.js';
import type { SyncOutcome, SyncService } from './sync.service.js';

export interface AutoSyncSettings {
  /** SYNC_AFTER_SECONDS: the first sync after this long without an event, and the first interval. */
  afterSeconds: number;
  /** SYNC_MAX_INTERVAL_SECONDS: the interval doubles up to this. */
  maxIntervalSeconds: number;
  /** SYNC_CONCURRENCY: status requests in flight per provider in this sidecar. */
  concurrency: number;
  /** PROVIDER_TIMEOUT_MS: bounds the lease (a claimed batch must be done before it runs out). */
  providerTimeoutMs: number;
}

/** After `failures` unavailable answers in a row a provider is skipped for a pause that doubles. */
export interface CircuitSettings {
  failures: number;
  basePauseMs: number;
  maxPauseMs: number;
}

export const DEFAULT_CIRCUIT: CircuitSettings = { failures: 5, basePauseMs: 30_000, maxPauseMs: 15 * 60_000 };

export interface AutoSyncDeps {
  pool: pg.Pool;
  sync: SyncService;
  /** Providers with a status API configured here. */
  providers: readonly string[];
  settings: AutoSyncSettings;
  logger: Logger;
  circuit?: CircuitSettings;
  /** The clock of the circuit (tests move it); the schedule runs on Postgres's clock. */
  now?: () => number;
}

interface Circuit {
  consecutiveFailures: number;
  /** How many times it opened in a row (the pause doubles with each). */
  opened: number;
  openUntil: number;
}

/** Claimed per provider per round: a few requests' worth per slot, so the lease covers them. */
const ROUNDS_PER_CLAIM = 4;

/**
 * The automatic status sync (contract: "Recovering deposits"): each round, per provider with a
 * status API, claims the due rows of the schedule (`deposit_sync`) and syncs them, at most
 * `concurrency` requests at once per provider. A deposit is synced once it has had no event for
 * SYNC_AFTER_SECONDS, then at doubling intervals up to SYNC_MAX_INTERVAL_SECONDS, until it is
 * final (an EXPIRED one without a payment is still synced: a payment on time completes it) or its
 * give-up time (SYNC_GIVE_UP_SECONDS past expiry) has passed. A provider that keeps failing is
 * skipped for a pause that doubles each time (in this sidecar): backed off, not hammered.
 */
export class AutoSync {
  private readonly circuits = new Map<string, Circuit>();
  private readonly circuit: CircuitSettings;

  constructor(private readonly d: AutoSyncDeps) {
    this.circuit = d.circuit ?? DEFAULT_CIRCUIT;
  }

  start(intervalMs: number): Stoppable {
    return every(intervalMs, () => this.runOnce(), this.d.logger, 'auto-sync');
  }

  /** One round over every provider; @returns how many deposits were asked about. */
  async runOnce(): Promise<number> {
    const counts = await Promise.all(this.d.providers.map((p) => this.runProvider(p)));
    return counts.reduce((a, b) => a + b, 0);
  }

  private async runProvider(provider: string): Promise<number> {
    if (this.isOpen(provider)) return 0;
    const { concurrency, providerTimeoutMs } = this.d.settings;
    const limit = concurrency * ROUNDS_PER_CLAIM;
    // Long enough for every claimed row to be asked, one slot after another, with room to spare.
    const leaseSeconds = Math.ceil((ROUNDS_PER_CLAIM + 1) * (providerTimeoutMs / 1000)) + 30;
    const claimed = await claimDueSyncs(this.d.pool, provider, limit, leaseSeconds);
    if (claimed.length === 0) return 0;
    const results: SyncResult[] = [];
    let asked = 0;
    const queue = [...claimed];
    const worker = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        const r = await this.handle(row);
        if (r.attempted) asked++;
        results.push(r);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, claimed.length) }, worker));
    await finishSyncs(this.d.pool, results);
    return asked;
  }

  /** What to do with one claimed row: settle it, wait for its quiet time, or ask the provider. */
  private async handle(row: ClaimedSync): Promise<SyncResult> {
    const { afterSeconds, maxIntervalSeconds } = this.d.settings;
    const base = { depositId: row.depositId, intervalSeconds: row.intervalSeconds, nextInSeconds: 0 };
    const settled = isFinal(row.status) && !(row.status === DepositStatus.EXPIRED && !row.paid);
    if (settled) return { ...base, attempted: false, outcome: 'final', done: true };
    if (row.now.getTime() > row.giveUpAt.getTime()) {
      this.d.logger.info(
        { depositId: row.depositId, provider: row.provider, status: row.status },
        'status sync given up',
      );
      return { ...base, attempted: false, outcome: 'gave_up', done: true };
    }
    // An event since it was scheduled (a webhook came): wait until it has been quiet long enough.
    const quietUntil = row.lastEventAt.getTime() + afterSeconds * 1000;
    if (quietUntil > row.now.getTime()) {
      return {
        ...base,
        nextInSeconds: (quietUntil - row.now.getTime()) / 1000,
        attempted: false,
        outcome: 'waiting',
        done: false,
      };
    }
    if (this.isOpen(row.provider)) {
      // The provider failed meanwhile: leave the row due, untried.
      return { ...base, attempted: false, outcome: 'paused', done: false };
    }
    let outcome: SyncOutcome | 'failed';
    try {
      outcome = await this.d.sync.sync(
        { id: row.depositId, provider: row.provider, providerRef: row.providerRef },
        'auto',
      );
      this.succeeded(row.provider);
    } catch (err) {
      if (err instanceof ProviderUnavailableError) {
        outcome = 'unavailable';
        this.failed(row.provider);
      } else {
        outcome = 'failed';
        if (!(err instanceof AppError)) {
          this.d.logger.warn(
            { depositId: row.depositId, provider: row.provider, err: (err as Error).message },
            'status sync failed',
          );
        }
      }
    }
    // A change restarts the clock (it was an event); anything else doubles the wait.
    const interval = outcome === 'changed' ? afterSeconds : Math.min(row.intervalSeconds * 2, maxIntervalSeconds);
    return { ...base, intervalSeconds: interval, nextInSeconds: interval, attempted: true, outcome, done: false };
  }

  private isOpen(provider: string): boolean {
    const c = this.circuits.get(provider);
    return !!c && c.openUntil > this.now();
  }

  private succeeded(provider: string): void {
    this.circuits.delete(provider);
  }

  private failed(provider: string): void {
    const c = this.circuits.get(provider) ?? { consecutiveFailures: 0, opened: 0, openUntil: 0 };
    c.consecutiveFailures++;
    if (c.consecutiveFailures >= this.circuit.failures) {
      const pause = Math.min(this.circuit.basePauseMs * 2 ** c.opened, this.circuit.maxPauseMs);
      c.opened++;
      c.consecutiveFailures = 0;
      c.openUntil = this.now() + pause;
      this.d.logger.warn({ provider, pauseMs: pause }, 'provider status API keeps failing; automatic sync paused');
    }
    this.circuits.set(provider, c);
  }

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }
}
