import type { Resolution } from './audit.js';
import { compare } from './money.js';
import { DepositStatus, PaymentState, RejectionReason, isFinal, rank } from './deposit-status.js';
import type { DepositEventInput } from './events.js';

/**
 * Pure rules for one provider event against one deposit (contract rules 2, 3, 5, 6).
 * No I/O: `services/apply/event-applier.ts` locks the row, calls `decide`, and writes
 * what it returns (status, fields, ledger credit, outbox rows) in one transaction; the
 * expiry sweeper applies `expiry` the same way.
 */

export interface DepositSnapshot {
  status: DepositStatus;
  currency: string;
  amount?: string | null;
  minAmount?: string | null;
  maxAmount?: string | null;
  expiresAt: Date;
  rejectionReason?: RejectionReason | null;
  amountUnreported?: boolean;
  /** An operator's resolution: once there is one, no provider event changes the deposit. */
  resolution?: Resolution | null;
}

export interface StatusChange {
  from: DepositStatus;
  to: DepositStatus;
}

export interface Decision {
  /** Status changes in the order they happen (at most two: PENDING→EXPIRED, then EXPIRED→COMPLETED/REJECTED). */
  changes: StatusChange[];
  /** Fields to write on the deposit (empty when the event changes nothing). */
  patch: {
    status?: DepositStatus;
    receivedAmount?: string;
    receivedCurrency?: string;
    paymentState?: PaymentState | null;
    rejectionReason?: RejectionReason | null;
    /** A provider said the payment is complete without saying how much: an operator must look. */
    amountUnreported?: boolean;
  };
  /** What to credit to the user's balance; present only when the deposit becomes COMPLETED. */
  credit?: { amount: string; currency: string };
}

export interface Judgement {
  status: DepositStatus.COMPLETED | DepositStatus.REJECTED;
  paymentState: PaymentState | null;
  rejectionReason: RejectionReason | null;
}

/** Contract rule 3: amounts and currency, judged on the event that completes the deposit. */
export function judgePayment(d: DepositSnapshot, amount: string, currency: string): Judgement {
  if (currency !== d.currency) {
    return { status: DepositStatus.REJECTED, paymentState: null, rejectionReason: RejectionReason.CURRENCY_MISMATCH };
  }
  const state = classify(d, amount);
  if (d.amount != null && state === PaymentState.UNDERPAID) {
    return { status: DepositStatus.REJECTED, paymentState: state, rejectionReason: RejectionReason.UNDERPAID };
  }
  return { status: DepositStatus.COMPLETED, paymentState: state, rejectionReason: null };
}

/** Correct, under or over: against the fixed amount, or against min and max for an open amount. */
export function classify(d: DepositSnapshot, amount: string): PaymentState {
  if (d.amount != null) {
    const c = compare(amount, d.amount);
    return c < 0 ? PaymentState.UNDERPAID : c > 0 ? PaymentState.OVERPAID : PaymentState.CORRECT;
  }
  if (d.minAmount != null && compare(amount, d.minAmount) < 0) return PaymentState.UNDERPAID;
  if (d.maxAmount != null && compare(amount, d.maxAmount) > 0) return PaymentState.OVERPAID;
  return PaymentState.CORRECT;
}

/**
 * The payment time that judges lateness: the provider's where it gives one, else receipt;
 * a provider time later than receipt counts as receipt (a clock running ahead gains nothing).
 */
export function paymentTime(event: Pick<DepositEventInput, 'paidAt'>, receivedAt: Date): Date {
  if (!event.paidAt || event.paidAt.getTime() > receivedAt.getTime()) return receivedAt;
  return event.paidAt;
}

/** The status a deposit expires from: the sweeper looks for deposits in it (an index covers them). */
export const EXPIRES_FROM = DepositStatus.PENDING;

/**
 * Contract rule 6: a deposit still PENDING past `expiresAt` becomes EXPIRED, by the sweeper or
 * by the first event that finds it so. The one place expiry is decided.
 */
export function expiry(d: Pick<DepositSnapshot, 'status' | 'expiresAt'>, now: Date): StatusChange | undefined {
  if (d.status !== EXPIRES_FROM || now.getTime() <= d.expiresAt.getTime()) return undefined;
  return { from: d.status, to: DepositStatus.EXPIRED };
}

/**
 * @param now when the event is applied: a PENDING deposit past `expiresAt` expires first (rule 6).
 * @param receivedAt when the webhook was received (stored in the inbox).
 */
