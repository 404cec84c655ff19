import { createHash } from 'node:crypto';
import type pg from 'pg';
import { encodeSyncEvent, encodeSyncRecord } from '../domain/sync-record.js';
import {
  NotFoundError,
  ProviderNotConfiguredError,
  ProviderUnavailableError,
  SyncNotSupportedError,
} from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { StatusFetcher, StatusSources } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { findDeposit, type DepositRecord } from '../store/deposits.store.js';
import { findSandboxPayment } from '../store/sandbox-payments.store.js';
import type { EventApplier } from './apply/event-applier.js';

/** What a sync did (`provider_sync_total{outcome}`). */
export type SyncOutcome = 'changed' | 'unchanged' | 'unavailable' | 'not_found';

export interface SyncServiceDeps {
  pool: pg.Pool;
  providers: ProviderRegistry;
  applier: EventApplier;
  logger: Logger;
  metrics?: Metrics;
  /** PROVIDER_TIMEOUT_MS: a provider that has not answered by then is unavailable. */
  providerTimeoutMs: number;
}

/**
 * Status sync (contract: "Recovering deposits"): asks a deposit's provider where its payment
 * stands, and stores and applies the answer exactly like a webhook: an inbox row (source SYNC,
 * keyed by the deposit and the answer, so an answer seen before is not stored again), then the
 * applier's locks, rules and one transaction. Nothing is held locked while the provider is asked.
 */
export class SyncService {
  private readonly sources: StatusSources;
  /** Syncs in flight by deposit: concurrent callers share one request to the provider. */
  private readonly inFlight = new Map<string, Promise<SyncOutcome>>();

  constructor(private readonly d: SyncServiceDeps) {
    this.sources = { recordedPayment: (depositId) => findSandboxPayment(d.pool, depositId) };
  }

  /** Whether deposits of `provider` can be synced here (`Deposit.syncable`). */
  syncable(provider: string): boolean {
    return this.d.providers.syncable(provider);
  }

  /**
   * `syncDeposit`: the tenant's deposit, synced now, as it is once the answer is applied.
   * Throws NOT_FOUND (unknown, another tenant's, not a UUID), SYNC_NOT_SUPPORTED,
   * PROVIDER_NOT_CONFIGURED, PROVIDER_UNAVAILABLE (nothing stored, nothing changed).
   */
  async syncDeposit(tenantId: string, id: string): Promise<DepositRecord> {
    const deposit = await findDeposit(this.d.pool, id, tenantId);
    if (!deposit) throw new NotFoundError('deposit', id);
    await this.sync(deposit, 'manual');
    return (await findDeposit(this.d.pool, deposit.id, tenantId))!;
  }

  /** The fetcher for `provider`, or the error `syncDeposit` answers. */
  fetcher(provider: string): StatusFetcher {
    const f = this.d.providers.statusFetcher(provider, this.sources);
    if (!f) throw new SyncNotSupportedError(provider);
    if ('missing' in f) throw new ProviderNotConfiguredError(provider, f.missing);
    return f;
  }

  /**
   * Asks, stores, applies. Throws `ProviderUnavailableError` (counted, logged) when the provider
   * cannot be asked; the errors of `fetcher` before anything is asked.
   */
  sync(
    deposit: Pick<DepositRecord, 'id' | 'provider' | 'providerRef'>,
    trigger: 'manual' | 'auto',
  ): Promise<SyncOutcome> {
    // A burst of calls for one deposit (a user pressing "Sync" repeatedly) asks the provider once.
    const running = this.inFlight.get(deposit.id);
    if (running) return running;
    const started = this.syncNow(deposit, trigger).finally(() => this.inFlight.delete(deposit.id));
    this.inFlight.set(deposit.id, started);
    return started;
  }

  private async syncNow(
    deposit: Pick<DepositRecord, 'id' | 'provider' | 'providerRef'>,
    trigger: 'manual' | 'auto',
  ): Promise<SyncOutcome> {
    const fetcher = this.fetcher(deposit.provider);
    const fields = { depositId: deposit.id, provider: deposit.provider, trigger };
    let outcome: SyncOutcome;
    try {
      outcome = await this.askAndApply(fetcher, deposit);
    } catch (err) {
      if (err instanceof ProviderUnavailableError) {
        this.d.metrics?.providerSync.inc({ provider: deposit.provider, outcome: 'unavailable' });
        this.d.logger.warn({ ...fields, outcome: 'unavailable', err: err.message }, 'status sync');
      }
      throw err;
    }
    this.d.metrics?.providerSync.inc({ provider: deposit.provider, outcome });
    this.d.logger.info({ ...fields, outcome }, 'status sync');
    return outcome;
  }

  private async askAndApply(
    fetcher: StatusFetcher,
    deposit: Pick<DepositRecord, 'id' | 'provider' | 'providerRef'>,
  ): Promise<SyncOutcome> {
    const answer = await fetcher.fetch(
      { id: deposit.id, providerRef: deposit.providerRef ?? null },
      AbortSignal.timeout(this.d.providerTimeoutMs),
    );
    if (answer.kind === 'not-found') return 'not_found';
    if (answer.kind === 'nothing-new') return 'unchanged';
    // The answer is about the deposit we asked about, whatever reference it carries.
    const event =
      answer.event.kind === 'deposit'
        ? { ...answer.event, ref: { by: 'id' as const, depositId: deposit.id } }
        : answer.event;
    const hash = createHash('sha256').update(encodeSyncEvent(event)).digest('hex');
    const result = await this.d.applier.ingest({
      provider: deposit.provider,
      dedupeKey: `sync:${deposit.id}:${hash}`,
      headers: {},
      body: encodeSyncRecord({ answer: answer.answer, event }),
      event,
      source: 'SYNC',
    });
    if (result.status === 'duplicate') return 'unchanged';
    return result.result.outcome === 'applied' ? 'changed' : 'unchanged';
  }
}
