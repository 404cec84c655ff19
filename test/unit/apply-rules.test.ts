import { describe, expect, it } from 'vitest';
import {
  classify,
  decide,
  judgePayment,
  moneyFor,
  paymentTime,
  type Decision,
  type DepositSnapshot,
} from '../../src/domain/apply-rules.js';
import {
  DepositStatus,
  FINAL,
  PaymentState,
  PROGRESS,
  RejectionReason,
  isFinal,
  rank,
} from '../../src/domain/deposit-status.js';
import type { DepositEventInput } from '../../src/domain/events.js';
import { layer1 } from '../../src/providers/layer1.provider.js';
import { fixtureFor } from '../fixtures/index.js';

// The provider modules under the names these tests were written with.
const parseLayer1Event = layer1.parse;

/**
 * The deposit state machine and the money rules (contract "Deposit rules"),
 * checked against expectations written out here from the contract, not
 * derived from the module under test.
 */

const S = DepositStatus;
const ALL_STATUSES = Object.values(DepositStatus);
/** Contract rule 5, as written there. */
const FORWARD = [S.PENDING, S.DETECTED, S.CONFIRMING, S.CONFIRMED, S.SCREENING, S.COMPLETED];
/** REVERSED (an operator's reversal of a completed deposit) is final too; no provider event reaches it. */
const FINALS = [S.COMPLETED, S.REJECTED, S.EXPIRED, S.FAILED, S.REVERSED];

const EXPIRES_AT = new Date('2026-01-01T12:00:00.000Z');
const BEFORE_EXPIRY = new Date(EXPIRES_AT.getTime() - 60_000);
const AFTER_EXPIRY = new Date(EXPIRES_AT.getTime() + 60_000);

function deposit(over: Partial<DepositSnapshot> = {}): DepositSnapshot {
  return { status: S.PENDING, currency: 'USD', amount: '25', expiresAt: EXPIRES_AT, ...over };
}

const ref = { by: 'id', depositId: '7d0c4a52-1b9e-4f3a-8c6d-2e5f7a9b1c3d' } as const;

function event(over: Partial<DepositEventInput> & Pick<DepositEventInput, 'effect' | 'status'>): DepositEventInput {
  return { kind: 'deposit', ref, providerStatus: over.status, ...over };
}

function payment(amount = '25', currency = 'USD', paidAt?: Date): DepositEventInput {
  return event({ effect: 'payment', status: S.COMPLETED, amount, currency, ...(paidAt && { paidAt }) });
}

/** Every kind of event a deposit can receive, by what it asks. */
const EVENTS: { label: string; event: DepositEventInput }[] = [
  ...[S.DETECTED, S.CONFIRMING, S.CONFIRMED, S.SCREENING].map((status) => ({
    label: `a progress event to ${status}`,
    event: event({ effect: 'progress', status }),
  })),
  { label: 'an on-time correct payment', event: payment() },
  { label: 'a failure', event: event({ effect: 'fail', status: S.FAILED }) },
  { label: "the provider's expiry", event: event({ effect: 'expire', status: S.EXPIRED }) },
  { label: 'an event only to record', event: event({ effect: 'record', status: S.PENDING }) },
];

