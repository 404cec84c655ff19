import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, DepositDocument, type CreateDepositInput } from '../generated/graphql.js';
import { startTestApp, type GraphQLResponse, type TestApp } from '../utils/harness.js';

const TTL_SECONDS = 900;

describe('createDeposit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { DEPOSIT_TTL_SECONDS: String(TTL_SECONDS) } });
  });
  afterAll(async () => {
    await t.stop();
  });

  const create = (input: CreateDepositInput) => t.gql(CreateDepositDocument, { input });

  /** What a refused request may not leave behind: deposit rows and Redis intents of this file. */
  async function leftovers(): Promise<{ deposits: number; intents: number }> {
    const [row] = await t.sql<{ n: number }>('select count(*)::int as n from deposit');
    const intents = await t.redis.keys(`${t.prefix}intent:*`);
    return { deposits: row.n, intents: intents.length };
  }

  async function expectRefused(
    send: () => Promise<GraphQLResponse<unknown>>,
    code: string,
    field?: string,
  ): Promise<GraphQLResponse<unknown>> {
    const before = await leftovers();
    const res = await send();
    expect(res.data ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].extensions?.code).toBe(code);
    if (field !== undefined) expect(res.errors![0].extensions?.field).toBe(field);
    expect(await leftovers()).toEqual(before);
    return res;
  }

  describe('a valid request', () => {
    it('creates a PENDING sandbox deposit with its checkout link, expiry and a client token', async () => {
      const before = Date.now();
      const res = await create({ userId: 'alice', currency: 'USD', amount: '25.00' });
      const after = Date.now();
      expect(res.errors).toBeUndefined();
      const { deposit, clientToken } = res.data!.createDeposit;
      expect(deposit.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(deposit).toMatchObject({
        userId: 'alice',
        provider: 'sandbox',
        currency: 'USD',
        amount: '25',
        minAmount: null,
        maxAmount: null,
        receivedAmount: null,
        paymentState: null,
        status: 'PENDING',
        rejectionReason: null,
        redirectUrl: null,
        checkoutUrl: `${t.gatewayUrl}/sandbox/checkout/${deposit.id}`,
      });
      const expiresAt = Date.parse(deposit.expiresAt);
      // DateTime is serialized to the millisecond; allow for that rounding on both sides.
      expect(expiresAt).toBeGreaterThanOrEqual(before + TTL_SECONDS * 1000 - 1);
      expect(expiresAt).toBeLessThanOrEqual(after + TTL_SECONDS * 1000 + 1);
      expect(clientToken).toMatch(/^ct_/);
      expect(clientToken).not.toContain(t.apiKey);
    });

    it('gives an open-amount deposit the bounds 10 and 5000 when none are given', async () => {
      const res = await create({ userId: 'open-default', currency: 'EUR' });
      expect(res.errors).toBeUndefined();
      expect(res.data!.createDeposit.deposit).toMatchObject({
        amount: null,
        minAmount: '10',
        maxAmount: '5000',
        status: 'PENDING',
      });
    });

    it('keeps open-amount bounds as given, including a minimum of zero', async () => {
      const res = await create({ userId: 'open-bounds', currency: 'BTC', minAmount: '0', maxAmount: '0.5' });
      expect(res.errors).toBeUndefined();
      expect(res.data!.createDeposit.deposit).toMatchObject({ amount: null, minAmount: '0', maxAmount: '0.5' });
    });

    it('accepts the longest userId and the shortest and longest currency codes', async () => {
      for (const input of [
        { userId: 'u'.repeat(4000), currency: 'USD', amount: '1' },
        { userId: 'long-currency', currency: 'ABCDEFGHIJ', amount: '1' },
      ]) {
        const res = await create(input);
        expect(res.errors).toBeUndefined();
        expect(res.data!.createDeposit.deposit).toMatchObject({ userId: input.userId, currency: input.currency });
      }
    });

    it('stores redirectUrl, language and user details that pass validation', async () => {
      const res = await create({
        userId: 'details',
        currency: 'USD',
        amount: '1',
        redirectUrl: 'https://shop.example/return?x=1',
        language: 'DE',
        userName: 'Dee Tails',
        userEmail: 'dee@example.com',
      });
      expect(res.errors).toBeUndefined();
      expect(res.data!.createDeposit.deposit.redirectUrl).toBe('https://shop.example/return?x=1');
    });

    it('writes the intent to Redis under a key holding the UUID, with the deposit TTL and its content', async () => {
      const res = await create({ userId: 'intent-user', currency: 'ETH', amount: '0.5' });
      expect(res.errors).toBeUndefined();
      const id = res.data!.createDeposit.deposit.id;
      const key = `${t.prefix}intent:${id}`;
      const ttl = await t.redis.ttl(key);
      expect(ttl).toBeGreaterThan(TTL_SECONDS - 30);
      expect(ttl).toBeLessThanOrEqual(TTL_SECONDS);
      const intent = JSON.parse((await t.redis.get(key))!);
      const [tenant] = await t.sql<{ id: string }>("select id from tenant where name = 'default'");
      expect(intent).toEqual({
        depositId: id,
        tenantId: tenant.id,
        userId: 'intent-user',
        currency: 'ETH',
        amount: '0.5',
        minAmount: null,
        maxAmount: null,
      });
    });

    it('stores the deposit in Postgres as PENDING with the same expiry it answered', async () => {
      const res = await create({ userId: 'pg-user', currency: 'USD', amount: '7.5' });
      const d = res.data!.createDeposit.deposit;
      const [row] = await t.sql(
        'select status, user_id, currency, amount::text as amount, expires_at from deposit where id = $1',
        [d.id],
      );
      expect(row).toMatchObject({
        status: 'PENDING',
        user_id: 'pg-user',
        currency: 'USD',
        amount: '7.500000000000000000',
      });
      expect((row.expires_at as Date).toISOString()).toBe(new Date(d.expiresAt).toISOString());
    });
  });

  describe('amounts', () => {
    it.each([
      ['0.200234653675781'],
      ['0.123456789012345678'],
      ['999999999999999999.999999999999999999'],
      ['123456789012345678.123456789012345678'],
      ['0.000000000000000001'],
    ])('round-trips %s exactly through the answer, the query, Postgres and the intent', async (amount) => {
      const res = await create({ userId: 'exact', currency: 'ETH', amount });
      expect(res.errors).toBeUndefined();
      const created = res.data!.createDeposit.deposit;
      expect(created.amount).toBe(amount);
      const read = await t.gql(DepositDocument, { id: created.id });
      expect(read.data!.deposit!.amount).toBe(amount);
      const [row] = await t.sql<{ amount: string }>('select amount::text as amount from deposit where id = $1', [
        created.id,
      ]);
      const [intPart, frac] = amount.split('.');
      expect(row.amount).toBe(`${intPart}.${frac.padEnd(18, '0')}`);
      const intent = JSON.parse((await t.redis.get(`${t.prefix}intent:${created.id}`))!);
      expect(intent.amount).toBe(amount);
    });

    it('answers amounts in canonical form without trailing zeros', async () => {
      const res = await create({ userId: 'canon', currency: 'USD', amount: '0010.500' });
      expect(res.errors).toBeUndefined();
      expect(res.data!.createDeposit.deposit.amount).toBe('10.5');
    });

    it('round-trips open-amount bounds with 18 decimals exactly', async () => {
      const res = await create({
        userId: 'exact-open',
        currency: 'ETH',
        minAmount: '0.000000000000000001',
        maxAmount: '999999999999999999.999999999999999999',
      });
      expect(res.errors).toBeUndefined();
      expect(res.data!.createDeposit.deposit).toMatchObject({
        minAmount: '0.000000000000000001',
        maxAmount: '999999999999999999.999999999999999999',
      });
    });
  });

  describe('bad input is refused with BAD_USER_INPUT naming the field, leaving nothing behind', () => {
    const valid: CreateDepositInput = { userId: 'bad-input', currency: 'USD', amount: '25' };
    const cases: [string, Partial<CreateDepositInput>, string][] = [
      ['an empty userId', { userId: '' }, 'userId'],
      ['a userId of 4001 characters', { userId: 'u'.repeat(4001) }, 'userId'],
      ['a lower-case currency', { currency: 'usd' }, 'currency'],
      ['a currency of two letters', { currency: 'US' }, 'currency'],
      ['a currency of eleven letters', { currency: 'ABCDEFGHIJK' }, 'currency'],
      ['a currency with digits', { currency: 'US1' }, 'currency'],
      ['an amount that is not a number', { amount: 'abc' }, 'amount'],
      ['an amount of zero', { amount: '0' }, 'amount'],
      ['a negative amount', { amount: '-1' }, 'amount'],
      ['an amount with 19 decimals', { amount: '1.1234567890123456789' }, 'amount'],
      ['an amount in exponent notation', { amount: '1e30' }, 'amount'],
      ['an amount with 19 integer digits', { amount: '10000000000000000000' }, 'amount'],
      ['an empty amount', { amount: '' }, 'amount'],
      ['an amount with spaces', { amount: ' 25' }, 'amount'],
      ['an amount with a leading plus sign', { amount: '+25' }, 'amount'],
      ['an amount that ends in a point', { amount: '25.' }, 'amount'],
      ['an amount of Infinity', { amount: 'Infinity' }, 'amount'],
      ['a minAmount above maxAmount', { amount: null, minAmount: '100', maxAmount: '50' }, 'minAmount'],
      ['a minAmount above the default maxAmount', { amount: null, minAmount: '5001' }, 'minAmount'],
      ['a lone maxAmount below the default minAmount', { amount: null, maxAmount: '5' }, 'maxAmount'],
      ['an empty provider', { provider: '' }, 'provider'],
      ['an empty userName', { userName: '' }, 'userName'],
      ['a negative minAmount', { amount: null, minAmount: '-1' }, 'minAmount'],
      ['a negative maxAmount', { amount: null, maxAmount: '-1' }, 'maxAmount'],
      ['a maxAmount with 19 decimals', { amount: null, maxAmount: '1.1234567890123456789' }, 'maxAmount'],
      ['an amount together with minAmount', { minAmount: '10' }, 'minAmount'],
      ['an amount together with maxAmount', { maxAmount: '100' }, 'maxAmount'],
      ['an ftp redirectUrl', { redirectUrl: 'ftp://x' }, 'redirectUrl'],
      ['a redirectUrl that is not a URL', { redirectUrl: 'not a url' }, 'redirectUrl'],
      ['a relative redirectUrl', { redirectUrl: '/return' }, 'redirectUrl'],
      ['a javascript: redirectUrl', { redirectUrl: 'javascript:alert(1)' }, 'redirectUrl'],
      ['a three-letter language', { language: 'eng' }, 'language'],
      ['a one-letter language', { language: 'e' }, 'language'],
    ];
    it.each(cases)('refuses %s', async (_label, change, field) => {
      const res = await expectRefused(() => create({ ...valid, ...change }), 'BAD_USER_INPUT', field);
      expect(res.errors![0].message).toContain(field);
    });

    it('refuses an amount sent as a JSON number instead of a string', async () => {
      const res = await expectRefused(
        () => create({ ...valid, amount: 25 as unknown as string }),
        'BAD_USER_INPUT',
        'amount',
      );
      expect(res.errors![0].message).toContain('not a JSON number');
    });

    it('refuses an amount written as a number literal in the query text', async () => {
      await expectRefused(
        async () => {
          const res = await fetch(`${t.gatewayUrl}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': t.apiKey },
            body: JSON.stringify({
              query:
                'mutation { createDeposit(input: { userId: "lit", currency: "USD", amount: 25 }) { clientToken } }',
            }),
          });
          return { status: res.status, ...((await res.json()) as object) };
        },
        'BAD_USER_INPUT',
        'amount',
      );
    });

    it('refuses an Idempotency-Key longer than 255 characters', async () => {
      await expectRefused(
        () => t.gql(CreateDepositDocument, { input: valid }, { headers: { 'idempotency-key': 'k'.repeat(256) } }),
        'BAD_USER_INPUT',
        'Idempotency-Key',
      );
    });
  });

  describe('providers', () => {
    it('refuses a provider it does not know with UNKNOWN_PROVIDER', async () => {
      const res = await expectRefused(
        () => create({ userId: 'p', currency: 'USD', amount: '1', provider: 'paypal' }),
        'UNKNOWN_PROVIDER',
      );
      expect(res.errors![0].extensions?.provider).toBe('paypal');
    });

    it('refuses instap with PROVIDER_NOT_CONFIGURED when its API settings are absent', async () => {
      const res = await expectRefused(
        () => create({ userId: 'p', currency: 'USD', amount: '1', provider: 'instap' }),
        'PROVIDER_NOT_CONFIGURED',
      );
      expect(res.errors![0].extensions?.provider).toBe('instap');
    });

    it('refuses finrax with PROVIDER_NOT_CONFIGURED when its API settings are absent', async () => {
      await expectRefused(
        () => create({ userId: 'p', currency: 'USD', amount: '1', provider: 'finrax' }),
        'PROVIDER_NOT_CONFIGURED',
      );
    });

    it('creates a layer1 deposit without a checkout link when its webhook secret is set', async () => {
      const res = await create({ userId: 'l1', currency: 'ETH', amount: '1', provider: 'layer1' });
      expect(res.errors).toBeUndefined();
      expect(res.data!.createDeposit.deposit).toMatchObject({
        provider: 'layer1',
        checkoutUrl: null,
        status: 'PENDING',
      });
    });

    it('refuses layer1 with PROVIDER_NOT_CONFIGURED on an app whose WEBHOOK_SECRET_LAYER1 is empty', async () => {
      const other = await startTestApp({ env: { WEBHOOK_SECRET_LAYER1: '' }, background: false });
      try {
        const res = await other.gql(CreateDepositDocument, {
          input: { userId: 'p', currency: 'ETH', amount: '1', provider: 'layer1' },
        });
        expect(res.errors?.[0].extensions?.code).toBe('PROVIDER_NOT_CONFIGURED');
        expect(res.errors?.[0].message).toContain('WEBHOOK_SECRET_LAYER1');
        expect(await other.sql('select id from deposit')).toEqual([]);
        expect(await other.redis.keys(`${other.prefix}intent:*`)).toEqual([]);
      } finally {
        await other.stop();
      }
    });
  });

  it('refuses a user whose identity verification was rejected with USER_NOT_VERIFIED', async () => {
    await t.sql(
      `insert into user_verification (user_id, status, provider_status, occurred_at)
       values ('rejected-user', 'REJECTED', 'identification_rejected', now())`,
    );
    await expectRefused(() => create({ userId: 'rejected-user', currency: 'USD', amount: '1' }), 'USER_NOT_VERIFIED');
  });
});
