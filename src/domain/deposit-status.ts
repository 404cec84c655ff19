/**
 * The one deposit state machine. Statuses only move forward along PROGRESS;
 * FINAL statuses never move, but for the two exceptions of contract rule 2
 * (an on-time payment completes an EXPIRED deposit; a late one records
 * LATE_PAYMENT on it), decided in `apply-rules.ts`.
 */
export enum DepositStatus {
  PENDING = 'PENDING',
  DETECTED = 'DETECTED',
  CONFIRMING = 'CONFIRMING',
  CONFIRMED = 'CONFIRMED',
  SCREENING = 'SCREENING',
  COMPLETED = 'COMPLETED',
  REJECTED = 'REJECTED',
  EXPIRED = 'EXPIRED',
  FAILED = 'FAILED',
  /** A completed deposit an operator reversed (`resolveDeposit` REVERSE): its credit was debited. Final. */
  REVERSED = 'REVERSED',
}

export enum PaymentState {
  CORRECT = 'CORRECT',
  UNDERPAID = 'UNDERPAID',
  OVERPAID = 'OVERPAID',
}

export enum RejectionReason {
  UNDERPAID = 'UNDERPAID',
  CURRENCY_MISMATCH = 'CURRENCY_MISMATCH',
  LATE_PAYMENT = 'LATE_PAYMENT',
}

export enum VerificationStatus {
  UNVERIFIED = 'UNVERIFIED',
  PENDING = 'PENDING',
  VERIFIED = 'VERIFIED',
  REJECTED = 'REJECTED',
  RETRY = 'RETRY',
}

/** The forward order. COMPLETED is the last step of progress and also final. */
export const PROGRESS: readonly DepositStatus[] = [
  DepositStatus.PENDING,
  DepositStatus.DETECTED,
  DepositStatus.CONFIRMING,
  DepositStatus.CONFIRMED,
  DepositStatus.SCREENING,
  DepositStatus.COMPLETED,
];

export const FINAL: ReadonlySet<DepositStatus> = new Set([
  DepositStatus.COMPLETED,
  DepositStatus.REJECTED,
  DepositStatus.EXPIRED,
  DepositStatus.FAILED,
  DepositStatus.REVERSED,
]);

export function isFinal(s: DepositStatus): boolean {
  return FINAL.has(s);
}

/** Position in the forward order; final non-progress statuses rank after everything. */
export function rank(s: DepositStatus): number {
  const i = PROGRESS.indexOf(s);
  return i === -1 ? PROGRESS.length : i;
}
