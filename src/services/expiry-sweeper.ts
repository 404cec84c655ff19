import type { Orm } from '../db/orm.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { OUTBOX_NOTIFY_CHANNEL } from './outbox-relay.js';

/**
 * Turns PENDING deposits past `expiresAt` into EXPIRED and writes their outbox rows,
 * in one statement. `for update skip locked` plus the status condition make it safe
 * with any number of sidecars sweeping at once, and with payments being applied.
 * Also forgets idempotency keys older than their lifetime.
 */
export async function sweepExpired(orm: Orm, batch = 500): Promise<string[]> {
  const em = orm.em.fork();
  const rows = await em.execute<{ deposit_id: string }[]>(
    `with due as (
       select id from deposit where status = 'PENDING' and expires_at < now() order by expires_at limit ? for update skip locked
     ), expired as (
       update deposit d set status = 'EXPIRED', updated_at = now() from due where d.id = due.id returning d.id, d.tenant_id, d.user_id
     )
     insert into outbox (tenant_id, deposit_id, user_id, status, previous_status)
     select tenant_id, id, user_id, 'EXPIRED', 'PENDING' from expired returning deposit_id`,
    [batch],
  );
  if (rows.length > 0) await em.execute('select pg_notify(?, ?)', [OUTBOX_NOTIFY_CHANNEL, '']);
  await em.execute('delete from idempotency_key where expires_at < now()');
  return rows.map((r) => r.deposit_id);
}

export interface Stoppable {
  stop(): Promise<void>;
}

/** Runs `task` every `intervalMs` (never overlapping itself), logging failures, until stopped. */
export function every(intervalMs: number, task: () => Promise<unknown>, logger: Logger, name: string): Stoppable {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const tick = () => {
    running = task()
      .catch((err: unknown) => logger.warn({ task: name, err: (err as Error).message }, 'background task failed'))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export function startSweeper(
  orm: Orm,
  intervalMs: number,
  logger: Logger,
  metrics: Metrics | undefined,
  onExpired: () => void,
): Stoppable {
  return every(
    intervalMs,
    async () => {
      const ids = await sweepExpired(orm);
      if (ids.length > 0) {
        metrics?.depositsTotal.inc({ status: 'EXPIRED' }, ids.length);
        logger.info({ count: ids.length }, 'deposits expired');
        onExpired();
      }
    },
    logger,
    'expiry-sweeper',
  );
}
