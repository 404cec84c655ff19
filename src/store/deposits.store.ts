import type pg from 'pg';
import type { Sql } from '../db/sql.js';
import type { Resolution } from '../domain/audit.js';
import { DepositStatus, type PaymentState, type RejectionReason } from '../domain/deposit-status.js';
import type { DepositRef } from '../domain/events.js';
import { canonical } from '../domain/money.js';
import type { Deposit } from '../entities/deposit.entity.js';
import { isUuid } from '../lib/ids.js';
import { columns, unnest, type BatchStatement } from './batch-statement.js';
import { enrolInsertedSql, type SyncEnrolment } from './sync-schedule.store.js';

/**
 * `deposit`: created by createDeposit, moved along by the applier and the expiry sweeper,
 * through here only. One row type, one list of columns, one mapper: every reader of a
 * deposit row (the API, the rules, the published status changes) gets the same object.
 */

/** A `deposit` row as the pool returns it (MikroORM's type parsers: numerics and times as text). */
export interface DepositRow {
  id: string;
  tenant_id: string;
  user_id: string;
  provider: string;
  currency: string;
  amount: string | null;
  min_amount: string | null;
  max_amount: string | null;
  status: DepositStatus;
  received_amount: string | null;
  received_currency: string | null;
  payment_state: PaymentState | null;
  rejection_reason: RejectionReason | null;
  checkout_url: string | null;
  redirect_url: string | null;
  provider_ref: string | null;
  resolution: Resolution | null;
  amount_unreported: boolean;
  needs_attention: boolean;
  /** Timestamps come as Postgres prints them: `new Date` reads that. */
  expires_at: string;
  created_at: string;
  updated_at: string;
}

/** Every column of `DepositRow`, from a `deposit` aliased `d`. */
export const DEPOSIT_COLUMNS = `d.id, d.tenant_id, d.user_id, d.provider, d.currency, d.amount, d.min_amount, d.max_amount,
  d.status, d.received_amount, d.received_currency, d.payment_state, d.rejection_reason, d.checkout_url, d.redirect_url,
  d.provider_ref, d.resolution, d.amount_unreported, d.needs_attention, d.expires_at, d.created_at, d.updated_at`;

/** A deposit as the code uses it: the entity's fields, with its tenant as an id. */
export type DepositRecord = Omit<Deposit, 'tenant'> & { tenantId: string };

const decimal = (v: string | null): string | null => (v == null ? null : canonical(v));

