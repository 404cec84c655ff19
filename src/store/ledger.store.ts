import { columns, unnest, type BatchStatement } from './batch-statement.js';
import type { DepositRecord } from './deposits.store.js';

/**
 * `ledger_entry` and `balance`: the only code that moves money. A credit is one ledger row per
 * deposit, ever, enforced by the unique `deposit_id` (the exactly-once guarantee), and the
 * user's balance grows by exactly what the ledger took, in the same statement. The rule that
 * decides a credit is `decide` in `domain/apply-rules.ts`.
 */

export interface Credit {
  deposit: Pick<DepositRecord, 'id' | 'tenantId' | 'userId'>;
  amount: string;
  currency: string;
}

/** Adds the credits to a batch; `creditedBy` then reads which ones the ledger took. */
export function addCredits(batch: BatchStatement, credits: readonly Credit[]): void {
  if (credits.length === 0) return;
  batch
    .addCte(
      'led',
      `insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount)
        select gen_random_uuid(), * from ${unnest(['uuid', 'uuid', 'text', 'text', 'numeric'])}
        on conflict (deposit_id) do nothing returning deposit_id, tenant_id, user_id, currency, amount`,
      columns(credits, ({ deposit: d, currency, amount }) => [d.id, d.tenantId, d.userId, currency, amount]),
    )
    .addCte(
      'bal',
      `insert into balance (id, tenant_id, user_id, currency, available)
        select gen_random_uuid(), tenant_id, user_id, currency, sum(amount) from led group by tenant_id, user_id, currency
        on conflict (tenant_id, user_id, currency)
        do update set available = balance.available + excluded.available, updated_at = now()`,
      [],
    )
    .addOutput('array(select deposit_id::text from led) as credited');
}

/** The deposits a batch's statement credited: a credit the ledger already held (an earlier delivery) is not one. */
export function creditedBy(result: Record<string, unknown>): Set<string> {
  return new Set((result.credited as string[] | undefined) ?? []);
}
