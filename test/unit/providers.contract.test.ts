import { createHash } from 'node:crypto';
import { LosslessNumber, parse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { DepositStatus } from '../../src/domain/deposit-status.js';
import type { NormalizedEvent } from '../../src/domain/events.js';
import { MalformedPayloadError, SignatureError } from '../../src/lib/errors.js';
import { PROVIDERS, type ProviderName } from '../../src/providers/index.js';
import { instap } from '../../src/providers/instap.provider.js';
import { webhookAdapter, type RawWebhook, type WebhookAdapter } from '../../src/providers/provider.js';
import { generateWhsecSecret } from '../../src/lib/signatures/standard-webhooks.js';
import { FIXTURE_DEPOSIT_ID, FIXTURE_INSTAP_SESSION_TOKEN, loadFixture, withField } from '../fixtures/index.js';
import { instapHeaders, signedHeaders } from '../utils/signing.js';

const createInstapAdapter = (secret: string) => webhookAdapter(instap, secret);

/**
 * One contract, every adapter: what the sidecar relies on, whatever the provider. The suite
 * runs over the provider list; a provider added to it needs its case below (its fixture and
 * what that fixture maps to), or this file does not compile.
 */

interface ContractCase {
  provider: string;
  adapter: WebhookAdapter;
  /** Headers the provider would send with `body` (Standard Webhooks or instap's hash). */
  sign(body: string, opts?: { id?: string; timestamp?: number }): Record<string, string>;
  /** The same, signed with a secret we do not hold. */
  signWrongly(body: string): Record<string, string>;
  fixture: string;
  normalized: NormalizedEvent;
  /** A required field the mapping uses (set to a boolean, it must be named). */
  requiredField: string;
  /** The amount the mapping judges. */
  amountField: string;
}

/** A provider's case without its adapter: the secret to key it with, and how the provider signs. */
type CaseData = Omit<ContractCase, 'provider' | 'adapter'> & { secret: string };

function standardCase(rest: Omit<ContractCase, 'provider' | 'adapter' | 'sign' | 'signWrongly'>): CaseData {
  const secret = generateWhsecSecret();
  const stranger = generateWhsecSecret();
  return {
    secret,
    sign: (body, opts) => signedHeaders(secret, body, opts),
    signWrongly: (body) => signedHeaders(stranger, body),
    ...rest,
  };
}

const INSTAP_SECRET = 'instap-webhook-secret';

const CASES: { [N in ProviderName]: CaseData } = {
  sandbox: standardCase({
    fixture: 'sandbox/paid.json',
    normalized: {
      kind: 'deposit',
      ref: { by: 'id', depositId: FIXTURE_DEPOSIT_ID },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'PAID',
      amount: '25',
      currency: 'USD',
    },
    requiredField: 'depositId',
    amountField: 'amount',
  }),
  instap: {
    secret: INSTAP_SECRET,
    sign: (body) => instapHeaders(INSTAP_SECRET, body),
    signWrongly: (body) => instapHeaders('not-the-secret', body),
    fixture: 'instap/completed.json',
    normalized: {
      kind: 'deposit',
      ref: { by: 'providerRef', providerRef: FIXTURE_INSTAP_SESSION_TOKEN },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'COMPLETED',
      amount: '25',
      currency: 'USD',
    },
    requiredField: 'sessionToken',
    amountField: 'paidAmount',
  },
  layer1: standardCase({
    fixture: 'layer1/05-success.json',
    normalized: {
      kind: 'deposit',
      ref: { by: 'id', depositId: 'First Eth Address' },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'SUCCESS',
      amount: '0.2',
      currency: 'ETH',
      txHash: '0x8d49dad00612517e5fdf9ca896c4aded5a46c30226cd44f4f0c26b4c65ae63fe',
      network: 'ETHEREUM',
      fee: '0.000234653675781',
      occurredAt: new Date('2024-06-05T20:40:31.419Z'),
      paidAt: new Date('2024-06-05T20:39:19.454Z'),
    },
    requiredField: 'data.address.reference',
    amountField: 'data.amount',
  }),
  depasify: standardCase({
    fixture: 'depasify/fiat_payment_received.json',
    normalized: {
      kind: 'deposit',
      ref: { by: 'id', depositId: FIXTURE_DEPOSIT_ID },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'fiat_payment_received',
      amount: '250',
      currency: 'EUR',
      txHash: 'SEPA-20240605-000917',
      occurredAt: new Date('2024-06-05T20:41:02Z'),
      paidAt: new Date('2024-06-05T20:41:02Z'),
    },
    requiredField: 'data.reference',
    amountField: 'data.amount',
  }),
  finrax: standardCase({
    fixture: 'finrax/confirmed.json',
    normalized: {
      kind: 'deposit',
      ref: { by: 'id', depositId: FIXTURE_DEPOSIT_ID },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: 'CONFIRMED',
      amount: '250',
      currency: 'EUR',
      alternative: { amount: '0.123456789012345678', currency: 'ETH' },
      fee: '0.000234653675781',
      txHash: '0x8d49dad00612517e5fdf9ca896c4aded5a46c30226cd44f4f0c26b4c65ae63fe',
      network: 'ETHEREUM',
      occurredAt: new Date(1717620062 * 1000),
      paidAt: new Date(1717620062 * 1000),
    },
    requiredField: 'clientPaymentId',
    amountField: 'actualDisplayAmount',
  }),
};

const cases: ContractCase[] = PROVIDERS.map((m) => {
  const { secret, ...data } = CASES[m.name];
  return { provider: m.name, adapter: webhookAdapter(m, secret), ...data };
});

/** The dotted path of every string (and JSON number: they arrive as text too) in a parsed fixture. */
function stringPaths(value: unknown, path: string[] = []): string[] {
  if (typeof value === 'string') return [path.join('.')];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, [...path, String(i)]));
  if (value && typeof value === 'object' && !(value instanceof LosslessNumber)) {
    return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...path, k]));
  }
  return [];
}

