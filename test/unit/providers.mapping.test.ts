import { describe, expect, it } from 'vitest';
import { DepositStatus, VerificationStatus } from '../../src/domain/deposit-status.js';
import { MalformedPayloadError } from '../../src/lib/errors.js';
import { depasify } from '../../src/providers/depasify.provider.js';
import { finrax } from '../../src/providers/finrax.provider.js';
import { instap } from '../../src/providers/instap.provider.js';
import { layer1 } from '../../src/providers/layer1.provider.js';
import { sandbox } from '../../src/providers/sandbox.provider.js';
import {
  FIXTURE_DEPOSIT_ID,
  FIXTURE_INSTAP_SESSION_TOKEN,
  fixtureFor,
  loadFixture,
  withReference,
} from '../fixtures/index.js';

// The provider modules under the names these tests were written with.
const parseDepasifyEvent = depasify.parse;
const parseFinraxEvent = finrax.parse;
const parseInstapEvent = instap.parse;
const parseLayer1Event = layer1.parse;
const parseSandboxEvent = sandbox.parse;

const DEPOSIT = '7d0c4a52-1b9e-4f3a-8c6d-2e5f7a9b1c3d';
const bytes = (text: string) => Buffer.from(text);
const fixture = (path: string) => bytes(fixtureFor(path, DEPOSIT));

function malformedField(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof MalformedPayloadError) return err.field;
    throw err;
  }
  throw new Error('expected MalformedPayloadError');
}

describe('test fixtures', () => {
  it('swap the deposit reference and leave every other byte as it was', () => {
    const original = loadFixture('layer1/05-success.json');
    const swapped = withReference(original, DEPOSIT);
    expect(swapped).toBe(original.replace('"reference": "First Eth Address"', `"reference": "${DEPOSIT}"`));
    expect(withReference(loadFixture('finrax/confirmed.json'), DEPOSIT)).toBe(
      loadFixture('finrax/confirmed.json').replace(FIXTURE_DEPOSIT_ID, DEPOSIT),
    );
  });
});

describe('sandbox', () => {
  it('maps PAID to a payment that completes the deposit', () => {
    expect(parseSandboxEvent(fixture('sandbox/paid.json'))).toEqual({
      kind: 'deposit',
      ref: { by: 'id', depositId: DEPOSIT },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'PAID',
      amount: '25',
      currency: 'USD',
    });
  });

  it('maps FAILED to a failure, without money', () => {
    expect(parseSandboxEvent(fixture('sandbox/failed.json'))).toEqual({
      kind: 'deposit',
      ref: { by: 'id', depositId: DEPOSIT },
      effect: 'fail',
      status: DepositStatus.FAILED,
      providerStatus: 'FAILED',
    });
  });

  it('keeps money that comes with FAILED', () => {
    const body = '{"eventId":"e","depositId":"d","status":"FAILED","amount":"1.50","currency":"usd"}';
    expect(parseSandboxEvent(bytes(body))).toMatchObject({ effect: 'fail', amount: '1.5', currency: 'USD' });
  });

  it('requires the amount and currency of a PAID event', () => {
    expect(
      malformedField(() =>
        parseSandboxEvent(bytes('{"eventId":"e","depositId":"d","status":"PAID","currency":"USD"}')),
      ),
    ).toBe('amount');
    expect(
      malformedField(() => parseSandboxEvent(bytes('{"eventId":"e","depositId":"d","status":"PAID","amount":"1"}'))),
    ).toBe('currency');
  });

  it('refuses a status it does not have', () => {
    expect(malformedField(() => parseSandboxEvent(bytes('{"eventId":"e","depositId":"d","status":"REFUNDED"}')))).toBe(
      'status',
    );
  });
});

