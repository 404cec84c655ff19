import type pg from 'pg';
import type { LookupAll } from '../lib/outbound/address-policy.js';
import { ConcurrencyLimiter } from '../lib/outbound/concurrency.js';
import { deliver } from '../lib/outbound/deliver.js';
import { PinnedAgents } from '../lib/outbound/pinned-agents.js';
import { AUTO_DISABLE_AFTER_MS, nextAttemptDelay, type RetrySchedule } from '../lib/outbound/retry-schedule.js';
import { signedHeaders } from '../lib/outbound/sign.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { StatusMessage } from '../store/outbox.store.js';
import {
  claimDue,
  pendingCount,
  recordAttempt,
  recordSuccesses,
  releaseClaims,
  type ClaimedDelivery,
} from '../store/webhook-deliveries.store.js';
import { recordEndpointFailure, recordEndpointSuccess } from '../store/webhook-endpoints.store.js';
import { encodeStatusCursor } from './status-cursor.js';

/** How long completions wait to share one claim. */
const CLAIM_COALESCE_MS = 10;
/** How long successful outcomes wait to share one update. */
const SUCCESS_FLUSH_MS = 20;

export interface WebhookDispatcherOptions {
  pool: pg.Pool;
  logger: Logger;
  metrics?: Metrics;
  /** `WEBHOOK_RETRY_SCHEDULE`: delays after each failed attempt. */
  retrySchedule: RetrySchedule;
  /** `OUTBOUND_ALLOW_PRIVATE_URLS`, checked again on every request. */
  allowPrivateUrls: boolean;
  /** Requests in flight in this process, overall and to one endpoint. */
  maxInFlight: number;
  maxInFlightPerEndpoint: number;
  /** Looks for due deliveries this often when nothing woke it. */
  pollMs: number;
  /** How long a claim holds before another dispatcher may take the delivery (longer than an attempt's timeout). */
  leaseMs?: number;
  /** One attempt's deadline (the contract's 15 seconds). */
  timeoutMs?: number;
  /** An endpoint whose deliveries all failed this long is disabled. */
  disableAfterMs?: number;
  /** The resolver of the per-request address check; tests pass their own. */
  lookup?: LookupAll;
}

/** The body of a `deposit.status_changed` delivery (the contract's shape; amounts are decimal strings). */
export function webhookBody(eventType: string, m: StatusMessage): string {
  const d = m.deposit;
  return JSON.stringify({
    type: eventType,
    timestamp: m.occurredAt,
    data: {
      cursor: encodeStatusCursor(m.seq),
      status: m.status,
      previousStatus: m.previousStatus,
      deposit: {
        id: d.id,
        userId: d.userId,
        provider: d.provider,
        currency: d.currency,
        amount: d.amount ?? null,
        minAmount: d.minAmount ?? null,
        maxAmount: d.maxAmount ?? null,
        receivedAmount: d.receivedAmount ?? null,
        receivedCurrency: d.receivedCurrency ?? null,
        paymentState: d.paymentState ?? null,
        status: d.status,
        rejectionReason: d.rejectionReason ?? null,
        resolution: d.resolution ?? null,
        expiresAt: d.expiresAt,
        createdAt: d.createdAt,
        updatedAt: d.updatedAt,
      },
    },
  });
}

/**
 * Sends merchant webhooks from the durable queue (`webhook_delivery`), in every sidecar.
 *
 * A round claims due deliveries in one short statement (`claimDue`: `for update skip
 * locked`, then a lease), so several sidecars never send one delivery at once and no row
 * stays locked during HTTP. It claims per endpoint no more than this process can send to
 * it now (`ConcurrencyLimiter`), so a slow endpoint holds its own slots and the others
 * keep theirs. Each attempt is signed afresh (its own timestamp; the current secret and,
 * during a rotation, the previous one), made by `deliver()` (address policy checked again
 * and pinned, no redirects, 15 s), and its outcome written: SUCCEEDED, PENDING with the
 * next attempt from the schedule, or FAILED after the last.
 *
 * Postgres is the queue: Redis plays no part. A dispatcher that stops aborts its requests
 * and writes nothing for them; their leases run out and any sidecar sends them again (at
 * least once, with the same `webhook-id`, which the merchant dedupes on).
 */
export class WebhookDispatcher {
  private readonly limiter: ConcurrencyLimiter;
  /** Keep-alive connections to the endpoints, per checked address set: no TCP handshake per delivery. */
  private readonly agents: PinnedAgents;
  private readonly abort = new AbortController();
  /** Endpoints with requests in flight here (their free capacity is passed to the claim). */
  private readonly busy = new Set<string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private failures = 0;
  private pendingMeasuredAt = 0;
  /** Successful attempts not yet written: one statement for many (a crash before it resends them, same webhook-id). */
  private successes: { id: string; status: number }[] = [];
  private flushing?: Promise<void>;
  private flushTimer?: NodeJS.Timeout;
  private soonScheduled = false;

  constructor(private readonly o: WebhookDispatcherOptions) {
    this.limiter = new ConcurrencyLimiter({ maxInFlight: o.maxInFlight, maxPerKey: o.maxInFlightPerEndpoint });
    this.agents = new PinnedAgents({ maxSockets: o.maxInFlightPerEndpoint });
  }

  start(): void {
    this.schedule(0);
  }

  /**
   * New deliveries are due (the relay of this process sequenced changes): claim within
   * `CLAIM_COALESCE_MS`, so a burst of wakes shares one claim. Sidecars that do not lead the
   * relay find them on their poll, or on the claim a finished request makes.
   */
  wake(): void {
    this.wakeSoon();
  }

