import type pg from 'pg';
import { poolOf, type Orm } from '../db/orm.js';
import { decodeSyncRecord } from '../domain/sync-record.js';
import type { Logger } from '../observability/logger.js';
import { isProviderName, PROVIDER_NAMES } from '../providers/index.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { countSince, dueForRetry, recordFailure, storedSince, type InboxRow } from '../store/inbox.store.js';
import type { EventApplier } from './apply/event-applier.js';

export interface InboxRetryOptions {
  /** Attempts the processor makes at a stored event before it gives up on it (default 12). */
  maxAttempts?: number;
  /**
   * The wait before the second attempt; each later one waits twice as long as the one before
   * (default 5000: attempts 5 s, 15 s, 35 s, ... after receipt, the 12th about 2 h 50 min after).
   */
  firstRetryMs?: number;
}

/** The schedule of `InboxProcessor`, unless a caller passes its own. */
export const INBOX_RETRY: Required<InboxRetryOptions> = { maxAttempts: 12, firstRetryMs: 5000 };

/** `webhook_inbox.outcome` of an event the processor gave up on (`error` says why). */
const GAVE_UP = 'failed';

/**
 * Applies stored events that the request path did not (the process died after the
 * commit, Postgres blinked between store and apply, ...), and re-applies on demand
 * (`npm run replay`). Acknowledged means stored; this makes stored mean applied, or
 * given up on for a reason that is kept: an event that fails on every attempt is
 * tried `maxAttempts` times at doubling intervals, counted from its receipt, then
 * marked processed with outcome `failed` and the last error in `error`, and logged
 * once at error level. `npm run replay` (force) still applies it after a fix.
 */
export class InboxProcessor {
  private readonly retry: Required<InboxRetryOptions>;

  constructor(
    private readonly orm: Orm,
    private readonly providers: ProviderRegistry,
    private readonly applier: EventApplier,
    private readonly logger: Logger,
    retry: InboxRetryOptions = {},
  ) {
    this.retry = { ...INBOX_RETRY, ...retry };
  }

  /**
   * Unprocessed rows that are due: older than `minAgeMs` (younger ones are still in their
   * request) and past their next attempt, `firstRetryMs × (2^attempts − 1)` after receipt.
   * Those tried least first: a batch of events that fail on every attempt must not keep
   * newer ones waiting. Rows of a provider not configured here wait for it, untried.
   */
  async processPending(minAgeMs = 2000, batch = 100): Promise<number> {
    const configured = PROVIDER_NAMES.filter((name) => this.providers.webhook(name));
    if (configured.length === 0) return 0;
    const rows = await dueForRetry(await this.db(), configured, { ...this.retry, minAgeMs, limit: batch });
    for (const row of rows) await this.applyRow(row, false);
    return rows.length;
  }

  async applyRow(row: InboxRow, force: boolean): Promise<string> {
    const adapter = isProviderName(row.provider) ? this.providers.webhook(row.provider) : undefined;
    if (!adapter) return 'skipped';
    try {
      // A sync answer is kept with the event it was mapped to; a delivery is parsed again.
      const event =
        row.source === 'SYNC' ? decodeSyncRecord(row.body).event : adapter.parse(Buffer.from(row.body, 'utf8'));
      const r = await this.applier.apply(
        {
          inboxId: String(row.id),
          provider: row.provider,
          receivedAt: new Date(row.received_at),
          event,
          source: row.source,
        },
        { force },
      );
      return r.outcome;
    } catch (err) {
      await this.failed(row, force, (err as Error).message);
      return 'failed';
    }
  }

  /**
   * Counts a failed attempt. The attempt that reaches `maxAttempts` gives up: the row is
   * processed with outcome `failed` and the reason, in the same statement, so it happens
   * (and is logged) once however many processors share the table. A forced replay only
   * records its error: whether the event was applied before is not its to change.
   */
  private async failed(row: InboxRow, force: boolean, reason: string): Promise<void> {
    const { maxAttempts, firstRetryMs } = this.retry;
    const fields = { inboxId: row.id, provider: row.provider, err: reason };
    let r: { attempts: number; gave_up: boolean } | undefined;
    try {
      r = await recordFailure(await this.db(), String(row.id), { reason, force, maxAttempts, gaveUp: GAVE_UP });
    } catch (recordErr) {
      // Postgres is away: nothing was counted, and the row is tried again once it is back.
      this.logger.warn({ ...fields, recordErr: (recordErr as Error).message }, 'stored event not applied');
      return;
    }
    if (!r) return; // applied meanwhile by another processor
    if (force) {
      this.logger.warn({ ...fields, attempts: r.attempts }, 'stored event not applied by the replay');
    } else if (r.gave_up) {
      this.logger.error(
        { ...fields, attempts: r.attempts },
        'stored event given up: it is kept with outcome failed and its reason; `npm run replay` applies it after a fix',
      );
    } else {
      const nextAttemptAt = new Date(
        new Date(row.received_at).getTime() + firstRetryMs * (2 ** Math.min(r.attempts, maxAttempts - 1) - 1),
      );
      this.logger.warn({ ...fields, attempts: r.attempts, maxAttempts, nextAttemptAt }, 'stored event not applied');
    }
  }

  /** The pool MikroORM manages: the inbox store's statements run on it. */
  private db(): Promise<pg.Pool> {
    return poolOf(this.orm);
  }

  /** Every stored event of `provider` received since `since`, oldest first, in pages. */
  async *rowsSince(provider: string, since: Date, page = 500): AsyncGenerator<InboxRow[]> {
    let lastId = '0';
    for (;;) {
      const rows = await storedSince(await this.db(), provider, since, lastId, page);
      if (rows.length === 0) return;
      yield rows;
      lastId = String(rows[rows.length - 1].id);
    }
  }

  async countSince(provider: string, since: Date): Promise<number> {
    return countSince(await this.db(), provider, since);
  }
}
