import type { Sql } from '../db/sql.js';
import type { DepositStatus } from '../domain/deposit-status.js';

/**
 * `deposit_sync`: the automatic status sync's schedule, one row per deposit of a provider with
 * a status API, made with the deposit (`insertDeposit`). Kept in Postgres so that it survives
 * restarts and any number of sidecars share it: a sidecar claims due rows with `for update skip
 * locked` and moves them forward by a lease in the same short statement, then asks the provider
 * with no lock held, then writes the next time. The only code that writes the table.
 */

/** When a new deposit's first sync is due and when its syncing gives up. */
export interface SyncEnrolment {
  afterSeconds: number;
  giveUpSeconds: number;
}

/**
 * The CTE that enrols the deposit a statement inserts (the CTE `inserted`, returning the row):
 * first due `afterSeconds` after creation, given up `giveUpSeconds` after its expiry.
 * @param after the parameter (`$n`) holding `afterSeconds`; @param giveUp holding `giveUpSeconds`.
 */
export function enrolInsertedSql(inserted: string, after: string, giveUp: string): string {
  return `insert into deposit_sync (deposit_id, provider, next_sync_at, interval_seconds, give_up_at)
    select id, provider, created_at + make_interval(secs => ${after}::int), ${after}::int,
      expires_at + make_interval(secs => ${giveUp}::int) from ${inserted}`;
}

/** A claimed row, with what the sidecar needs to decide: the deposit's state and its last event. */
export interface ClaimedSync {
  depositId: string;
  provider: string;
  providerRef: string | null;
  status: DepositStatus;
  /** Money was seen on it (an EXPIRED deposit with a payment is settled). */
  paid: boolean;
  intervalSeconds: number;
  attempts: number;
  giveUpAt: Date;
  /** Its newest timeline event, or its creation when it has none. */
  lastEventAt: Date;
  now: Date;
}

/**
 * Claims up to `limit` of `provider`'s due rows, oldest due first, skipping rows another sidecar
 * holds, and leases them: `next_sync_at` moves `leaseSeconds` ahead in the same statement, so
 * no one else claims them while the provider is asked (no lock is held meanwhile). A sidecar that
 * dies mid-sync leaves its rows to be claimed again when the lease runs out.
 */
export async function claimDueSyncs(
  sql: Sql,
  provider: string,
  limit: number,
  leaseSeconds: number,
): Promise<ClaimedSync[]> {
  const rows = await sql.query<{
    deposit_id: string;
    provider: string;
    provider_ref: string | null;
    status: DepositStatus;
    paid: boolean;
    interval_seconds: number;
    attempts: number;
    give_up_at: string;
    last_event_at: string;
    now: string;
  }>({
    name: 'sync-claim',
    text: CLAIM_SQL,
    values: [provider, limit, leaseSeconds],
  });
  return rows.rows.map((r) => ({
    depositId: r.deposit_id,
    provider: r.provider,
    providerRef: r.provider_ref,
    status: r.status,
    paid: r.paid,
    intervalSeconds: r.interval_seconds,
    attempts: r.attempts,
    giveUpAt: new Date(r.give_up_at),
    lastEventAt: new Date(r.last_event_at),
    now: new Date(r.now),
  }));
}

/** The claim: exported for the EXPLAIN in the README's recovery section and its test. */
export const CLAIM_SQL = `with due as (
    select s.deposit_id from deposit_sync s
    where s.provider = $1 and not s.done and s.next_sync_at <= now()
    order by s.next_sync_at limit $2
    for update skip locked),
  leased as (
    update deposit_sync s set next_sync_at = now() + make_interval(secs => $3::int)
    from due where s.deposit_id = due.deposit_id
    returning s.deposit_id, s.provider, s.interval_seconds, s.attempts, s.give_up_at)
  select l.deposit_id, l.provider, d.provider_ref, d.status, d.received_amount is not null as paid,
    l.interval_seconds, l.attempts, l.give_up_at,
    coalesce((select max(e.received_at) from deposit_event e where e.deposit_id = l.deposit_id), d.created_at)
      as last_event_at,
    now() as now
  from leased l join deposit d on d.id = l.deposit_id`;

/** What became of a claimed row: when next (or done), and what the sync said. */
export interface SyncResult {
  depositId: string;
  /** Seconds from now to the next sync; ignored when `done`. */
  nextInSeconds: number;
  intervalSeconds: number;
  /** Whether the provider was asked (counts an attempt). */
  attempted: boolean;
  outcome: string;
  done: boolean;
}

export async function finishSyncs(sql: Sql, results: readonly SyncResult[]): Promise<void> {
  if (results.length === 0) return;
  await sql.query(
    `update deposit_sync s set next_sync_at = now() + make_interval(secs => v.next_in),
       interval_seconds = v.interval_seconds, attempts = s.attempts + case when v.attempted then 1 else 0 end,
       last_outcome = v.outcome, last_synced_at = case when v.attempted then now() else s.last_synced_at end,
       done = v.done
     from unnest($1::uuid[], $2::float8[], $3::int[], $4::bool[], $5::text[], $6::bool[])
       as v(deposit_id, next_in, interval_seconds, attempted, outcome, done)
     where s.deposit_id = v.deposit_id`,
    [
      results.map((r) => r.depositId),
      results.map((r) => r.nextInSeconds),
      results.map((r) => r.intervalSeconds),
      results.map((r) => r.attempted),
      results.map((r) => r.outcome),
      results.map((r) => r.done),
    ],
  );
}