describe('instap', () => {
  const ref = { by: 'providerRef', providerRef: FIXTURE_INSTAP_SESSION_TOKEN };

  it('maps COMPLETED to a payment of paidAmount in paidCurrency', () => {
    expect(parseInstapEvent(fixture('instap/completed.json'))).toEqual({
      kind: 'deposit',
      ref,
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'COMPLETED',
      amount: '25',
      currency: 'USD',
    });
  });

  it.each([
    ['new.json', 'NEW', 'record', DepositStatus.PENDING],
    ['expired.json', 'EXPIRED', 'expire', DepositStatus.EXPIRED],
    ['failed.json', 'FAILED', 'fail', DepositStatus.FAILED],
  ])('maps %s (%s) to effect %s, status %s, without money', (file, state, effect, status) => {
    expect(parseInstapEvent(fixture(`instap/${file}`))).toEqual({
      kind: 'deposit',
      ref,
      effect,
      status,
      providerStatus: state,
    });
  });

  it('requires paidAmount and paidCurrency when the session is COMPLETED', () => {
    const body = '{"sessionToken":"t","sessionState":"COMPLETED","userId":"u","paidAmount":null,"paidCurrency":"USD"}';
    expect(malformedField(() => parseInstapEvent(bytes(body)))).toBe('paidAmount');
  });

  it('keeps a session state it does not know as unsupported', () => {
    const body = '{"sessionToken":"t","sessionState":"REFUNDED","userId":"u"}';
    expect(parseInstapEvent(bytes(body))).toEqual({ kind: 'unsupported', providerStatus: 'REFUNDED' });
  });

  it('does not mistake an inherited property name for a state', () => {
    const body = '{"sessionToken":"t","sessionState":"toString","userId":"u"}';
    expect(parseInstapEvent(bytes(body))).toEqual({ kind: 'unsupported', providerStatus: 'toString' });
  });
});

describe('layer1', () => {
  const common = {
    kind: 'deposit',
    ref: { by: 'id', depositId: DEPOSIT },
    amount: '0.2',
    currency: 'ETH',
    txHash: '0x8d49dad00612517e5fdf9ca896c4aded5a46c30226cd44f4f0c26b4c65ae63fe',
    network: 'ETHEREUM',
    paidAt: new Date('2024-06-05T20:39:19.454Z'),
  };

  it.each([
    ['01-detected.json', 'DETECTED', 'progress', DepositStatus.DETECTED, '2024-06-05T20:39:19.602Z', undefined],
    [
      '02-unconfirmed.json',
      'UNCONFIRMED',
      'progress',
      DepositStatus.CONFIRMING,
      '2024-06-05T20:39:26.724Z',
      '0.000234653675781',
    ],
    [
      '03-confirmed.json',
      'CONFIRMED',
      'progress',
      DepositStatus.CONFIRMED,
      '2024-06-05T20:40:16.893Z',
      '0.000234653675781',
    ],
    [
      '04-screening-requested.json',
      'SCREENING_REQUESTED',
      'progress',
      DepositStatus.SCREENING,
      '2024-06-05T20:40:17.112Z',
      '0.000234653675781',
    ],
    ['05-success.json', 'SUCCESS', 'payment', DepositStatus.COMPLETED, '2024-06-05T20:40:31.419Z', '0.000234653675781'],
  ])('maps %s (%s) to effect %s, status %s', (file, providerStatus, effect, status, occurredAt, fee) => {
    expect(parseLayer1Event(fixture(`layer1/${file}`))).toEqual({
      ...common,
      effect,
      status,
      providerStatus,
      occurredAt: new Date(occurredAt),
      ...(fee && { fee }),
    });
  });

  it('accepts the layer1:crypto: prefix as well', () => {
    const text = fixtureFor('layer1/05-success.json', DEPOSIT).replace('layer1:digital:', 'layer1:crypto:');
    expect(parseLayer1Event(bytes(text))).toMatchObject({ kind: 'deposit', effect: 'payment' });
  });

  it('keeps other transaction types as unsupported, with their status', () => {
    const text = fixtureFor('layer1/05-success.json', DEPOSIT).replace('"type": "DEPOSIT"', '"type": "WITHDRAWAL"');
    expect(parseLayer1Event(bytes(text))).toEqual({ kind: 'unsupported', providerStatus: 'SUCCESS' });
  });

  it('keeps a deposit status it does not know as unsupported', () => {
    const text = fixtureFor('layer1/05-success.json', DEPOSIT).replace('"status": "SUCCESS"', '"status": "REVERTED"');
    expect(parseLayer1Event(bytes(text))).toEqual({ kind: 'unsupported', providerStatus: 'REVERTED' });
  });

  it('keeps an event it does not know as unsupported', () => {
    const body = '{"event":"layer1:digital:withdrawal:status-change","timestamp":"2024-06-05T20:40:31Z","data":{}}';
    expect(parseLayer1Event(bytes(body))).toEqual({
      kind: 'unsupported',
      providerStatus: 'layer1:digital:withdrawal:status-change',
    });
  });

  it('maps the funds-reserved balance update to a wallet balance', () => {
    expect(parseLayer1Event(fixture('layer1/balance-1.json'))).toEqual({
      kind: 'wallet-balance',
      address: '0xc4b21fb39aaf5fc07d3cd4420bf3ee74a61642e9',
      asset: 'ETH',
      available: '0',
      blockchain: '0.2',
      reserved: '0.2',
      occurredAt: new Date('2024-06-05T20:40:16.941Z'),
    });
  });

  it('maps the available-funds balance update to a wallet balance', () => {
    expect(parseLayer1Event(fixture('layer1/balance-2.json'))).toMatchObject({
      kind: 'wallet-balance',
      available: '0.2',
      blockchain: '0.2',
      reserved: '0',
    });
  });

  it('counts a fund type that is absent as zero', () => {
    const body =
      '{"event":"layer1:digital:balance:updated","timestamp":"2024-06-05T20:40:16Z","data":{"address":"0xa","asset":"eth","funds":[{"type":"AVAILABLE","balance":"1.5"}]}}';
    expect(parseLayer1Event(bytes(body))).toMatchObject({
      asset: 'ETH',
      available: '1.5',
      blockchain: '0',
      reserved: '0',
    });
  });

  it('names a bad balance', () => {
    const text = loadFixture('layer1/balance-1.json').replace('"balance": "0.20"', '"balance": "lots"');
    expect(malformedField(() => parseLayer1Event(bytes(text)))).toBe('data.funds.1.balance');
  });

  it('names a negative fee', () => {
    const text = loadFixture('layer1/05-success.json').replace('"amount": "0.000234653675781"', '"amount": "-0.1"');
    expect(malformedField(() => parseLayer1Event(bytes(text)))).toBe('data.networkDetail.fee.amount');
  });

  it('names a timestamp that is not a time', () => {
    const text = loadFixture('layer1/05-success.json').replace('"2024-06-05T20:40:31.419360016Z"', '"yesterday"');
    expect(malformedField(() => parseLayer1Event(bytes(text)))).toBe('timestamp');
  });
});