/** The status each kind of event leads to from `from`, by the contract; `from` itself when nothing moves. */
function expectedStatus(from: DepositStatus, e: DepositEventInput): DepositStatus {
  const final = FINALS.includes(from);
  switch (e.effect) {
    case 'record':
      return from;
    case 'progress':
      return !final && FORWARD.indexOf(e.status) > FORWARD.indexOf(from) ? e.status : from;
    case 'fail':
      return final ? from : S.FAILED;
    case 'expire':
      return final ? from : S.EXPIRED;
    case 'payment':
      // Rule 2's first exception: an on-time payment completes an EXPIRED deposit.
      return !final || from === S.EXPIRED ? S.COMPLETED : from;
    case 'paid-unreported':
      // A completion without an amount: CONFIRMED at most (test/unit/sync-rules.test.ts).
      return !final && FORWARD.indexOf(S.CONFIRMED) > FORWARD.indexOf(from) ? S.CONFIRMED : from;
  }
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('the order of deposit statuses', () => {
  it('runs forward from PENDING to COMPLETED as the contract lists it', () => {
    expect(PROGRESS).toEqual(FORWARD);
    expect(FORWARD.map(rank)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('counts exactly COMPLETED, REJECTED, EXPIRED, FAILED and REVERSED as final', () => {
    expect([...FINAL].sort()).toEqual([...FINALS].sort());
    for (const s of ALL_STATUSES) expect(isFinal(s)).toBe(FINALS.includes(s));
  });

  it('ranks REJECTED, EXPIRED, FAILED and REVERSED after every step of progress', () => {
    for (const s of [S.REJECTED, S.EXPIRED, S.FAILED, S.REVERSED]) expect(rank(s)).toBeGreaterThan(rank(S.SCREENING));
  });

  /**
   * Whether `decide` takes a `from` deposit to `to` on the event that asks for `to`. Payments
   * are late (paid after expiresAt, applied before the deposit expired by itself), so rule 2's
   * exception (an on-time payment completes an EXPIRED deposit) stays out: the order alone decides.
   */
  function movesForward(from: DepositStatus, to: DepositStatus): boolean {
    const ask: Record<DepositStatus, DepositEventInput> = {
      [S.PENDING]: event({ effect: 'progress', status: S.PENDING }),
      [S.DETECTED]: event({ effect: 'progress', status: S.DETECTED }),
      [S.CONFIRMING]: event({ effect: 'progress', status: S.CONFIRMING }),
      [S.CONFIRMED]: event({ effect: 'progress', status: S.CONFIRMED }),
      [S.SCREENING]: event({ effect: 'progress', status: S.SCREENING }),
      [S.COMPLETED]: payment('25', 'USD', AFTER_EXPIRY),
      [S.REJECTED]: payment('10', 'USD', AFTER_EXPIRY),
      [S.EXPIRED]: event({ effect: 'expire', status: S.EXPIRED }),
      [S.FAILED]: event({ effect: 'fail', status: S.FAILED }),
      // No provider event asks for REVERSED: the nearest is a record of it.
      [S.REVERSED]: event({ effect: 'record', status: S.REVERSED }),
    };
    return decide(deposit({ status: from }), ask[to], AFTER_EXPIRY, BEFORE_EXPIRY).changes.at(-1)?.to === to;
  }

  const pairs = ALL_STATUSES.flatMap((from) => ALL_STATUSES.map((to) => ({ from, to })));
  it.each(pairs)('says whether $from may move to $to', ({ from, to }) => {
    const forward =
      !FINALS.includes(from) &&
      to !== S.PENDING &&
      // Only an operator's resolution reverses a deposit.
      to !== S.REVERSED &&
      (FINALS.includes(to) || FORWARD.indexOf(to) > FORWARD.indexOf(from));
    expect(movesForward(from, to)).toBe(forward);
  });
});

describe('decide: every status against every kind of event', () => {
  const cases = ALL_STATUSES.flatMap((from) =>
    EVENTS.map(({ label, event: e }) => ({ from, label, e, to: expectedStatus(from, e) })),
  );

  it.each(cases)('takes a $from deposit to $to on $label', ({ from, e, to }) => {
    const d = decide(deposit({ status: from }), e, BEFORE_EXPIRY, BEFORE_EXPIRY);
    if (to === from) {
      expect(d.changes).toEqual([]);
      expect(d.patch).toEqual({});
    } else {
      expect(d.changes).toEqual([{ from, to }]);
      expect(d.patch.status).toBe(to);
    }
    if (to === S.COMPLETED && from !== S.COMPLETED) expect(d.credit).toEqual({ amount: '25', currency: 'USD' });
    else expect(d.credit).toBeUndefined();
  });

  it.each(FINALS)('never moves a %s deposit except by the two exceptions of rule 2', (from) => {
    const moved = EVENTS.filter(
      ({ event: e }) => decide(deposit({ status: from }), e, BEFORE_EXPIRY, BEFORE_EXPIRY).changes.length > 0,
    );
    expect(moved.map((m) => m.label)).toEqual(from === S.EXPIRED ? ['an on-time correct payment'] : []);
    const late = decide(deposit({ status: from }), payment(), AFTER_EXPIRY, AFTER_EXPIRY);
    expect(late.changes).toEqual([]);
    expect(late.credit).toBeUndefined();
    if (from === S.EXPIRED) {
      expect(late.patch).toEqual({
        receivedAmount: '25',
        receivedCurrency: 'USD',
        rejectionReason: RejectionReason.LATE_PAYMENT,
      });
    } else {
      expect(late.patch).toEqual({});
    }
  });
});

describe("decide over every order of layer1's five status events", () => {
  const ids = ['01-detected', '02-unconfirmed', '03-confirmed', '04-screening-requested', '05-success'];
  const mapped = ids.map((id) => {
    const e = parseLayer1Event(Buffer.from(fixtureFor(`layer1/${id}.json`, ref.depositId)));
    if (e.kind !== 'deposit') throw new Error(`${id} is not a deposit event`);
    return e;
  });
  const now = new Date(mapped[0].paidAt!.getTime() + 60_000);
  const start = () => deposit({ currency: 'ETH', amount: '0.2', expiresAt: new Date(now.getTime() + 3_600_000) });

  /** Applies `decide` event after event, as the service writes its patch; returns the row and every decision. */
  function fold(events: DepositEventInput[]) {
    let row: DepositSnapshot & Decision['patch'] = start();
    const decisions: Decision[] = [];
    for (const e of events) {
      const d = decide(row, e, now, now);
      decisions.push(d);
      row = { ...row, ...d.patch } as typeof row;
    }
    return { row, decisions };
  }

  it('maps the five fixtures to DETECTED, CONFIRMING, CONFIRMED, SCREENING and a payment', () => {
    expect(mapped.map((e) => [e.effect, e.status])).toEqual([
      ['progress', S.DETECTED],
      ['progress', S.CONFIRMING],
      ['progress', S.CONFIRMED],
      ['progress', S.SCREENING],
      ['payment', S.COMPLETED],
    ]);
  });

  const orders = permutations([0, 1, 2, 3, 4]);
  it('has all 120 orders of the five events to check', () => {
    expect(orders).toHaveLength(120);
  });

  it.each(orders.map((o) => ({ order: o.map((i) => ids[i]).join(' → '), o })))(
    'completes once with one credit when delivered as $order',
    ({ o }) => {
      const { row, decisions } = fold(o.map((i) => mapped[i]));
      expect(row.status).toBe(S.COMPLETED);
      expect(row.paymentState).toBe(PaymentState.CORRECT);
      expect(decisions.filter((d) => d.credit)).toEqual([
        expect.objectContaining({ credit: { amount: '0.2', currency: 'ETH' } }),
      ]);
      const reached = decisions.flatMap((d) => d.changes.map((c) => c.to));
      expect(reached.filter((s) => s === S.COMPLETED)).toHaveLength(1);
      // Never backwards: each change goes further along the order than the one before.
      const positions = reached.map((s) => FORWARD.indexOf(s));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(new Set(positions).size).toBe(positions.length);
    },
  );

  it('still credits once when every event of every order arrives twice', () => {
    for (const o of orders) {
      const events = o.flatMap((i) => [mapped[i], mapped[i]]);
      const { row, decisions } = fold([...events, ...events]);
      expect(row.status).toBe(S.COMPLETED);
      expect(decisions.filter((d) => d.credit)).toHaveLength(1);
    }
  });
});

describe('judgePayment and classify at the boundaries', () => {
  const ONE = '0.000000000000000001';
  const fixed = deposit({ amount: '25' });
  const open = deposit({ amount: null, minAmount: '10', maxAmount: '5000' });

  it.each([
    ['24.999999999999999999', S.REJECTED, PaymentState.UNDERPAID, RejectionReason.UNDERPAID],
    ['25', S.COMPLETED, PaymentState.CORRECT, null],
    ['25.000000000000000000', S.COMPLETED, PaymentState.CORRECT, null],
    ['25.000000000000000001', S.COMPLETED, PaymentState.OVERPAID, null],
  ] as const)('judges %s against a fixed 25 as %s (%s)', (amount, status, state, reason) => {
    expect(classify(fixed, amount)).toBe(state);
    expect(judgePayment(fixed, amount, 'USD')).toEqual({ status, paymentState: state, rejectionReason: reason });
  });

  it.each([
    ['9.999999999999999999', PaymentState.UNDERPAID],
    ['10', PaymentState.CORRECT],
    ['10.000000000000000001', PaymentState.CORRECT],
    ['4999.999999999999999999', PaymentState.CORRECT],
    ['5000', PaymentState.CORRECT],
    ['5000.000000000000000001', PaymentState.OVERPAID],
    [ONE, PaymentState.UNDERPAID],
  ] as const)('credits %s on an open 10..5000 deposit as %s', (amount, state) => {
    expect(classify(open, amount)).toBe(state);
    expect(judgePayment(open, amount, 'USD')).toEqual({
      status: S.COMPLETED,
      paymentState: state,
      rejectionReason: null,
    });
  });

  it('rejects another currency as CURRENCY_MISMATCH for fixed and open amounts alike', () => {
    for (const d of [fixed, open]) {
      expect(judgePayment(d, '25', 'EUR')).toEqual({
        status: S.REJECTED,
        paymentState: null,
        rejectionReason: RejectionReason.CURRENCY_MISMATCH,
      });
    }
  });

  it('treats an open deposit without bounds as correct for any positive amount', () => {
    const unbounded = deposit({ amount: null, minAmount: null, maxAmount: null });
    expect(classify(unbounded, ONE)).toBe(PaymentState.CORRECT);
    expect(classify(unbounded, '999999999999999999')).toBe(PaymentState.CORRECT);
  });
});

describe('decide: money on the completing event', () => {
  it('credits an overpayment in full as OVERPAID', () => {
    expect(decide(deposit(), payment('30.5'), BEFORE_EXPIRY, BEFORE_EXPIRY)).toEqual({
      changes: [{ from: S.PENDING, to: S.COMPLETED }],
      patch: {
        status: S.COMPLETED,
        receivedAmount: '30.5',
        receivedCurrency: 'USD',
        paymentState: PaymentState.OVERPAID,
        rejectionReason: null,
      },
      credit: { amount: '30.5', currency: 'USD' },
    });
  });

  it('rejects an underpayment of a fixed amount without credit', () => {
    const d = decide(deposit({ status: S.SCREENING }), payment('24.99'), BEFORE_EXPIRY, BEFORE_EXPIRY);
    expect(d.changes).toEqual([{ from: S.SCREENING, to: S.REJECTED }]);
    expect(d.patch).toMatchObject({ rejectionReason: RejectionReason.UNDERPAID, receivedAmount: '24.99' });
    expect(d.credit).toBeUndefined();
  });

  it('rejects a payment in another currency without credit', () => {
    const d = decide(deposit(), payment('25', 'EUR'), BEFORE_EXPIRY, BEFORE_EXPIRY);
    expect(d.patch).toMatchObject({ status: S.REJECTED, rejectionReason: RejectionReason.CURRENCY_MISMATCH });
    expect(d.credit).toBeUndefined();
  });

  it('credits an open deposit paid below its minimum, classified UNDERPAID', () => {
    const d = decide(deposit({ amount: null, minAmount: '10' }), payment('5'), BEFORE_EXPIRY, BEFORE_EXPIRY);
    expect(d.patch).toMatchObject({ status: S.COMPLETED, paymentState: PaymentState.UNDERPAID });
    expect(d.credit).toEqual({ amount: '5', currency: 'USD' });
  });

  it('records what a progress event saw, classified only in the deposit currency', () => {
    const seen = (currency: string) =>
      decide(
        deposit(),
        event({ effect: 'progress', status: S.DETECTED, amount: '20', currency }),
        BEFORE_EXPIRY,
        BEFORE_EXPIRY,
      ).patch;
    expect(seen('USD')).toEqual({
      status: S.DETECTED,
      receivedAmount: '20',
      receivedCurrency: 'USD',
      paymentState: PaymentState.UNDERPAID,
    });
    expect(seen('EUR')).toMatchObject({ receivedCurrency: 'EUR', paymentState: null });
  });

  it('changes nothing on a payment that carries no money', () => {
    const bare = event({ effect: 'payment', status: S.COMPLETED });
    expect(decide(deposit(), bare, BEFORE_EXPIRY, BEFORE_EXPIRY)).toEqual({ changes: [], patch: {} });
  });
});

describe('decide: expiry and lateness (rules 2 and 6)', () => {
  it('expires a PENDING deposit past expiresAt whatever the event, before anything else', () => {
    const d = decide(deposit(), event({ effect: 'record', status: S.PENDING }), AFTER_EXPIRY, AFTER_EXPIRY);
    expect(d).toEqual({ changes: [{ from: S.PENDING, to: S.EXPIRED }], patch: { status: S.EXPIRED } });
  });

  it('records a late payment on a PENDING deposit past expiry as LATE_PAYMENT without credit', () => {
    const d = decide(deposit(), payment(), AFTER_EXPIRY, AFTER_EXPIRY);
    expect(d).toEqual({
      changes: [{ from: S.PENDING, to: S.EXPIRED }],
      patch: {
        status: S.EXPIRED,
        receivedAmount: '25',
        receivedCurrency: 'USD',
        rejectionReason: RejectionReason.LATE_PAYMENT,
      },
    });
  });

  it('completes a PENDING deposit past expiry when the provider says it was paid in time', () => {
    const d = decide(deposit(), payment('25', 'USD', BEFORE_EXPIRY), AFTER_EXPIRY, AFTER_EXPIRY);
    expect(d.changes).toEqual([
      { from: S.PENDING, to: S.EXPIRED },
      { from: S.EXPIRED, to: S.COMPLETED },
    ]);
    expect(d.credit).toEqual({ amount: '25', currency: 'USD' });
  });

  it('completes an EXPIRED deposit paid exactly at expiresAt', () => {
    const d = decide(deposit({ status: S.EXPIRED }), payment('25', 'USD', EXPIRES_AT), AFTER_EXPIRY, AFTER_EXPIRY);
    expect(d.patch.status).toBe(S.COMPLETED);
    expect(d.credit).toBeDefined();
  });

  it('judges an on-time payment to an EXPIRED deposit by the amount rules too', () => {
    const d = decide(deposit({ status: S.EXPIRED }), payment('1', 'USD', BEFORE_EXPIRY), AFTER_EXPIRY, AFTER_EXPIRY);
    expect(d.changes).toEqual([{ from: S.EXPIRED, to: S.REJECTED }]);
    expect(d.patch.rejectionReason).toBe(RejectionReason.UNDERPAID);
    expect(d.credit).toBeUndefined();
  });

  it('does not let a provider time later than receipt make a payment late', () => {
    const future = new Date(EXPIRES_AT.getTime() + 3_600_000);
    const d = decide(deposit(), payment('25', 'USD', future), BEFORE_EXPIRY, BEFORE_EXPIRY);
    expect(d.patch.status).toBe(S.COMPLETED);
  });

  it('does not let a provider time later than receipt save a payment received after expiry', () => {
    const future = new Date(EXPIRES_AT.getTime() + 3_600_000);
    const d = decide(deposit({ status: S.EXPIRED }), payment('25', 'USD', future), AFTER_EXPIRY, AFTER_EXPIRY);
    expect(d.patch).toMatchObject({ rejectionReason: RejectionReason.LATE_PAYMENT });
    expect(d.credit).toBeUndefined();
  });

  it('records a second late payment on an expired deposit no more', () => {
    const late = deposit({ status: S.EXPIRED, rejectionReason: RejectionReason.LATE_PAYMENT });
    expect(decide(late, payment('30'), AFTER_EXPIRY, AFTER_EXPIRY)).toEqual({ changes: [], patch: {} });
  });

  it('completes an EXPIRED deposit already marked LATE_PAYMENT when an on-time payment follows', () => {
    const late = deposit({ status: S.EXPIRED, rejectionReason: RejectionReason.LATE_PAYMENT });
    const d = decide(late, payment('25', 'USD', BEFORE_EXPIRY), AFTER_EXPIRY, AFTER_EXPIRY);
    expect(d.patch).toMatchObject({ status: S.COMPLETED, rejectionReason: null });
    expect(d.credit).toBeDefined();
  });
});

describe('paymentTime', () => {
  const received = new Date('2026-01-01T12:00:00.000Z');

  it("takes the provider's time when it is before receipt", () => {
    const paid = new Date(received.getTime() - 5000);
    expect(paymentTime({ paidAt: paid }, received)).toEqual(paid);
  });

  it('takes the receipt time when the provider time is later than receipt', () => {
    expect(paymentTime({ paidAt: new Date(received.getTime() + 1) }, received)).toEqual(received);
  });

  it('takes the receipt time when the provider gives none', () => {
    expect(paymentTime({}, received)).toEqual(received);
  });
});

describe('moneyFor', () => {
  const finrax = event({
    effect: 'payment',
    status: S.COMPLETED,
    amount: '250',
    currency: 'EUR',
    alternative: { amount: '0.123456789012345678', currency: 'ETH' },
  });

  it('picks the primary reading when it is in the deposit currency', () => {
    expect(moneyFor({ currency: 'EUR' }, finrax)).toEqual({ amount: '250', currency: 'EUR' });
  });

  it('picks the alternative when the primary currency differs', () => {
    expect(moneyFor({ currency: 'ETH' }, finrax)).toEqual({ amount: '0.123456789012345678', currency: 'ETH' });
  });

  it('falls back to the alternative also when neither matches, so a mismatch is judged on it', () => {
    expect(moneyFor({ currency: 'USD' }, finrax)).toEqual({ amount: '0.123456789012345678', currency: 'ETH' });
  });

  it('keeps the only reading there is, matching or not', () => {
    expect(moneyFor({ currency: 'USD' }, payment('25', 'EUR'))).toEqual({ amount: '25', currency: 'EUR' });
  });

  it('has no money for an event without an amount', () => {
    expect(moneyFor({ currency: 'USD' }, event({ effect: 'fail', status: S.FAILED }))).toBeUndefined();
  });
});
