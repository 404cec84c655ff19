import { Resolution } from './audit.js';
import { DepositStatus, RejectionReason } from './deposit-status.js';
import { canonical, Dec } from './money.js';

/**
 * Pure rules for an operator's resolution of exception money (contract: "Operators resolve
 * exception money"). No I/O: `services/resolutions.service.ts` locks the deposit row, asks
 * `availableActions` and `resolve` here on the locked row, and writes what they return.
 */

export enum ResolutionAction {
  CREDIT = 'CREDIT',
  MARK_REFUNDED = 'MARK_REFUNDED',
  REVERSE = 'REVERSE',
}

/** The timeline's `providerStatus` of each action (source OPERATOR). */
export const RESOLUTION_EVENT: Record<ResolutionAction, string> = {
  [ResolutionAction.CREDIT]: 'MANUAL_CREDIT',
  [ResolutionAction.MARK_REFUNDED]: 'MANUAL_REFUND',
  [ResolutionAction.REVERSE]: 'MANUAL_REVERSAL',
};

/** What the rules read of a deposit. */
export interface ResolvableDeposit {
  status: DepositStatus;
  rejectionReason?: RejectionReason | null;
  receivedAmount?: string | null;
  receivedCurrency?: string | null;
  resolution?: Resolution | null;
}

/** Money received and not credited: rejected for its amount or currency, or paid after expiry. */
function holdsUncreditedMoney(d: ResolvableDeposit): boolean {
  if (d.receivedAmount == null || d.receivedCurrency == null) return false;
  if (d.status === DepositStatus.REJECTED) {
    return d.rejectionReason === RejectionReason.UNDERPAID || d.rejectionReason === RejectionReason.CURRENCY_MISMATCH;
  }
  return d.status === DepositStatus.EXPIRED && d.rejectionReason === RejectionReason.LATE_PAYMENT;
}

/** What an operator may do to the deposit now, in a stable order; empty once it is resolved. */
export function availableActions(d: ResolvableDeposit): ResolutionAction[] {
  if (d.resolution != null) return [];
  if (holdsUncreditedMoney(d)) return [ResolutionAction.CREDIT, ResolutionAction.MARK_REFUNDED];
  if (d.status === DepositStatus.COMPLETED) return [ResolutionAction.REVERSE];
  return [];
}

export interface ResolutionOutcome {
  status: DepositStatus;
  resolution: Resolution;
  /**
   * The ledger entry it makes: MANUAL_CREDIT of the received money, or REVERSAL of what the
   * deposit's entries credited (negative). Absent when no money moves.
   */
  entry?: { kind: 'MANUAL_CREDIT' | 'REVERSAL'; amount: string; currency: string };
}

/** Refused: the state does not allow the action. `allowed` is what it does allow. */
export interface ResolutionRefusal {
  refused: true;
  allowed: ResolutionAction[];
}

/**
 * What `action` does to `d`.
 * @param credited for REVERSE: what the deposit's ledger entries sum to, and in which currency
 *   (the service reads them under the deposit's lock). A completed deposit with no credit (none
 *   should exist) cannot be reversed: nothing would be debited.
 */
export function resolve(
  d: ResolvableDeposit,
  action: ResolutionAction,
  credited?: { amount: string; currency: string },
): ResolutionOutcome | ResolutionRefusal {
  const allowed = availableActions(d);
  if (!allowed.includes(action)) return { refused: true, allowed };
  switch (action) {
    case ResolutionAction.CREDIT:
      return {
        status: DepositStatus.COMPLETED,
        resolution: Resolution.CREDITED_MANUALLY,
        entry: { kind: 'MANUAL_CREDIT', amount: d.receivedAmount!, currency: d.receivedCurrency! },
      };
    case ResolutionAction.MARK_REFUNDED:
      return { status: d.status, resolution: Resolution.REFUNDED };
    case ResolutionAction.REVERSE:
      if (!credited) return { refused: true, allowed: [] };
      return {
        status: DepositStatus.REVERSED,
        resolution: Resolution.REVERSED,
        entry: { kind: 'REVERSAL', amount: canonical(new Dec(credited.amount).neg()), currency: credited.currency },
      };
  }
}

export function isRefusal(r: ResolutionOutcome | ResolutionRefusal): r is ResolutionRefusal {
  return 'refused' in r;
}