  /** Stops claiming, aborts the requests in flight (their leases run out for the other sidecars) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort(new Error('dispatcher stopping'));
    await this.running;
    await this.limiter.onIdle();
    this.agents.destroy();
    clearTimeout(this.flushTimer);
    await this.flushSuccesses();
  }

  /** A request freed its slot: claim again shortly, so completions close together share one claim. */
  private wakeSoon(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
    } else if (!this.soonScheduled) {
      this.soonScheduled = true;
      this.schedule(CLAIM_COALESCE_MS);
    }
  }

  private recordSuccess(id: string, status: number): void {
    this.successes.push({ id, status });
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flushSuccesses();
    }, SUCCESS_FLUSH_MS);
  }

  private async flushSuccesses(): Promise<void> {
    await this.flushing;
    const batch = this.successes;
    if (batch.length === 0) return;
    this.successes = [];
    this.flushing = recordSuccesses(this.o.pool, batch)
      .catch((err: unknown) =>
        // Not written: their leases run out and they are sent again (at least once, same webhook-id).
        this.o.logger.warn(
          { err: (err as Error).message, count: batch.length },
          'merchant webhook: outcomes not recorded',
        ),
      )
      .finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), ms);
  }

  private run(): void {
    this.soonScheduled = false;
    if (this.running || this.stopped) return;
    this.running = this.round()
      .then((full) => {
        this.failures = 0;
        if (full) this.again = true;
      })
      .catch((err: unknown) => {
        this.failures++;
        this.o.logger.warn({ err: (err as Error).message, failures: this.failures }, 'webhook dispatcher: will retry');
      })
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        const backoff = this.failures > 0 ? Math.min(100 * 2 ** Math.min(this.failures, 6), 5000) : undefined;
        const next = backoff ?? (this.again ? 0 : this.o.pollMs);
        this.again = false;
        this.schedule(next);
      });
  }

  /** One claim; true when it took all it could (more may be due at once). */
  private async round(): Promise<boolean> {
    await this.measurePending();
    const limit = this.limiter.maxInFlight - this.limiter.inFlight;
    if (limit <= 0) return false;
    const busy = [...this.busy].map((endpointId) => ({ endpointId, capacity: this.limiter.available(endpointId) }));
    const claimed = await claimDue(this.o.pool, {
      busy,
      perEndpoint: this.limiter.maxPerKey,
      limit,
      leaseMs: this.o.leaseMs ?? 30_000,
    });
    const giveBack: string[] = [];
    for (const delivery of claimed) {
      const release = this.limiter.tryAcquire(delivery.endpointId);
      if (!release || this.stopped) {
        release?.();
        giveBack.push(delivery.id);
        continue;
      }
      this.busy.add(delivery.endpointId);
      void this.send(delivery).finally(() => {
        release();
        if (this.limiter.inFlightFor(delivery.endpointId) === 0) this.busy.delete(delivery.endpointId);
        this.wakeSoon();
      });
    }
    await releaseClaims(this.o.pool, giveBack);
    return claimed.length > 0 && claimed.length >= limit;
  }

  private async send(d: ClaimedDelivery): Promise<void> {
    const log = { deliveryId: d.id, endpointId: d.endpointId, eventId: d.eventId };
    try {
      const body = webhookBody(d.eventType, d.change);
      const headers = signedHeaders({ id: d.eventId, timestamp: new Date(), body, secrets: d.secrets });
      const outcome = await deliver({
        url: d.url,
        headers,
        body,
        allowPrivate: this.o.allowPrivateUrls,
        lookup: this.o.lookup,
        signal: this.abort.signal,
        timeoutMs: this.o.timeoutMs,
        agents: this.agents,
      });
      // Stopping: nothing is written, the lease runs out and the delivery is sent again (same webhook-id).
      if (!outcome.ok && this.abort.signal.aborted) return;
      if (outcome.ok) {
        this.o.metrics?.merchantWebhookDeliveries.inc({ outcome: 'succeeded' });
        this.recordSuccess(d.id, outcome.status ?? 200);
        if (d.endpointFailing) await recordEndpointSuccess(this.o.pool, d.endpointId);
        return;
      }
      const retryInMs = nextAttemptDelay(d.attempts + 1, this.o.retrySchedule);
      const status = await recordAttempt(this.o.pool, d.id, {
        ok: false,
        status: outcome.status,
        error: outcome.error,
        retryInMs,
      });
      this.o.metrics?.merchantWebhookDeliveries.inc({ outcome: status === 'FAILED' ? 'failed' : 'failed_attempt' });
      this.o.logger.info(
        { ...log, attempt: d.attempts + 1, status: outcome.status, error: outcome.error, final: status === 'FAILED' },
        'merchant webhook attempt failed',
      );
      if (await recordEndpointFailure(this.o.pool, d.endpointId, this.o.disableAfterMs ?? AUTO_DISABLE_AFTER_MS)) {
        this.o.logger.warn({ endpointId: d.endpointId }, 'merchant webhook endpoint disabled: every delivery failed');
      }
    } catch (err) {
      // Postgres unavailable while writing the outcome: the lease runs out and the attempt is made again.
      this.o.logger.warn({ ...log, err: (err as Error).message }, 'merchant webhook: outcome not recorded');
    }
  }

  private async measurePending(): Promise<void> {
    if (!this.o.metrics || Date.now() - this.pendingMeasuredAt < 2000) return;
    this.pendingMeasuredAt = Date.now();
    this.o.metrics.merchantWebhookPending.set(await pendingCount(this.o.pool));
  }
}
