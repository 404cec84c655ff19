import { describe, expect, it } from 'vitest';
import { applyPatch, decide, type DepositSnapshot } from '../../src/domain/apply-rules.js';
import { DepositStatus, RejectionReason } from '../../src/domain/deposit-status.js';
import type { DepositEventInput } from '../../src/domain/events.js';

/**
 * The rule a status sync adds (contract "Recovering deposits"): a provider that says the payment
 * is complete but gives no amount moves the deposit to CONFIRMED at most and flags it for an
 * operator; nothing is credited on an amount no one reported.
 */

const S = DepositStatus;
const EXPIRES_AT = new Date('2026-01-01T12:00:00.000Z');
const BEFORE = new Date(EXPIRES_AT.getTime() - 60_000);
const AFTER = new Date(EXPIRES_AT.getTime() + 60_000);

function deposit(over: Partial<DepositSnapshot> = {}): DepositSnapshot {
  return { status: S.PENDING, currency: 'USD', amount: '25', expiresAt: EXPIRES_AT, ...over };
}

const unreported: DepositEventInput = {
  kind: 'deposit',
  ref: { by: 'id', depositId: '7d0c4a52-1b9e-4f3a-8c6d-2e5f7a9b1c3d' },
  effect: 'paid-unreported',
  status: S.CONFIRMED,
  providerStatus: 'COMPLETED',
};

describe('decide: a completed payment with no amount (status sync)', () => {
  it.each([S.PENDING, S.DETECTED, S.CONFIRMING])(
    'moves a %s deposit to CONFIRMED and flags it, crediting nothing',
    (from) => {
      const d = decide(deposit({ status: from }), unreported, BEFORE, BEFORE);
      expect(d.changes).toEqual([{ from, to: S.CONFIRMED }]);
      expect(d.patch).toEqual({ status: S.CONFIRMED, amountUnreported: true });
      expect(d.credit).toBeUndefined();
    },
  );

  it.each([S.CONFIRMED, S.SCREENING])('flags a %s deposit without moving it backwards', (from) => {
    const d = decide(deposit({ status: from }), unreported, BEFORE, BEFORE);
    expect(d.changes).toEqual([]);
    expect(d.patch).toEqual({ amountUnreported: true });
    expect(d.credit).toBeUndefined();
  });

  it('changes nothing the second time (already flagged)', () => {
    const d = decide(deposit({ status: S.CONFIRMED, amountUnreported: true }), unreported, BEFORE, BEFORE);
    expect(d.patch).toEqual({});
    expect(d.changes).toEqual([]);
  });

  it.each([S.COMPLETED, S.REJECTED, S.FAILED, S.REVERSED])('leaves a settled %s deposit alone', (from) => {
    const d = decide(deposit({ status: from }), unreported, BEFORE, BEFORE);
    expect(d).toEqual({ changes: [], patch: {} });
  });

  it('flags an EXPIRED deposit without a payment but does not reopen it', () => {
    const d = decide(deposit({ status: S.EXPIRED }), unreported, AFTER, AFTER);
    expect(d).toEqual({ changes: [], patch: { amountUnreported: true } });
  });

  it('leaves an EXPIRED deposit that already recorded a late payment alone', () => {
    const d = decide(
      deposit({ status: S.EXPIRED, rejectionReason: RejectionReason.LATE_PAYMENT }),
      unreported,
      AFTER,
      AFTER,
    );
    expect(d).toEqual({ changes: [], patch: {} });
  });

  it('expires a PENDING deposit past expiry first, then only flags it', () => {
    const d = decide(deposit(), unreported, AFTER, AFTER);
    expect(d.changes).toEqual([{ from: S.PENDING, to: S.EXPIRED }]);
    expect(d.patch).toEqual({ status: S.EXPIRED, amountUnreported: true });
  });

  it('writes the flag through applyPatch, and a later payment with its amount still completes and credits', () => {
    const before = { ...deposit(), receivedAmount: null, amountUnreported: false };
    const flagged = applyPatch(before, decide(before, unreported, BEFORE, BEFORE).patch);
    expect(flagged).toMatchObject({ status: S.CONFIRMED, amountUnreported: true });
    const paid = decide(
      flagged,
      { ...unreported, effect: 'payment', status: S.COMPLETED, amount: '25', currency: 'USD' },
      BEFORE,
      BEFORE,
    );
    expect(paid.changes).toEqual([{ from: S.CONFIRMED, to: S.COMPLETED }]);
    expect(paid.credit).toEqual({ amount: '25', currency: 'USD' });
  });
});