describe('depasify', () => {
  it('maps fiat_payment_received to a payment, at its created_at', () => {
    expect(parseDepasifyEvent(fixture('depasify/fiat_payment_received.json'))).toEqual({
      kind: 'deposit',
      ref: { by: 'id', depositId: DEPOSIT },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'fiat_payment_received',
      amount: '250',
      currency: 'EUR',
      txHash: 'SEPA-20240605-000917',
      occurredAt: new Date('2024-06-05T20:41:02Z'),
      paidAt: new Date('2024-06-05T20:41:02Z'),
    });
  });

  it('maps blockchain_payment_received to a payment, with unix-seconds created_at and a JSON-number amount', () => {
    expect(parseDepasifyEvent(fixture('depasify/blockchain_payment_received.json'))).toEqual({
      kind: 'deposit',
      ref: { by: 'id', depositId: DEPOSIT },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'blockchain_payment_received',
      amount: '0.123456789012345678',
      currency: 'ETH',
      txHash: '0x8d49dad00612517e5fdf9ca896c4aded5a46c30226cd44f4f0c26b4c65ae63fe',
      occurredAt: new Date(1717620062 * 1000),
      paidAt: new Date(1717620062 * 1000),
    });
  });

  it('records fiat_payment_failed and leaves the deposit open', () => {
    expect(parseDepasifyEvent(fixture('depasify/fiat_payment_failed.json'))).toEqual({
      kind: 'deposit',
      ref: { by: 'id', depositId: DEPOSIT },
      effect: 'record',
      status: DepositStatus.PENDING,
      providerStatus: 'fiat_payment_failed',
      occurredAt: new Date('2024-06-05T20:45:10Z'),
    });
  });

  it.each([
    ['pending', VerificationStatus.PENDING],
    ['verified', VerificationStatus.VERIFIED],
    ['rejected', VerificationStatus.REJECTED],
    ['retry', VerificationStatus.RETRY],
  ])('maps identification_%s to the user verification %s', (name, status) => {
    expect(parseDepasifyEvent(fixture(`depasify/identification_${name}.json`))).toMatchObject({
      kind: 'verification',
      userId: 'user-42',
      status,
      providerStatus: `identification_${name}`,
    });
  });

  it.each(['fiat_payment_sent', 'blockchain_payment_enqueued'])('keeps the outgoing %s as unsupported', (event) => {
    expect(parseDepasifyEvent(fixture(`depasify/${event}.json`))).toEqual({
      kind: 'unsupported',
      providerStatus: event,
    });
  });

  it('keeps an event it does not know as unsupported', () => {
    const body = '{"id":"x","event":"account_closed","created_at":"2024-06-05T20:41:02Z","data":{}}';
    expect(parseDepasifyEvent(bytes(body))).toEqual({ kind: 'unsupported', providerStatus: 'account_closed' });
  });

  it('names a created_at that is neither ISO nor unix seconds', () => {
    const text = loadFixture('depasify/fiat_payment_received.json').replace('"2024-06-05T20:41:02Z"', '"June 5th"');
    expect(malformedField(() => parseDepasifyEvent(bytes(text)))).toBe('created_at');
  });

  it('names a missing user_id on an identification event', () => {
    const body = '{"id":"x","event":"identification_verified","created_at":1717620062,"data":{}}';
    expect(malformedField(() => parseDepasifyEvent(bytes(body)))).toBe('data.user_id');
  });
});

