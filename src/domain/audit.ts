import { DepositStatus, RejectionReason } from './deposit-status.js';

/**
 * Where a deposit's timeline event came from, and how an operator settled exception
 * money. Every change to a deposit has an event; nothing is edited in place.
 */
export enum EventSource {
  /** A provider's delivery to the sidecar. */
  WEBHOOK = 'WEBHOOK',
  /** The provider's answer to a status request (`syncDeposit`, the automatic sync). */
  SYNC = 'SYNC',
  /** An operator's resolution (`resolveDeposit`). */
  OPERATOR = 'OPERATOR',
  /** The gateway itself (expiry by the sweeper). */
  SYSTEM = 'SYSTEM',
}

export enum Resolution {
  CREDITED_MANUALLY = 'CREDITED_MANUALLY',
  REFUNDED = 'REFUNDED',
  REVERSED = 'REVERSED',
}

/**
 * The operator's inbox, as Postgres computes it (a stored generated column on `deposit`,
 * indexed): money was received and neither credited nor resolved, or a status sync saw a
 * completed payment whose amount nobody reported. Kept here, beside the enums it names,
 * so the migration and any reader share one definition.
 */
export const NEEDS_ATTENTION_SQL = `("resolution" is null and (
  ("received_amount" is not null and ("status" = '${DepositStatus.REJECTED}' or ("status" = '${DepositStatus.EXPIRED}' and "rejection_reason" = '${RejectionReason.LATE_PAYMENT}')))
  or ("amount_unreported" and "status" <> '${DepositStatus.COMPLETED}')))`;