function request(body: string, headers: Record<string, string>): RawWebhook {
  return { body: Buffer.from(body), headers };
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, got none');
}

const BAD_AMOUNTS: [string, unknown][] = [
  ['zero as a string', '0'],
  ['zero as a JSON number', new LosslessNumber('0')],
  ['a negative string', '-5.00'],
  ['a negative JSON number', new LosslessNumber('-5')],
  ['an exponent JSON number of 19 integer digits', new LosslessNumber('1E+18')],
  ['an exponent JSON number of 19 decimals', new LosslessNumber('1e-19')],
  ['a JSON number with an exponent of a billion', new LosslessNumber('1e999999999')],
  ['a negative exponent JSON number', new LosslessNumber('-0.5e3')],
  ['an exponent without digits', '1e'],
  ['words', 'twenty five'],
  ['an empty string', ''],
  ['more than 18 decimals', '0.1234567890123456789'],
  ['more than 18 integer digits', '1234567890123456789'],
  ['a boolean', true],
  ['null', null],
];

describe.each(cases)('the $provider adapter', (c) => {
  const fixture = loadFixture(c.fixture);
  const now = new Date();

  it('verifies and normalizes its fixture', () => {
    const req = request(fixture, c.sign(fixture));
    expect(() => c.adapter.verify(req, now)).not.toThrow();
    expect(c.adapter.parse(req.body)).toEqual(c.normalized);
  });

  it('refuses a signature made with another secret', () => {
    const err = thrown(() => c.adapter.verify(request(fixture, c.signWrongly(fixture)), now));
    expect(err).toBeInstanceOf(SignatureError);
  });

  it('refuses a body changed after signing', () => {
    const headers = c.sign(fixture);
    const err = thrown(() => c.adapter.verify(request(fixture.replace('}', ', "extra": 1}'), headers), now));
    expect(err).toBeInstanceOf(SignatureError);
  });

  it('refuses a request without signature headers', () => {
    const err = thrown(() => c.adapter.verify(request(fixture, { 'content-type': 'application/json' }), now));
    expect(err).toBeInstanceOf(SignatureError);
  });

  it('says a signed body that is not JSON is malformed', () => {
    const body = '{"this is": not json';
    const req = request(body, c.sign(body));
    expect(() => c.adapter.verify(req, now)).not.toThrow();
    expect(thrown(() => c.adapter.parse(req.body))).toBeInstanceOf(MalformedPayloadError);
  });

  it.each(['[]', '"a string"', '42', 'null'])('says a JSON value that is not an object (%s) is malformed', (body) => {
    expect(thrown(() => c.adapter.parse(Buffer.from(body)))).toBeInstanceOf(MalformedPayloadError);
  });

  it('names a required field that has the wrong type', () => {
    const err = thrown(() => c.adapter.parse(Buffer.from(withField(fixture, c.requiredField, true))));
    expect(err).toBeInstanceOf(MalformedPayloadError);
    expect((err as MalformedPayloadError).field).toBe(c.requiredField);
  });

  it('names a required field that is missing', () => {
    const err = thrown(() => c.adapter.parse(Buffer.from(withField(fixture, c.requiredField, undefined))));
    expect(err).toBeInstanceOf(MalformedPayloadError);
    expect((err as MalformedPayloadError).field).toBe(c.requiredField);
  });

  it.each(BAD_AMOUNTS)('names the amount when it is %s', (_, value) => {
    const err = thrown(() => c.adapter.parse(Buffer.from(withField(fixture, c.amountField, value))));
    expect(err).toBeInstanceOf(MalformedPayloadError);
    expect((err as MalformedPayloadError).field).toBe(c.amountField);
  });

  it('keeps every digit of an amount sent as a JSON number', () => {
    const body = withField(fixture, c.amountField, new LosslessNumber('12345678901234567.123456789012345678'));
    const event = c.adapter.parse(Buffer.from(body));
    expect(event).toMatchObject({ kind: 'deposit', amount: '12345678901234567.123456789012345678' });
  });

  it.each([
    ['1e-7', '0.0000001'],
    ['1.0E-4', '0.0001'],
    ['1E+2', '100'],
    ['2.5e1', '25'],
    ['123456789012345678e-18', '0.123456789012345678'],
  ])('reads the amount %s, a JSON number in exponent form, exactly as %s', (text, amount) => {
    const event = c.adapter.parse(Buffer.from(withField(fixture, c.amountField, new LosslessNumber(text))));
    expect(event).toMatchObject({ kind: 'deposit', amount });
  });

  it.each([
    ['a NUL character', 'x\u0000y', /NUL/],
    ['a lone high surrogate', 'x\ud800y', /surrogate/],
    ['a lone low surrogate', '\udfffy', /surrogate/],
  ])('refuses %s in any of its string fields, naming that field', (_label, value, message) => {
    const paths = stringPaths(parse(fixture));
    expect(paths.length).toBeGreaterThan(2);
    for (const path of paths) {
      const err = thrown(() => c.adapter.parse(Buffer.from(withField(fixture, path, value))));
      expect(err, path).toBeInstanceOf(MalformedPayloadError);
      expect((err as MalformedPayloadError).field, path).toBe(path);
      expect((err as MalformedPayloadError).message, path).toMatch(message);
    }
  });

  it('refuses a NUL character in a key of its payload, naming it', () => {
    const err = thrown(() => c.adapter.parse(Buffer.from(fixture.replace('{', '{"odd\\u0000key": 1,'))));
    expect(err).toBeInstanceOf(MalformedPayloadError);
    expect((err as MalformedPayloadError).field).toBe('odd\\u0000key');
  });

  it('keeps a pair of surrogates (a character outside the BMP) as the text it is', () => {
    const body = fixture.replace('{', '{"note": "\\ud83d\\udcb8 paid",');
    expect(() => c.adapter.parse(Buffer.from(body))).not.toThrow();
  });

  it('refuses a body that is not UTF-8', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"note": "'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('",'),
      Buffer.from(fixture.slice(1)),
    ]);
    const err = thrown(() => c.adapter.parse(bytes));
    expect(err).toBeInstanceOf(MalformedPayloadError);
    expect((err as MalformedPayloadError).message).toMatch(/UTF-8/);
  });

  it('gives the same dedupe key to every delivery of the same event', () => {
    const first = request(fixture, c.sign(fixture, { id: 'msg_same' }));
    const retry = request(fixture, c.sign(fixture, { id: 'msg_same', timestamp: Math.floor(Date.now() / 1000) + 60 }));
    expect(c.adapter.dedupeKey(retry)).toBe(c.adapter.dedupeKey(first));
    expect(c.adapter.dedupeKey(first)).toBe(c.adapter.dedupeKey(first));
  });

  it('gives another dedupe key to another event', () => {
    const other = withField(fixture, c.amountField, '999.99');
    const a = request(fixture, c.sign(fixture, { id: 'msg_a' }));
    const b = request(other, c.sign(other, { id: 'msg_b' }));
    expect(c.adapter.dedupeKey(b)).not.toBe(c.adapter.dedupeKey(a));
  });
});