describe('finrax', () => {
  const money = {
    amount: '250',
    currency: 'EUR',
    alternative: { amount: '0.123456789012345678', currency: 'ETH' },
  };

  it('maps UNCONFIRMED to progress, CONFIRMING', () => {
    expect(parseFinraxEvent(fixture('finrax/unconfirmed.json'))).toMatchObject({
      kind: 'deposit',
      ref: { by: 'id', depositId: DEPOSIT },
      effect: 'progress',
      status: DepositStatus.CONFIRMING,
      providerStatus: 'UNCONFIRMED',
      ...money,
    });
  });

  it('maps CONFIRMED to a payment with both readings of the money, exactly', () => {
    expect(parseFinraxEvent(fixture('finrax/confirmed.json'))).toMatchObject({
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'CONFIRMED',
      ...money,
      fee: '0.000234653675781',
      paidAt: new Date('2024-06-05T20:41:02Z'),
    });
  });

  it('keeps a status it does not know as unsupported', () => {
    const text = loadFixture('finrax/confirmed.json').replace('"status": "CONFIRMED"', '"status": "DOUBLE_SPENT"');
    expect(parseFinraxEvent(bytes(text))).toEqual({ kind: 'unsupported', providerStatus: 'DOUBLE_SPENT' });
  });

  it('accepts a fee of zero', () => {
    const text = loadFixture('finrax/confirmed.json').replace('0.000234653675781', '0');
    expect(parseFinraxEvent(bytes(text))).toMatchObject({ fee: '0' });
  });

  it('names the crypto amount when it is not positive', () => {
    const text = loadFixture('finrax/confirmed.json').replace(
      '"actualDepositAmount": 0.123456789012345678',
      '"actualDepositAmount": 0',
    );
    expect(malformedField(() => parseFinraxEvent(bytes(text)))).toBe('actualDepositAmount');
  });

  it('names a paymentReceivedAt that is not unix seconds', () => {
    const text = loadFixture('finrax/confirmed.json').replace(
      '"paymentReceivedAt": 1717620062',
      '"paymentReceivedAt": "2024-06-05"',
    );
    expect(malformedField(() => parseFinraxEvent(bytes(text)))).toBe('paymentReceivedAt');
  });
});

