import type pg from 'pg';
import type { Sql } from '../db/sql.js';
import type { DepositStatus } from '../domain/deposit-status.js';
import type { StatusTrace } from '../lib/trace.js';
import { columns, unnest, type BatchStatement } from './batch-statement.js';
import { DEPOSIT_COLUMNS, depositFromRow, type DepositRecord, type DepositRow } from './deposits.store.js';

/**
 * `outbox`: one row per deposit status change, written in the transaction that made it, and
 * the NOTIFY that wakes the relays on commit. The only code that publishes: whatever changes
 * a status (the applier, the expiry sweeper, whatever comes next) adds its changes to its
 * batch here, and the relay (`services/outbox-relay.ts`) sequences and publishes them.
 */

/** The channel of the NOTIFY sent with every commit that wrote outbox rows. */
export const OUTBOX_NOTIFY_CHANNEL = 'deposit_outbox';

export interface StatusChangeRow {
  deposit: Pick<DepositRecord, 'id' | 'tenantId' | 'userId'>;
  from: DepositStatus;
  to: DepositStatus;
}

/**
 * Adds outbox rows for `changes` to a batch, ids in the order given (the order the changes
 * happened in), and the NOTIFY, sent when the transaction commits. The same statement owes
 * each new row to every enabled merchant webhook endpoint of its tenant (one
 * `webhook_delivery` each, dispatched by `services/webhook-dispatcher.ts`): a change that
 * commits has its deliveries, nothing in between can lose them. A tenant without endpoints
 * costs one probe of the partial index `webhook_endpoint_enabled_idx` per row.
 */
export function addStatusChanges(batch: BatchStatement, changes: readonly StatusChangeRow[]): void {
  if (changes.length === 0) return;
  batch
    .addCte(
      'ob',
      `insert into outbox (tenant_id, deposit_id, user_id, status, previous_status)
        select tenant_id, deposit_id, user_id, status, previous_status
        from ${unnest(['uuid', 'uuid', 'text', 'text', 'text'])}
          with ordinality as v(tenant_id, deposit_id, user_id, status, previous_status, n)
        order by n
        returning id, tenant_id`,
      columns(changes, (c) => [c.deposit.tenantId, c.deposit.id, c.deposit.userId, c.to, c.from]),
    )
    .addCte(
      'wd',
      `insert into webhook_delivery (tenant_id, endpoint_id, outbox_id)
        select ob.tenant_id, e.id, ob.id from ob join webhook_endpoint e on e.tenant_id = ob.tenant_id and e.enabled
        on conflict (endpoint_id, outbox_id) do nothing`,
      [],
    )
    .addOutput(`pg_notify($1, '')`, [OUTBOX_NOTIFY_CHANNEL]);
}

/** Makes `client` receive a notification for every commit that wrote outbox rows. */
export async function listenForChanges(client: pg.Client): Promise<void> {
  await client.query(`listen ${OUTBOX_NOTIFY_CHANNEL}`);
}

/** A deposit as a published status change carries it: JSON, so its times are ISO strings. */
export type DepositView = Omit<DepositRecord, 'tenantId' | 'providerRef' | 'expiresAt' | 'createdAt' | 'updatedAt'> & {
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
};

/**
 * A published status change: the outbox row plus the deposit as it stands at publish time.
 * The relay publishes exactly what a replay reads back, so a subscriber cannot tell live from
 * replayed (and dedupes on `seq`).
 */
export interface StatusMessage {
  seq: string;
  tenantId: string;
  depositId: string;
  userId: string;
  status: DepositStatus;
  previousStatus: DepositStatus | null;
  occurredAt: string;
  deposit: DepositView;
  /** Only with `STATUS_TRACE=1`, only live (a replay has none): when each stage saw this change. */
  trace?: StatusTrace;
}

/** Columns of `outbox o join deposit d`: both the relay and the replay select exactly these. */
export const STATUS_CHANGE_COLUMNS = `o.seq, o.status as change_status, o.previous_status, o.occurred_at, ${DEPOSIT_COLUMNS}`;

export type StatusChangeSelected = DepositRow & {
  seq: string;
  change_status: DepositStatus;
  previous_status: DepositStatus | null;
  occurred_at: string | Date;
};

