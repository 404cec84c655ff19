import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Sql } from '../db/sql.js';
import type { DepositRef } from '../domain/events.js';
import { columns, unnest, type BatchStatement } from './batch-statement.js';
import { DEPOSIT_COLUMNS, depositFromRow, lookupRef, type DepositRecord, type DepositRow } from './deposits.store.js';

/**
 * `webhook_inbox`: every verified delivery, stored raw before it is acknowledged, and what
 * became of it. The unique (provider, dedupe_key) is the idempotency of delivery. The only
 * code that writes the table.
 */

/** The width of `webhook_inbox.dedupe_key`. */
const MAX_KEY_LENGTH = 255;

/**
 * The inbox key of a delivery. Standard Webhooks sets no limit on `webhook-id`: a longer
 * one is kept as its SHA-256, which is as stable across the provider's retries, instead
 * of failing the insert (and answering 503 to a delivery that could never be stored).
 */
export function inboxKey(dedupeKey: string): string {
  return dedupeKey.length <= MAX_KEY_LENGTH
    ? dedupeKey
    : `sha256:${createHash('sha256').update(dedupeKey).digest('hex')}`;
}

/** A delivery to store: its provider and inbox key, what is kept of it, and its deposit reference. */
export interface Delivery {
  provider: string;
  dedupeKey: string;
  headers: Record<string, string>;
  body: string;
  /** The deposit it names, if it names one. */
  ref?: DepositRef;
  /** A provider's delivery (the default) or its answer to our status request (`sync:` keys). */
  source?: InboxSource;
}

/** `webhook_inbox.source`: who sent it, a provider on its own or a provider we asked. */
export type InboxSource = 'WEBHOOK' | 'SYNC';

/** A delivery as stored, with its deposit (if it names one that exists) locked. */
export interface StoredDelivery {
  inboxId: string;
  receivedAt: Date;
  deposit?: DepositRecord;
}

/**
 * Stores a batch and locks its deposits in one statement. Locks are taken in one global
 * order, deposits by id and then inbox keys by (provider, key), and the inserts wait for
 * every deposit lock (they read the lock's result): transactions sharing deposits or
 * copies of one message wait for each other but never in a circle. A copy of a message
 * another transaction is storing queues behind its deposit lock and then finds it stored.
 * The first of several copies in one batch is stored (its body, its deposit: the statement
 * orders copies by their place in the batch); the others are its duplicates.
 * @returns per delivery: what was stored, or 'duplicate'.
 */
export async function storeAndLock(c: pg.PoolClient, batch: Delivery[]): Promise<(StoredDelivery | 'duplicate')[]> {
  const refs = batch.map((e) => (e.ref ? lookupRef(e.ref) : undefined));
  const rows = await c.query<
    { inbox_id: string; inbox_provider: string; inbox_key: string; received_at: string } & Partial<DepositRow>
  >({
    name: 'store-batch',
    text: `with input as (
         select * from unnest($1::text[], $2::text[], $3::jsonb[], $4::text[], $5::uuid[], $6::text[], $7::text[])
           with ordinality as i(provider, dedupe_key, headers, body, ref_id, ref_pref, source, n)),
       ids as (
         select id from deposit where id = any($5::uuid[])
         union select d.id from input i join deposit d on d.provider = i.provider and d.provider_ref = i.ref_pref),
       d as materialized (
         select ${DEPOSIT_COLUMNS} from deposit d
         where d.id = any(array(select id from ids)) order by d.id for update),
       stored as (
         insert into webhook_inbox (provider, dedupe_key, headers, body, source)
         select provider, dedupe_key, headers, body, source from input, (select count(*) from d) locked
         order by provider, dedupe_key, n
         on conflict (provider, dedupe_key) do nothing returning id, provider, dedupe_key, received_at)
       select distinct on (s.id) s.id as inbox_id, s.provider as inbox_provider, s.dedupe_key as inbox_key,
         s.received_at, ${DEPOSIT_COLUMNS}
       from stored s join input i on i.provider = s.provider and i.dedupe_key = s.dedupe_key
       left join d on d.provider = i.provider and (d.id = i.ref_id or d.provider_ref = i.ref_pref)
       order by s.id, i.n`,
    values: [
      batch.map((e) => e.provider),
      batch.map((e) => e.dedupeKey),
      batch.map((e) => JSON.stringify(e.headers)),
      batch.map((e) => e.body),
      refs.map((r) => (r?.by === 'id' ? r.depositId : null)),
      refs.map((r) => (r?.by === 'providerRef' ? r.providerRef : null)),
      batch.map((e) => e.source ?? 'WEBHOOK'),
    ],
  });
  const byKey = new Map(rows.rows.map((r) => [`${r.inbox_provider}\u0000${r.inbox_key}`, r]));
  return batch.map((e) => {
    const key = `${e.provider}\u0000${e.dedupeKey}`;
    const row = byKey.get(key);
    if (!row) return 'duplicate';
    byKey.delete(key);
    return {
      inboxId: String(row.inbox_id),
      receivedAt: new Date(row.received_at),
      deposit: row.id ? depositFromRow(row as DepositRow) : undefined,
    };
  });
}

/**
 * Stores a delivery without applying it, with the reason it was not (the processor applies
 * it later). @returns its inbox id, or undefined when it was stored already.
 */