describe('keys that could never be stored are refused at the edge', () => {
  it('refuses a depasify user_id longer than 4000 characters, naming the field', () => {
    const body = JSON.stringify({
      id: 'e1',
      event: 'identification_rejected',
      created_at: '2026-01-01T00:00:00Z',
      data: { user_id: 'u'.repeat(4001) },
    });
    expect(() => parseDepasifyEvent(Buffer.from(body))).toThrow(/data\.user_id/);
  });

  it('refuses a depasify user_id with a NUL character', () => {
    const body = JSON.stringify({
      id: 'e2',
      event: 'identification_verified',
      created_at: '2026-01-01T00:00:00Z',
      data: { user_id: 'a\u0000b' },
    });
    expect(() => parseDepasifyEvent(Buffer.from(body))).toThrow(MalformedPayloadError);
  });

  it('refuses a layer1 balance address longer than 200 characters', () => {
    const body = JSON.stringify({
      event: 'layer1:digital:balance:updated',
      timestamp: '2024-06-05T20:40:16.941138099Z',
      data: { address: '0x' + 'a'.repeat(300), asset: 'ETH', funds: [] },
    });
    expect(() => parseLayer1Event(Buffer.from(body))).toThrow(/data\.address/);
  });
});

describe('JSON numbers in exponent form are numbers like any other', () => {
  const finrax = loadFixture('finrax/confirmed.json');

  it('reads finrax fee and amounts printed by a Java or JavaScript serializer, exactly', () => {
    const text = finrax
      .replace('"onChainFee": 0.000234653675781', '"onChainFee": 1e-7')
      .replace('"actualDisplayAmount": 250.00', '"actualDisplayAmount": 2.5E+2')
      .replace('"actualDepositAmount": 0.123456789012345678', '"actualDepositAmount": 1.23456789012345678E-1');
    expect(parseFinraxEvent(bytes(text))).toMatchObject({
      amount: '250',
      alternative: { amount: '0.123456789012345678', currency: 'ETH' },
      fee: '0.0000001',
    });
  });

  it.each([
    ['1.0E-4', '0.0001'],
    ['1E+2', '100'],
    ['0e0', '0'],
  ])('reads the finrax fee %s as %s', (written, fee) => {
    const text = finrax.replace('"onChainFee": 0.000234653675781', `"onChainFee": ${written}`);
    expect(parseFinraxEvent(bytes(text))).toMatchObject({ fee });
  });

  it('names a fee whose exponent makes it negative or absurd', () => {
    for (const written of ['-1e-7', '1e999999999', '1e-19']) {
      const text = finrax.replace('"onChainFee": 0.000234653675781', `"onChainFee": ${written}`);
      expect(
        malformedField(() => parseFinraxEvent(bytes(text))),
        written,
      ).toBe('onChainFee');
    }
  });

  it('reads unix seconds in exponent form', () => {
    const text = finrax.replace('"paymentReceivedAt": 1717620062', '"paymentReceivedAt": 1.717620062E9');
    expect(parseFinraxEvent(bytes(text))).toMatchObject({ paidAt: new Date(1717620062 * 1000) });
  });
});

describe('times Postgres could not store are refused at the edge', () => {
  it.each([
    ['the year 0', '"0000-01-01T00:00:00Z"'],
    ['a time before 1970', '"1969-12-31T23:59:59Z"'],
    ['the year 10000 once its offset is applied', '"9999-12-31T23:59:59-05:00"'],
  ])('names a layer1 timestamp in %s', (_label, time) => {
    const text = loadFixture('layer1/05-success.json').replace('"2024-06-05T20:40:31.419360016Z"', time);
    expect(malformedField(() => parseLayer1Event(bytes(text)))).toBe('timestamp');
  });

  it('names a layer1 createdAt in the year 0', () => {
    const text = loadFixture('layer1/05-success.json').replace('"2024-06-05T20:39:19.454Z"', '"0000-06-05T20:39:19Z"');
    expect(malformedField(() => parseLayer1Event(bytes(text)))).toBe('data.createdAt');
  });

  it.each(['999999999999', '1e15', '-1', '1e-19'])('names a finrax paymentReceivedAt of %s seconds', (seconds) => {
    const text = loadFixture('finrax/confirmed.json').replace(
      '"paymentReceivedAt": 1717620062',
      `"paymentReceivedAt": ${seconds}`,
    );
    expect(malformedField(() => parseFinraxEvent(bytes(text)))).toBe('paymentReceivedAt');
  });

  it('names a depasify created_at in the year 33658', () => {
    const text = loadFixture('depasify/blockchain_payment_received.json').replace('1717620062', '999999999999');
    expect(text).toContain('999999999999');
    expect(malformedField(() => parseDepasifyEvent(bytes(text)))).toBe('created_at');
  });
});