describe('dedupe keys', () => {
  it('are the webhook-id for Standard Webhooks providers, whatever the body', () => {
    const [sandbox] = cases;
    const body = loadFixture('sandbox/paid.json');
    expect(sandbox.adapter.dedupeKey(request(body, sandbox.sign(body, { id: 'msg_42' })))).toBe('msg_42');
  });

  it('are the hex SHA-256 of the raw body for instap', () => {
    const body = loadFixture('instap/completed.json');
    const key = createInstapAdapter(INSTAP_SECRET).dedupeKey(request(body, instapHeaders(INSTAP_SECRET, body)));
    expect(key).toBe(createHash('sha256').update(body).digest('hex'));
  });
});

describe.each(PROVIDERS.map((m) => ({ name: m.name, m })))('the $name module', ({ m }) => {
  const variables = Object.keys(m.env.variables);

  it('declares its secret and its API variables among its variables', () => {
    expect(variables).toContain(m.env.secret);
    for (const v of m.env.api?.variables ?? []) expect(variables).toContain(v);
  });

  it('documents every one of its variables in its README lines', () => {
    for (const v of variables) expect(m.readme.join('\n')).toContain(`\`${v}\``);
  });

  it('says why it does not exist under production, where it does not', () => {
    if (!m.productionAllowed) expect(m.whyNotInProduction).toBeTruthy();
  });
});

describe('the provider list', () => {
  it('names each provider once', () => {
    const names = PROVIDERS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
