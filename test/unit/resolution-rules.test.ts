import { describe, expect, it } from 'vitest';
import { decide, type DepositSnapshot } from '../../src/domain/apply-rules.js';
import { Resolution } from '../../src/domain/audit.js';
import { DepositStatus, RejectionReason } from '../../src/domain/deposit-status.js';
import type { DepositEventInput } from '../../src/domain/events.js';
import {
  availableActions,
  isRefusal,
  resolve,
  ResolutionAction,
  type ResolvableDeposit,
} from '../../src/domain/resolution-rules.js';

/**
 * An operator's resolutions (contract: "Operators resolve exception money"), every status ×
 * rejection reason × received money × resolution × action, against expectations written out
 * here from the contract.
 */

const S = DepositStatus;
const A = ResolutionAction;
const STATUSES = Object.values(DepositStatus);
const REASONS = [null, ...Object.values(RejectionReason)];
const RESOLUTIONS = [null, ...Object.values(Resolution)];
const ACTIONS = Object.values(ResolutionAction);

/** The contract's list, as written there. */
function expectedActions(d: ResolvableDeposit): ResolutionAction[] {
  if (d.resolution != null) return [];
  const money = d.receivedAmount != null;
  const rejected =
    d.status === S.REJECTED &&
    (d.rejectionReason === RejectionReason.UNDERPAID || d.rejectionReason === RejectionReason.CURRENCY_MISMATCH);
  const late = d.status === S.EXPIRED && d.rejectionReason === RejectionReason.LATE_PAYMENT;
  if (money && (rejected || late)) return [A.CREDIT, A.MARK_REFUNDED];
  if (d.status === S.COMPLETED) return [A.REVERSE];
  return [];
}

const CASES = STATUSES.flatMap((status) =>
  REASONS.flatMap((rejectionReason) =>
    [true, false].flatMap((received) =>
      RESOLUTIONS.map((resolution) => ({
        status,
        rejectionReason,
        resolution,
        receivedAmount: received ? '24.5' : null,
        receivedCurrency: received ? 'EUR' : null,
      })),
    ),
  ),
);

describe('availableActions', () => {
  it.each(CASES)(
    'on $status ($rejectionReason, received $receivedAmount, resolution $resolution) is the contract list',
    (d) => {
      expect(availableActions(d)).toEqual(expectedActions(d));
    },
  );
});

describe('resolve: every state against every action', () => {
  const cases = CASES.flatMap((d) => ACTIONS.map((action) => ({ ...d, action })));
  const credited = { amount: '25', currency: 'USD' };

  it.each(cases)(
    '$action on $status ($rejectionReason, received $receivedAmount, resolution $resolution)',
    ({ action, ...d }) => {
      const out = resolve(d, action, credited);
      const allowed = expectedActions(d);
      if (!allowed.includes(action)) {
        expect(out).toEqual({ refused: true, allowed });
        return;
      }
      switch (action) {
        case A.CREDIT:
          // Credits what was received, in the currency it was received in.
          expect(out).toEqual({
            status: S.COMPLETED,
            resolution: Resolution.CREDITED_MANUALLY,
            entry: { kind: 'MANUAL_CREDIT', amount: '24.5', currency: 'EUR' },
          });
          break;
        case A.MARK_REFUNDED:
          expect(out).toEqual({ status: d.status, resolution: Resolution.REFUNDED });
          break;
        case A.REVERSE:
          expect(out).toEqual({
            status: S.REVERSED,
            resolution: Resolution.REVERSED,
            entry: { kind: 'REVERSAL', amount: '-25', currency: 'USD' },
          });
          break;
      }
    },
  );

  it('debits exactly what the deposit credited, decimals and all', () => {
    const out = resolve({ status: S.COMPLETED }, A.REVERSE, { amount: '0.200234653675781', currency: 'ETH' });
    expect(out).toMatchObject({ entry: { kind: 'REVERSAL', amount: '-0.200234653675781', currency: 'ETH' } });
  });

  it('refuses to reverse a completed deposit whose credit is unknown (nothing to debit)', () => {
    const out = resolve({ status: S.COMPLETED }, A.REVERSE);
    expect(isRefusal(out)).toBe(true);
  });
});

describe('a later provider event after a resolution', () => {
  const EXPIRES_AT = new Date('2026-01-01T12:00:00.000Z');
  const BEFORE = new Date(EXPIRES_AT.getTime() - 60_000);
  const ref = { by: 'id', depositId: '7d0c4a52-1b9e-4f3a-8c6d-2e5f7a9b1c3d' } as const;
  const events: DepositEventInput[] = [
    {
      kind: 'deposit',
      ref,
      effect: 'payment',
      status: S.COMPLETED,
      providerStatus: 'PAID',
      amount: '25',
      currency: 'USD',
      paidAt: BEFORE,
    },
    { kind: 'deposit', ref, effect: 'progress', status: S.SCREENING, providerStatus: 'SCREENING' },
    { kind: 'deposit', ref, effect: 'fail', status: S.FAILED, providerStatus: 'FAILED' },
    { kind: 'deposit', ref, effect: 'expire', status: S.EXPIRED, providerStatus: 'EXPIRED' },
  ];
  const resolved: DepositSnapshot[] = [
    // Refunded late payment: an on-time payment would otherwise complete an EXPIRED deposit (rule 2).
    {
      status: S.EXPIRED,
      currency: 'USD',
      amount: '25',
      expiresAt: EXPIRES_AT,
      rejectionReason: RejectionReason.LATE_PAYMENT,
      resolution: Resolution.REFUNDED,
    },
    {
      status: S.REJECTED,
      currency: 'USD',
      amount: '25',
      expiresAt: EXPIRES_AT,
      rejectionReason: RejectionReason.UNDERPAID,
      resolution: Resolution.REFUNDED,
    },
    {
      status: S.COMPLETED,
      currency: 'USD',
      amount: '25',
      expiresAt: EXPIRES_AT,
      resolution: Resolution.CREDITED_MANUALLY,
    },
    { status: S.REVERSED, currency: 'USD', amount: '25', expiresAt: EXPIRES_AT, resolution: Resolution.REVERSED },
  ];
  const cases = resolved.flatMap((d) =>
    events.map((e) => ({ d, e, label: `${d.status}/${d.resolution} ← ${e.providerStatus}` })),
  );

  it.each(cases)('changes nothing: $label', ({ d, e }) => {
    const out = decide(d, e, BEFORE, BEFORE);
    expect(out).toEqual({ changes: [], patch: {} });
  });

  it('still completes an unresolved expired deposit paid on time (the rule the guard must not break)', () => {
    const d: DepositSnapshot = { status: S.EXPIRED, currency: 'USD', amount: '25', expiresAt: EXPIRES_AT };
    expect(decide(d, events[0], BEFORE, BEFORE).patch.status).toBe(S.COMPLETED);
  });
});
