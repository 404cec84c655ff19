import type { DepositStatus, VerificationStatus } from './deposit-status.js';

/**
 * Our own event type: what every provider adapter normalizes its payload to.
 * Provider strings stop at the adapter, except `providerStatus`, kept verbatim
 * for the timeline. Amounts are canonical decimal strings.
 */

/** How an event names its deposit. */
export type DepositRef =
  /** Our UUID, carried by the provider as a reference (sandbox, layer1, depasify, finrax). */
  | { by: 'id'; depositId: string }
  /** The provider's own id for the payment, stored at creation (instap's sessionToken). */
  | { by: 'providerRef'; providerRef: string };

export interface DepositEventInput {
  kind: 'deposit';
  ref: DepositRef;
  /** The unified status this event maps to. */
  status: DepositStatus;
  /**
   * What the event asks of the deposit:
   * - `progress`: move forward to `status` (DETECTED..SCREENING);
   * - `payment`: the payment is complete: judge amount and currency, then COMPLETED or REJECTED;
   * - `fail`: FAILED; `expire`: EXPIRED;
   * - `record`: keep in the timeline, change nothing (e.g. instap NEW, depasify fiat_payment_failed);
   * - `paid-unreported`: the provider says the payment is complete but gives no amount (a status
   *   sync of instap): CONFIRMED at most, flagged for an operator, never credited.
   */
  effect: 'progress' | 'payment' | 'fail' | 'expire' | 'record' | 'paid-unreported';
  /** As the provider wrote it (SCREENING_REQUESTED, PAID, fiat_payment_received, ...). */
  providerStatus: string;
  amount?: string;
  currency?: string;
  /**
   * A second reading of the same money in another currency (finrax: the crypto
   * actually deposited, besides its display-currency value). The rules judge
   * `amount`/`currency` when that is the deposit's currency, else this one.
   */
  alternative?: { amount: string; currency: string };
  txHash?: string;
  network?: string;
  fee?: string;
  /** The provider's timestamp for the event, where it gives one. */
  occurredAt?: Date;
  /** When the money was paid, where the provider says (judges lateness, contract rule 2). */
  paidAt?: Date;
}

export interface VerificationEventInput {
  kind: 'verification';
  userId: string;
  status: VerificationStatus;
  providerStatus: string;
  occurredAt?: Date;
}

export interface WalletBalanceEventInput {
  kind: 'wallet-balance';
  address: string;
  asset: string;
  available: string;
  blockchain: string;
  reserved: string;
  occurredAt?: Date;
}

/** Verified and well-formed, but not something we apply (outgoing payments, other layer1 types...). Kept. */
export interface UnsupportedEventInput {
  kind: 'unsupported';
  providerStatus: string;
}

export type NormalizedEvent =
  DepositEventInput | VerificationEventInput | WalletBalanceEventInput | UnsupportedEventInput;