/** The row as the entity would read it (amounts canonical, as ExactDecimalType gives them). */
export function depositFromRow(r: DepositRow): DepositRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userId: r.user_id,
    provider: r.provider,
    currency: r.currency,
    amount: decimal(r.amount),
    minAmount: decimal(r.min_amount),
    maxAmount: decimal(r.max_amount),
    receivedAmount: decimal(r.received_amount),
    receivedCurrency: r.received_currency,
    paymentState: r.payment_state,
    status: r.status,
    rejectionReason: r.rejection_reason,
    checkoutUrl: r.checkout_url,
    redirectUrl: r.redirect_url,
    providerRef: r.provider_ref,
    resolution: r.resolution,
    amountUnreported: r.amount_unreported,
    needsAttention: r.needs_attention,
    expiresAt: new Date(r.expires_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export interface NewDeposit {
  id: string;
  tenantId: string;
  userId: string;
  provider: string;
  currency: string;
  amount: string | null;
  minAmount: string | null;
  maxAmount: string | null;
  checkoutUrl: string | null;
  redirectUrl: string | null;
  providerRef: string | null;
  /** It expires this long after Postgres's now. */
  ttlSeconds: number;
  /** Its provider has a status API: enrolled in the automatic sync's schedule in the same statement. */
  sync?: SyncEnrolment;
}

const INSERT = `insert into deposit (id, tenant_id, user_id, provider, currency, amount, min_amount, max_amount, status,
    checkout_url, redirect_url, provider_ref, expires_at)
  values ($1, $2, $3, $4, $5, $6, $7, $8, '${DepositStatus.PENDING}', $9, $10, $11, now() + make_interval(secs => $12))
  returning *`;

const INSERT_ENROLLED = `with inserted as (${INSERT}), enrolled as (${enrolInsertedSql('inserted', '$13', '$14')})
  select * from inserted`;

/** Stores a new deposit, PENDING (prepared: createDeposit's hot path). */
export async function insertDeposit(sql: Sql, d: NewDeposit): Promise<DepositRecord> {
  const values: unknown[] = [d.id, d.tenantId, d.userId, d.provider, d.currency, d.amount, d.minAmount, d.maxAmount];
  values.push(d.checkoutUrl, d.redirectUrl, d.providerRef, d.ttlSeconds);
  if (d.sync) values.push(d.sync.afterSeconds, d.sync.giveUpSeconds);
  const rows = await sql.query<DepositRow>(
    d.sync
      ? { name: 'deposit-insert-enrolled', text: INSERT_ENROLLED, values }
      : { name: 'deposit-insert', text: INSERT, values },
  );
  return depositFromRow(rows.rows[0]);
}

/**
 * How an event's reference is looked up, always among its provider's deposits: by our id (only
 * if it is a UUID: anything else cannot match, and Postgres would refuse the cast) or by the
 * provider's own reference. `undefined`: it names no deposit we could have.
 */
export function lookupRef(ref: DepositRef): DepositRef | undefined {
  return ref.by === 'id' && !isUuid(ref.depositId) ? undefined : ref;
}

/** One deposit of `provider` by an event's reference, locked for the rest of the transaction. */
export async function lockDeposit(
  c: pg.PoolClient,
  provider: string,
  ref: DepositRef,
): Promise<DepositRecord | undefined> {
  const found = lookupRef(ref);
  if (!found) return undefined;
  const rows = await c.query<DepositRow>(
    `select ${DEPOSIT_COLUMNS} from deposit d
     where ${found.by === 'id' ? 'd.id' : 'd.provider_ref'} = $1 and d.provider = $2 for update`,
    [found.by === 'id' ? found.depositId : found.providerRef, provider],
  );
  return rows.rows[0] ? depositFromRow(rows.rows[0]) : undefined;
}

/**
 * Deposits still in `status` whose `expiresAt` is before `now`, oldest first, locked; rows
 * another sweeper (or a payment) holds are skipped, not waited for.
 */
export async function lockExpiring(
  c: pg.PoolClient,
  status: DepositStatus,
  now: Date,
  limit: number,
): Promise<DepositRecord[]> {
  const rows = await c.query<DepositRow>(
    // The status is interpolated from the enum, not bound, so the partial index on PENDING applies.
    `select ${DEPOSIT_COLUMNS} from deposit d where d.status = '${status}' and d.expires_at < $1
     order by d.expires_at limit $2 for update skip locked`,
    [now, limit],
  );
  return rows.rows.map(depositFromRow);
}

/** Writes what the rules changed on each deposit (status, money received, judgement) in a batch. */
export function addDepositUpdates(batch: BatchStatement, deposits: readonly DepositRecord[]): void {
  if (deposits.length === 0) return;
  batch.addCte(
    'upd',
    `update deposit d set status = v.status, received_amount = v.received_amount,
        received_currency = v.received_currency, payment_state = v.payment_state,
        rejection_reason = v.rejection_reason, amount_unreported = v.amount_unreported, updated_at = now()
      from ${unnest(['uuid', 'text', 'numeric', 'text', 'text', 'text', 'bool'])}
        as v(id, status, received_amount, received_currency, payment_state, rejection_reason, amount_unreported)
      where d.id = v.id`,
    columns(deposits, (d) => [
      d.id,
      d.status,
      d.receivedAmount ?? null,
      d.receivedCurrency ?? null,
      d.paymentState ?? null,
      d.rejectionReason ?? null,
      d.amountUnreported ?? false,
    ]),
  );
}

/** A deposit of `tenantId` by id, locked for the rest of the transaction (an operator's resolution). */
export async function lockTenantDeposit(
  c: pg.PoolClient,
  tenantId: string,
  id: string,
): Promise<DepositRecord | undefined> {
  if (!isUuid(id)) return undefined;
  const rows = await c.query<DepositRow>(
    `select ${DEPOSIT_COLUMNS} from deposit d where d.id = $1 and d.tenant_id = $2 for update`,
    [id, tenantId],
  );
  return rows.rows[0] ? depositFromRow(rows.rows[0]) : undefined;
}

/**
 * Writes an operator's resolution (and the status it leaves) in a batch. Only on a deposit not
 * resolved yet: a second resolution updates nothing (`resolved` reads whether it did).
 */
export function addResolution(
  batch: BatchStatement,
  r: { id: string; status: DepositStatus; resolution: Resolution },
): void {
  batch
    .addCte(
      'rsl',
      `update deposit set status = $2, resolution = $3, updated_at = now()
        where id = $1 and resolution is null returning id`,
      [r.id, r.status, r.resolution],
    )
    .addOutput('(select count(*) from rsl) = 1 as resolved');
}

/** A deposit by id, of `tenantId` when given (a client token or the sandbox page names any tenant's). */
export async function findDeposit(sql: Sql, id: string, tenantId?: string): Promise<DepositRecord | null> {
  if (!isUuid(id)) return null;
  const rows = await sql.query<DepositRow>(
    `select ${DEPOSIT_COLUMNS} from deposit d where d.id = $1 ${tenantId === undefined ? '' : 'and d.tenant_id = $2'}`,
    tenantId === undefined ? [id] : [id, tenantId],
  );
  return rows.rows[0] ? depositFromRow(rows.rows[0]) : null;
}

export interface DepositFilter {
  userId?: string | null;
  status?: DepositStatus | null;
  /** The operator's inbox (or everything else): read through the partial index `deposit_attention_idx`. */
  needsAttention?: boolean | null;
  /** The last deposit of the previous page: the page starts after it, in the list's order. */
  afterId?: string;
  limit: number;
}

/** A tenant's deposits, newest first (`created_at`, then `id`). */
export async function listDeposits(sql: Sql, tenantId: string, f: DepositFilter): Promise<DepositRecord[]> {
  const params: unknown[] = [tenantId];
  const where = ['d.tenant_id = $1'];
  if (f.userId != null) where.push(`d.user_id = $${params.push(f.userId)}`);
  if (f.status != null) where.push(`d.status = $${params.push(f.status)}`);
  // Literal, not bound: the planner matches the partial index's predicate only on the text it sees.
  if (f.needsAttention != null) where.push(f.needsAttention ? 'd.needs_attention' : 'not d.needs_attention');
  if (f.afterId !== undefined) {
    where.push(
      `(d.created_at, d.id) < (select c.created_at, c.id from deposit c where c.id = $${params.push(f.afterId)} and c.tenant_id = $1)`,
    );
  }
  const rows = await sql.query<DepositRow>(
    `select ${DEPOSIT_COLUMNS} from deposit d where ${where.join(' and ')}
     order by d.created_at desc, d.id desc limit $${params.push(f.limit)}`,
    params,
  );
  return rows.rows.map(depositFromRow);
}
