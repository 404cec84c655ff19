import type pg from 'pg';
import { EventSource } from '../domain/audit.js';
import { DepositStatus } from '../domain/deposit-status.js';
import { canonical } from '../domain/money.js';
import { BadUserInputError } from '../lib/errors.js';
import type { LedgerEntryKind } from '../store/ledger.store.js';

/**
 * Reading money (contract: "The ledger"): a user's entries, newest first, and balances with what
 * is pending. Writing is `store/ledger.store.ts` alone.
 */

export interface LedgerEntryView {
  id: string;
  userId: string;
  currency: string;
  amount: string;
  balanceAfter: string;
  kind: LedgerEntryKind;
  depositId: string | null;
  createdAt: Date;
  /** The entry's place in the ledger: its cursor. */
  seq: string;
}

export interface LedgerPage {
  nodes: LedgerEntryView[];
  hasNextPage: boolean;
}

export interface BalanceView {
  userId: string;
  currency: string;
  available: string;
  pending: string;
}

/** Money seen but not final: the statuses between the first sighting and completion. */
export const PENDING_STATUSES = [
  DepositStatus.DETECTED,
  DepositStatus.CONFIRMING,
  DepositStatus.CONFIRMED,
  DepositStatus.SCREENING,
] as const;

const MAX_PAGE_SIZE = 100;
const CURSOR_PREFIX = 'ledger:';

export class LedgerService {
  constructor(private readonly pool: pg.Pool) {}

  /** A user's entries, newest first (the order Postgres gave them under the balance's lock), `currency` if given. */
  async entries(
    tenantId: string,
    f: { userId: string; currency?: string | null; first: number; after?: string | null },
  ): Promise<LedgerPage> {
    if (!Number.isInteger(f.first) || f.first < 1 || f.first > MAX_PAGE_SIZE) {
      throw new BadUserInputError('first', `must be between 1 and ${MAX_PAGE_SIZE}`);
    }
    const params: unknown[] = [tenantId, f.userId];
    const where = ['tenant_id = $1', 'user_id = $2'];
    if (f.currency != null) where.push(`currency = $${params.push(f.currency)}`);
    if (f.after != null) where.push(`seq < $${params.push(decodeCursor(f.after))}`);
    const rows = await this.pool.query<{
      id: string;
      user_id: string;
      currency: string;
      amount: string;
      balance_after: string;
      kind: LedgerEntryKind;
      deposit_id: string | null;
      created_at: string | Date;
      position: string;
    }>(
      `select id, user_id, currency, amount::text as amount, balance_after::text as balance_after, kind, deposit_id,
         created_at, seq::text as position
       from ledger_entry where ${where.join(' and ')} order by ledger_entry.seq desc limit $${params.push(f.first + 1)}`,
      params,
    );
    const nodes = rows.rows.slice(0, f.first).map((r) => ({
      id: r.id,
      userId: r.user_id,
      currency: r.currency,
      amount: canonical(r.amount),
      balanceAfter: canonical(r.balance_after),
      kind: r.kind,
      depositId: r.deposit_id,
      createdAt: new Date(r.created_at),
      seq: r.position,
    }));
    return { nodes, hasNextPage: rows.rows.length > f.first };
  }

  /**
   * A user's balances with what is pending, every currency where either is non-zero, read in one
   * statement (one snapshot): the transaction that completes a deposit moves its amount from
   * pending to available at once, and no reader sees it in both or in neither.
   */
  async balances(tenantId: string, userId: string): Promise<BalanceView[]> {
    const rows = await this.pool.query<{ currency: string; available: string; pending: string }>(
      `with pend as (
         select e.currency, sum(e.amount) as pending
         from deposit d
         cross join lateral (
           select ev.amount, ev.currency from deposit_event ev
           where ev.deposit_id = d.id and ev.amount is not null
             and ev.source in ('${EventSource.WEBHOOK}', '${EventSource.SYNC}')
           order by ev.occurred_at desc, ev.received_at desc, ev.inbox_id desc nulls last
           limit 1) e
         where d.tenant_id = $1 and d.user_id = $2
           and d.status in (${PENDING_STATUSES.map((s) => `'${s}'`).join(', ')})
         group by e.currency),
       bal as (select currency, available from balance where tenant_id = $1 and user_id = $2)
       select coalesce(b.currency, p.currency) as currency,
              coalesce(b.available, 0)::text as available, coalesce(p.pending, 0)::text as pending
       from bal b full join pend p on p.currency = b.currency
       where coalesce(b.available, 0) <> 0 or coalesce(p.pending, 0) <> 0
       order by 1`,
      [tenantId, userId],
    );
    return rows.rows.map((r) => ({
      userId,
      currency: r.currency,
      available: canonical(r.available),
      pending: canonical(r.pending),
    }));
  }
}

export function encodeLedgerCursor(seq: string): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = text.startsWith(CURSOR_PREFIX) ? text.slice(CURSOR_PREFIX.length) : '';
  if (!/^[1-9]\d{0,17}$/.test(seq)) throw new BadUserInputError('after', 'is not a cursor returned by this API');
  return seq;
}
