import type { Sql } from '../db/sql.js';
import { canonical } from '../domain/money.js';
import { columns, unnest, type BatchStatement } from './batch-statement.js';
import type { DepositRecord } from './deposits.store.js';

/**
 * `ledger_entry` and `balance`: the only code that moves money. Every change to a balance is an
 * entry (a deposit's credit, an operator's manual credit or reversal); Postgres adds each entry
 * to its balance and stamps its `balance_after` (trigger `ledger_entry_post`, migration
 * 20261126152000) and refuses any other write to `balance`, so a balance is the sum of its
 * entries. One credit per deposit and one reversal, by unique indexes (the exactly-once
 * guarantee). The rules that decide them: `decide` in `domain/apply-rules.ts`, `resolve` in
 * `domain/resolution-rules.ts`.
 */

export type LedgerEntryKind = 'DEPOSIT' | 'MANUAL_CREDIT' | 'REVERSAL';

export interface Credit {
  deposit: Pick<DepositRecord, 'id' | 'tenantId' | 'userId'>;
  amount: string;
  currency: string;
}

export interface Entry extends Credit {
  /** DEPOSIT when absent. REVERSAL amounts are negative, the others positive (checked by Postgres). */
  kind?: LedgerEntryKind;
}

/** Adds the credits to a batch; `creditedBy` then reads which ones the ledger took. */
export function addCredits(batch: BatchStatement, credits: readonly Credit[]): void {
  addEntries(batch, credits);
}

/**
 * Adds ledger entries to a batch. The trigger updates the balance before Postgres checks
 * uniqueness, so an entry is guarded by `not exists` (its deposit's row lock, held by every
 * writer, makes that check exact) and never by `on conflict do nothing`: a duplicate that got
 * past it fails the statement, balance and all. Entries are inserted per user and currency in
 * the order given (each one's `balance_after` follows the one before), owners in a fixed order
 * so that two batches never wait for each other's balance rows the other way round.
 */
export function addEntries(batch: BatchStatement, entries: readonly Entry[]): void {
  if (entries.length === 0) return;
  batch
    .addCte(
      'led',
      `insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount, kind)
        select gen_random_uuid(), v.deposit_id, v.tenant_id, v.user_id, v.currency, v.amount, v.kind
        from ${unnest(['uuid', 'uuid', 'text', 'text', 'numeric', 'text'])}
          with ordinality as v(deposit_id, tenant_id, user_id, currency, amount, kind, n)
        where not exists (select 1 from ledger_entry e
          where e.deposit_id = v.deposit_id and (e.kind = 'REVERSAL') = (v.kind = 'REVERSAL'))
        order by v.tenant_id, v.user_id, v.currency, v.n
        returning deposit_id, kind, amount, balance_after`,
      columns(entries, ({ deposit: d, currency, amount, kind }) => [
        d.id,
        d.tenantId,
        d.userId,
        currency,
        amount,
        kind ?? 'DEPOSIT',
      ]),
    )
    .addOutput('array(select deposit_id::text from led) as credited');
}

/**
 * What a deposit's entries sum to, per currency, in a transaction that holds its row lock (what a
 * REVERSAL debits).
 */
export async function depositTotals(sql: Sql, depositId: string): Promise<{ amount: string; currency: string }[]> {
  const rows = await sql.query<{ currency: string; amount: string }>(
    `select currency, sum(amount)::text as amount from ledger_entry where deposit_id = $1
     group by currency having sum(amount) <> 0 order by currency`,
    [depositId],
  );
  return rows.rows.map((r) => ({ currency: r.currency, amount: canonical(r.amount) }));
}

/** The deposits a batch's statement credited: a credit the ledger already held (an earlier delivery) is not one. */
export function creditedBy(result: Record<string, unknown>): Set<string> {
  return new Set((result.credited as string[] | undefined) ?? []);
}
