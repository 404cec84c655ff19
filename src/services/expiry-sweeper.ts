import type pg from 'pg';
import { inTransaction } from '../db/sql.js';
import { EXPIRES_FROM, expiry } from '../domain/apply-rules.js';
import { DepositStatus } from '../domain/deposit-status.js';
import { every, type Stoppable } from '../lib/periodic.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { BatchStatement } from '../store/batch-statement.js';
import { addDepositUpdates, lockExpiring } from '../store/deposits.store.js';
import { deleteExpiredKeys } from '../store/idempotency.store.js';
import { addStatusChanges } from '../store/outbox.store.js';
import { addTimelineEntries } from '../store/timeline.store.js';
import { EventSource } from '../domain/audit.js';

/** The `providerStatus` of the timeline event the sweeper writes when it expires a deposit. */
export const EXPIRED_BY_GATEWAY = 'EXPIRED_BY_GATEWAY';

/**
 * Applies expiry (decided by `expiry` in `domain/apply-rules.ts`) to the deposits it is due
 * for, writing their status and outbox rows through the same stores as the applier, in one
 * transaction. `for update skip locked` makes it safe with any number of sidecars sweeping
 * at once, and with payments being applied. Also forgets idempotency keys older than their
 * lifetime.
 * @returns the deposits it expired.
 */
async function sweepExpired(pool: pg.Pool, now = new Date(), batch = 500): Promise<string[]> {
  const expired = await inTransaction(pool, async (c) => {
    const moves = (await lockExpiring(c, EXPIRES_FROM, now, batch)).flatMap((deposit) => {
      const change = expiry(deposit, now);
      return change ? [{ deposit: { ...deposit, status: change.to }, ...change }] : [];
    });
    if (moves.length === 0) return [];
    const statement = new BatchStatement('expire');
    // Every change to a deposit has an event: the gateway's own, with no delivery behind it.
    addTimelineEntries(
      statement,
      moves.map((m) => ({
        deposit: m.deposit,
        stored: { inboxId: null, receivedAt: now },
        audit: { source: EventSource.SYSTEM },
        event: {
          kind: 'deposit',
          ref: { by: 'id', depositId: m.deposit.id },
          effect: 'expire',
          status: DepositStatus.EXPIRED,
          providerStatus: EXPIRED_BY_GATEWAY,
        },
      })),
    );
    addDepositUpdates(
      statement,
      moves.map((m) => m.deposit),
    );
    addStatusChanges(statement, moves);
    await statement.run(c);
    return moves.map((m) => m.deposit.id);
  });
  await deleteExpiredKeys(pool);
  return expired;
}

export function startSweeper(
  pool: pg.Pool,
  intervalMs: number,
  logger: Logger,
  metrics: Metrics | undefined,
  onExpired: () => void,
): Stoppable {
  return every(
    intervalMs,
    async () => {
      const ids = await sweepExpired(pool);
      if (ids.length > 0) {
        metrics?.depositsTotal.inc({ status: DepositStatus.EXPIRED }, ids.length);
        logger.info({ count: ids.length }, 'deposits expired');
        onExpired();
      }
    },
    logger,
    'expiry-sweeper',
  );
}