export function decide(d: DepositSnapshot, event: DepositEventInput, receivedAt: Date, now: Date): Decision {
  const changes: StatusChange[] = [];
  const patch: Decision['patch'] = {};
  let status = d.status;
  const move = (to: DepositStatus) => {
    changes.push({ from: status, to });
    status = to;
    patch.status = to;
  };

  // Resolved by an operator: settled for good, whatever the provider says later (recorded only).
  if (d.resolution != null) return { changes, patch };

  const expired = expiry(d, now);
  if (expired) move(expired.to);

  const money = moneyFor(d, event);
  switch (event.effect) {
    case 'record':
      break;
    case 'progress':
      if (!isFinal(status) && rank(event.status) > rank(status)) {
        move(event.status);
        if (money) Object.assign(patch, observed(d, money.amount, money.currency));
      }
      break;
    case 'paid-unreported':
      // Nothing is credited on an amount no one reported: as far as CONFIRMED, and flagged (it
      // feeds needs_attention), unless the deposit is settled already. An EXPIRED deposit stays
      // expired (only a payment with its amount reopens it) but is flagged all the same.
      if (isFinal(status) && (status !== DepositStatus.EXPIRED || d.rejectionReason != null)) break;
      if (!isFinal(status) && rank(DepositStatus.CONFIRMED) > rank(status)) move(DepositStatus.CONFIRMED);
      if (!d.amountUnreported) patch.amountUnreported = true;
      break;
    case 'fail':
      if (!isFinal(status)) move(DepositStatus.FAILED);
      break;
    case 'expire':
      if (!isFinal(status)) move(DepositStatus.EXPIRED);
      break;
    case 'payment': {
      if (!money) break; // adapters guarantee money on payments; without it nothing can be judged
      const { amount, currency } = money;
      const onTime = paymentTime(event, receivedAt).getTime() <= d.expiresAt.getTime();
      if (status === DepositStatus.EXPIRED && !onTime) {
        // Rule 2: a late payment is recorded on the expired deposit once, never credited.
        if (d.rejectionReason == null) {
          Object.assign(patch, {
            receivedAmount: amount,
            receivedCurrency: currency,
            rejectionReason: RejectionReason.LATE_PAYMENT,
          });
        }
        break;
      }
      if (isFinal(status) && status !== DepositStatus.EXPIRED) break;
      const j = judgePayment(d, amount, currency);
      move(j.status);
      Object.assign(patch, {
        receivedAmount: amount,
        receivedCurrency: currency,
        paymentState: j.paymentState,
        rejectionReason: j.rejectionReason,
      });
      if (j.status === DepositStatus.COMPLETED) return { changes, patch, credit: { amount, currency } };
      break;
    }
  }
  return { changes, patch };
}

/** The reading of the money to judge: the one in the deposit's currency where the event has two. */
export function moneyFor(
  d: Pick<DepositSnapshot, 'currency'>,
  e: DepositEventInput,
): { amount: string; currency: string } | undefined {
  const primary =
    e.amount !== undefined && e.currency !== undefined ? { amount: e.amount, currency: e.currency } : undefined;
  if (primary && primary.currency === d.currency) return primary;
  if (e.alternative) return e.alternative;
  return primary;
}

/** The fields a `Decision['patch']` writes, as a deposit holds them. */
export interface PatchedFields {
  status: DepositStatus;
  receivedAmount?: string | null;
  receivedCurrency?: string | null;
  paymentState?: PaymentState | null;
  rejectionReason?: RejectionReason | null;
  amountUnreported?: boolean;
}

/** `d` with `patch` applied: what the deposit's next event sees, and what is written. */
export function applyPatch<D extends PatchedFields>(d: D, patch: Decision['patch']): D {
  const next = { ...d };
  if ('status' in patch) next.status = patch.status!;
  if ('receivedAmount' in patch) next.receivedAmount = patch.receivedAmount ?? null;
  if ('receivedCurrency' in patch) next.receivedCurrency = patch.receivedCurrency ?? null;
  if ('paymentState' in patch) next.paymentState = patch.paymentState ?? null;
  if ('rejectionReason' in patch) next.rejectionReason = patch.rejectionReason ?? null;
  if ('amountUnreported' in patch) next.amountUnreported = patch.amountUnreported ?? false;
  return next;
}

function observed(d: DepositSnapshot, amount: string, currency: string): Decision['patch'] {
  return {
    receivedAmount: amount,
    receivedCurrency: currency,
    paymentState: currency === d.currency ? classify(d, amount) : null,
  };
}