export async function storeUnapplied(sql: Sql, e: Delivery, error: string): Promise<string | undefined> {
  const stored = await sql.query<{ id: string }>(
    `insert into webhook_inbox (provider, dedupe_key, headers, body, error, source) values ($1, $2, $3, $4, $5, $6)
     on conflict (provider, dedupe_key) do nothing returning id`,
    [e.provider, e.dedupeKey, JSON.stringify(e.headers), e.body, error, e.source ?? 'WEBHOOK'],
  );
  return stored.rows[0] ? String(stored.rows[0].id) : undefined;
}

/**
 * Locks a stored delivery for applying it, unless another transaction holds it (the request
 * path and the background processor take turns) or, without `force`, it was processed.
 */
export async function claimStored(c: pg.PoolClient, inboxId: string, force: boolean): Promise<boolean> {
  const claim = await c.query(
    `select id from webhook_inbox where id = $1 ${force ? '' : 'and processed_at is null'} for update skip locked`,
    [inboxId],
  );
  return claim.rows.length > 0;
}

export interface InboxOutcome {
  inboxId: string;
  /** applied | unchanged | unmatched | unsupported */
  outcome: string;
  depositId: string | null;
}

/** Marks deliveries processed, with what became of them, in a batch. */
export function addInboxOutcomes(batch: BatchStatement, outcomes: readonly InboxOutcome[]): void {
  batch.addCte(
    'inbox',
    `update webhook_inbox w set processed_at = now(), outcome = v.outcome, deposit_id = v.deposit_id,
        error = null, attempts = w.attempts + 1
      from ${unnest(['bigint', 'text', 'uuid'])} as v(id, outcome, deposit_id)
      where w.id = v.id`,
    columns(outcomes, (o) => [o.inboxId, o.outcome, o.depositId]),
  );
}

/** A stored delivery, as the processor and the replay read it back. */
export interface InboxRow {
  id: string;
  provider: string;
  body: string;
  received_at: Date | string;
  source: InboxSource;
}

export interface RetrySchedule {
  maxAttempts: number;
  firstRetryMs: number;
}

/**
 * Unprocessed rows of `providers` that are due: older than `minAgeMs` (younger ones are still
 * in their request) and past their next attempt, `firstRetryMs × (2^attempts − 1)` after
 * receipt. Those tried least first.
 */
export async function dueForRetry(
  sql: Sql,
  providers: readonly string[],
  s: RetrySchedule & { minAgeMs: number; limit: number },
): Promise<InboxRow[]> {
  const rows = await sql.query<InboxRow>(
    `select id, provider, body, received_at, source from webhook_inbox
     where processed_at is null and provider = any($1::text[])
       and received_at < now() - make_interval(secs => greatest($2, $3 * (power(2, least(attempts, $4)) - 1)))
     order by attempts, id limit $5`,
    [providers, s.minAgeMs / 1000, s.firstRetryMs / 1000, s.maxAttempts - 1, s.limit],
  );
  return rows.rows;
}

/**
 * Counts a failed attempt. The attempt that reaches `maxAttempts` gives up: the row is
 * processed with outcome `gaveUp` and the reason, in the same statement, so it happens once
 * however many processors share the table. A forced replay only records its error.
 * @returns the attempts so far and whether this one gave up; undefined when the row was
 *   processed meanwhile.
 */
export async function recordFailure(
  sql: Sql,
  inboxId: string,
  r: { reason: string; force: boolean; maxAttempts: number; gaveUp: string },
): Promise<{ attempts: number; gave_up: boolean } | undefined> {
  const updated = r.force
    ? await sql.query<{ attempts: number; gave_up: boolean }>(
        `update webhook_inbox set attempts = attempts + 1, error = $1 where id = $2
         returning attempts, false as gave_up`,
        [r.reason, inboxId],
      )
    : await sql.query<{ attempts: number; gave_up: boolean }>(
        `update webhook_inbox set attempts = attempts + 1,
           processed_at = case when attempts + 1 >= $1 then now() end,
           outcome = case when attempts + 1 >= $1 then $2 end,
           error = case when attempts + 1 >= $1 then 'gave up after ' || (attempts + 1) || ' attempts: ' else '' end || $3
         where id = $4 and processed_at is null
         returning attempts, processed_at is not null as gave_up`,
        [r.maxAttempts, r.gaveUp, r.reason, inboxId],
      );
  return updated.rows[0];
}

/** A page of `provider`'s deliveries received since `since`, after inbox id `afterId`, oldest first. */
export async function storedSince(
  sql: Sql,
  provider: string,
  since: Date,
  afterId: string,
  limit: number,
): Promise<InboxRow[]> {
  const rows = await sql.query<InboxRow>(
    `select id, provider, body, received_at, source from webhook_inbox
     where provider = $1 and received_at >= $2 and id > $3 order by id limit $4`,
    [provider, since, afterId, limit],
  );
  return rows.rows;
}

export async function countSince(sql: Sql, provider: string, since: Date): Promise<number> {
  const rows = await sql.query<{ n: string }>(
    'select count(*) as n from webhook_inbox where provider = $1 and received_at >= $2',
    [provider, since],
  );
  return Number(rows.rows[0].n);
}
