import type { Sql } from '../db/sql.js';
import { VerificationStatus } from '../domain/deposit-status.js';
import type { VerificationEventInput } from '../domain/events.js';

/** `user_verification`: a user's latest identity verification (depasify). The only code that writes it. */

/**
 * Latest wins by the provider's time, so reordered deliveries settle on the newest verdict.
 * @returns whether the event changed the stored verification.
 */
export async function upsertVerification(sql: Sql, e: VerificationEventInput, receivedAt: Date): Promise<boolean> {
  const rows = await sql.query(
    `insert into user_verification (user_id, status, provider_status, occurred_at) values ($1, $2, $3, $4)
     on conflict (user_id) do update set status = excluded.status, provider_status = excluded.provider_status, occurred_at = excluded.occurred_at
     where user_verification.occurred_at <= excluded.occurred_at
     returning user_id`,
    [e.userId, e.status, e.providerStatus, e.occurredAt ?? receivedAt],
  );
  return rows.rows.length > 0;
}

/** Whether identity verification rejected the user (createDeposit refuses them). */
export async function isRejected(sql: Sql, userId: string): Promise<boolean> {
  const rows = await sql.query({
    name: 'deposit-user-rejected',
    text: 'select 1 from user_verification where user_id = $1 and status = $2',
    values: [userId, VerificationStatus.REJECTED],
  });
  return rows.rows.length > 0;
}