/** A row selected with `STATUS_CHANGE_COLUMNS` as the message the relay publishes (the merchant webhooks send it too). */
export function toMessage(r: StatusChangeSelected): StatusMessage {
  const { tenantId, providerRef: _ref, expiresAt, createdAt, updatedAt, ...deposit } = depositFromRow(r);
  return {
    seq: String(r.seq),
    tenantId,
    depositId: deposit.id,
    userId: deposit.userId,
    status: r.change_status,
    previousStatus: r.previous_status ?? null,
    occurredAt: new Date(r.occurred_at).toISOString(),
    deposit: {
      ...deposit,
      expiresAt: expiresAt.toISOString(),
      createdAt: createdAt.toISOString(),
      updatedAt: updatedAt.toISOString(),
    },
  };
}

/**
 * One statement gives the next `limit` unsequenced rows consecutive seq values in id order
 * (the cursor order of the subscription) and reads them, with any sequenced row an earlier
 * failed PUBLISH left behind (past `publishedUpTo`), in seq order. Only the relay's leader runs it.
 */
export async function sequenceNext(sql: Sql, limit: number, publishedUpTo: number): Promise<StatusMessage[]> {
  const rows = await sql.query<StatusChangeSelected>(
    `with todo as (select id from outbox where seq is null order by id limit $1 for update),
          numbered as (select id, row_number() over (order by id) as rn from todo),
          base as (select coalesce(max(seq), 0) as b from outbox),
          sequenced as (
            update outbox o set seq = base.b + numbered.rn from numbered, base where o.id = numbered.id returning o.*),
          leftover as (
            select * from outbox where published_at is null and seq > $2 order by seq limit $1)
     select ${STATUS_CHANGE_COLUMNS}
     from (select * from sequenced union all select * from leftover) o join deposit d on d.id = o.deposit_id
     order by o.seq`,
    [limit, publishedUpTo],
  );
  return rows.rows.map(toMessage);
}

/** Marks every change up to `upTo` published (after Redis took them). */
export async function markPublished(sql: Sql, upTo: number): Promise<void> {
  await sql.query('update outbox set published_at = now() where seq <= $1 and published_at is null', [upTo]);
}

/** Age in seconds of the oldest change not yet published (0 when none), read through the two partial indexes. */
export async function unpublishedAgeSeconds(sql: Sql): Promise<number> {
  const rows = await sql.query<{ lag: string | null }>(
    `select extract(epoch from now() - least(
       (select occurred_at from outbox where seq is null order by id limit 1),
       (select occurred_at from outbox where published_at is null and seq is not null order by seq limit 1))) as lag`,
  );
  return rows.rows[0].lag == null ? 0 : Math.max(0, Number(rows.rows[0].lag));
}

/** The newest sequenced change (0 before the first). */
export async function latestSeq(sql: Sql): Promise<bigint> {
  const rows = await sql.query<{ seq: string | null }>('select max(seq) as seq from outbox');
  return BigInt(rows.rows[0].seq ?? 0);
}

export interface ChangeFilter {
  tenantId: string;
  depositId?: string;
  userId?: string;
}

/** Up to `limit` sequenced changes after `afterSeq` that `filter` selects, in seq order (a subscription's replay). */
export async function changesAfter(
  sql: Sql,
  filter: ChangeFilter,
  afterSeq: bigint,
  limit: number,
): Promise<StatusMessage[]> {
  const params: unknown[] = [afterSeq.toString(), filter.tenantId];
  const where = ['o.seq > $1', 'o.tenant_id = $2'];
  if (filter.depositId) where.push(`o.deposit_id = $${params.push(filter.depositId)}`);
  if (filter.userId) where.push(`o.user_id = $${params.push(filter.userId)}`);
  const rows = await sql.query<StatusChangeSelected>(
    `select ${STATUS_CHANGE_COLUMNS} from outbox o join deposit d on d.id = o.deposit_id
     where ${where.join(' and ')} order by o.seq limit $${params.push(limit)}`,
    params,
  );
  return rows.rows.map(toMessage);
}
