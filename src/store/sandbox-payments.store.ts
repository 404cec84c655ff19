import type { Sql } from '../db/sql.js';
import { canonical } from '../domain/money.js';
import type { RecordedPayment } from '../providers/provider.js';

/**
 * `sandbox_payment`: what the sandbox was paid, one row per deposit (the primary key), as a
 * provider's own books. Its status API reads it back (`syncDeposit` on a sandbox deposit).
 * The only code that writes the table.
 */

/** Records a payment; a later one for the same deposit replaces it (the sandbox's own books). */
export async function recordSandboxPayment(
  sql: Sql,
  p: { depositId: string; status: 'PAID' | 'FAILED'; amount: string | null; currency: string | null },
): Promise<void> {
  await sql.query(
    `insert into sandbox_payment (deposit_id, amount, currency, status, paid_at) values ($1, $2, $3, $4, now())
     on conflict (deposit_id) do update set amount = excluded.amount, currency = excluded.currency,
       status = excluded.status, paid_at = excluded.paid_at`,
    [p.depositId, p.amount, p.currency, p.status],
  );
}

export async function findSandboxPayment(sql: Sql, depositId: string): Promise<RecordedPayment | undefined> {
  const rows = await sql.query<{
    amount: string | null;
    currency: string | null;
    status: 'PAID' | 'FAILED';
    paid_at: string;
  }>('select amount::text, currency, status, paid_at from sandbox_payment where deposit_id = $1', [depositId]);
  const r = rows.rows[0];
  if (!r) return undefined;
  return {
    status: r.status,
    amount: r.amount == null ? null : canonical(r.amount),
    currency: r.currency,
    paidAt: new Date(r.paid_at),
  };
}
