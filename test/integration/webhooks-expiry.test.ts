import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BalancesDocument,
  CreateDepositDocument,
  DepositDocument,
  type CreateDepositInput,
} from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { eventually, SECRETS, startTestApp, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';

/**
 * Expiry and the Redis intent (contract rules 2 and 6): the sweeper, payments
 * that arrive after expiresAt (on time or late by the provider's payment time),
 * and an intent that is gone for any reason, with Postgres deciding.
 */

function client(t: TestApp) {
  return {
    async create(input: CreateDepositInput) {
      const r = await t.gql(CreateDepositDocument, { input });
      expect(r.errors).toBeUndefined();
      return r.data!.createDeposit.deposit;
    },
    async deposit(id: string) {
      const r = await t.gql(DepositDocument, { id });
      expect(r.errors).toBeUndefined();
      return r.data!.deposit!;
    },
    async balances(userId: string) {
      const r = await t.gql(BalancesDocument, { userId });
      expect(r.errors).toBeUndefined();
      return r.data!.balances.map((b) => ({ currency: b.currency, available: b.available }));
    },
    async credits(depositId: string): Promise<number> {
      const rows = await t.sql('select count(*)::int as n from ledger_entry where deposit_id = $1', [depositId]);
      return rows[0].n;
    },
    async outbox(depositId: string) {
      return t.sql('select status, previous_status from outbox where deposit_id = $1 order by id', [depositId]);
    },
    async post(provider: 'sandbox' | 'depasify' | 'layer1', body: string) {
      const secret = SECRETS[provider];
      return t.postWebhook(provider, body, signedHeaders(secret, body));
    },
  };
}

/** A depasify fiat_payment_received for `depositId` whose provider time (`created_at`) is `paidAt`. */
function depasifyPayment(depositId: string, paidAt: Date): string {
  return fixtureFor('depasify/fiat_payment_received.json', depositId).replace(
    '"created_at": "2024-06-05T20:41:02Z"',
    `"created_at": "${paidAt.toISOString()}"`,
  );
}

describe('expiry and the Redis intent', () => {
  let t: TestApp;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await startTestApp();
    c = client(t);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const intentKey = (id: string) => `${t.prefix}intent:${id}`;

  async function expireBySweeper(id: string) {
    await t.sql(
      `update deposit set created_at = now() - interval '10 minutes', expires_at = now() - interval '1 minute' where id = $1`,
      [id],
    );
    return eventually(async () => {
      const d = await c.deposit(id);
      return d.status === 'EXPIRED' ? d : undefined;
    });
  }

  async function settledAs(id: string, status: string) {
    return eventually(async () => {
      const d = await c.deposit(id);
      return d.status === status ? d : undefined;
    });
  }

  it('expires a PENDING deposit past its expiresAt by the sweeper, and writes and publishes its outbox row', async () => {
    const created = await c.create({ userId: 'swept', currency: 'USD', amount: '25.00' });
    await t.sql(`update deposit set expires_at = now() - interval '1 second' where id = $1`, [created.id]);
    const d = await settledAs(created.id, 'EXPIRED');
    expect(d).toMatchObject({ rejectionReason: null, receivedAmount: null, paymentState: null });
    expect(await c.outbox(created.id)).toEqual([{ status: 'EXPIRED', previous_status: 'PENDING' }]);
    // Every change has an event: the gateway's own, with no delivery behind it.
    expect(
      await t.sql('select status, provider_status, source, inbox_id from deposit_event where deposit_id = $1', [
        created.id,
      ]),
    ).toEqual([{ status: 'EXPIRED', provider_status: 'EXPIRED_BY_GATEWAY', source: 'SYSTEM', inbox_id: null }]);
    await eventually(async () => {
      const rows = await t.sql('select published_at from outbox where deposit_id = $1', [created.id]);
      return rows[0]?.published_at != null;
    });
    expect(await c.credits(created.id)).toBe(0);
  });

  it('completes and credits once a depasify payment made before expiresAt that arrives after the sweeper expired the deposit', async () => {
    const created = await c.create({ userId: 'paid-in-time', currency: 'EUR', amount: '250.00', provider: 'depasify' });
    const expired = await expireBySweeper(created.id);
    const paidAt = new Date(new Date(expired.expiresAt).getTime() - 60_000);
    const body = depasifyPayment(created.id, paidAt);

    expect(await c.post('depasify', body)).toEqual({ status: 200, json: { status: 'accepted' } });
    const d = await settledAs(created.id, 'COMPLETED');
    expect(d).toMatchObject({ paymentState: 'CORRECT', rejectionReason: null, receivedAmount: '250' });
    // The same payment sent again as a new message: recorded, never credited twice.
    expect(await c.post('depasify', body)).toEqual({ status: 200, json: { status: 'accepted' } });
    // The sweeper's expiry (an event of its own, source SYSTEM), then the two payments.
    await eventually(async () => (await c.deposit(created.id)).events.length === 3);
    expect(await c.credits(created.id)).toBe(1);
    expect(await c.balances('paid-in-time')).toEqual([{ currency: 'EUR', available: '250' }]);
    expect(await c.outbox(created.id)).toEqual([
      { status: 'EXPIRED', previous_status: 'PENDING' },
      { status: 'COMPLETED', previous_status: 'EXPIRED' },
    ]);
  });

  it('counts a provider time later than receipt as receipt time, so an on-time payment is not made late', async () => {
    const created = await c.create({ userId: 'clock-ahead', currency: 'EUR', amount: '250.00', provider: 'depasify' });
    await t.sql(`update deposit set expires_at = now() + interval '30 seconds' where id = $1`, [created.id]);
    const body = depasifyPayment(created.id, new Date(Date.now() + 3_600_000));
    expect(await c.post('depasify', body)).toEqual({ status: 200, json: { status: 'accepted' } });
    const d = await settledAs(created.id, 'COMPLETED');
    expect(d.rejectionReason).toBeNull();
    expect(await c.credits(created.id)).toBe(1);
  });

  it('counts a provider time later than receipt as receipt time, so a late payment stays late', async () => {
    const created = await c.create({ userId: 'late-ahead', currency: 'EUR', amount: '250.00', provider: 'depasify' });
    await expireBySweeper(created.id);
    const body = depasifyPayment(created.id, new Date(Date.now() + 3_600_000));
    expect(await c.post('depasify', body)).toEqual({ status: 200, json: { status: 'accepted' } });
    const d = await eventually(async () => {
      const x = await c.deposit(created.id);
      return x.rejectionReason ? x : undefined;
    });
    expect(d).toMatchObject({ status: 'EXPIRED', rejectionReason: 'LATE_PAYMENT', receivedAmount: '250' });
    expect(await c.credits(created.id)).toBe(0);
  });

  it('takes the intent out of Redis with the first notification for the deposit', async () => {
    const created = await c.create({ userId: 'intent-taken', currency: 'ETH', amount: '0.20', provider: 'layer1' });
    const key = intentKey(created.id);
    const ttl = await t.redis.ttl(key);
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(JSON.parse((await t.redis.get(key))!)).toMatchObject({
      depositId: created.id,
      userId: 'intent-taken',
      currency: 'ETH',
      amount: '0.2',
    });

    expect(await c.post('layer1', fixtureFor('layer1/01-detected.json', created.id))).toEqual({
      status: 200,
      json: { status: 'accepted' },
    });
    await settledAs(created.id, 'DETECTED');
    expect(await t.redis.exists(key)).toBe(0);

    // The rest of the sequence finds no intent and needs none.
    expect((await c.post('layer1', fixtureFor('layer1/05-success.json', created.id))).status).toBe(200);
    await settledAs(created.id, 'COMPLETED');
    expect(await c.credits(created.id)).toBe(1);
  });

  const lostIntents: [string, (id: string) => Promise<void>][] = [
    [
      'an earlier attempt took it with GETDEL and then rolled back',
      async (id) => {
        expect(await t.redis.del(intentKey(id))).toBe(1);
      },
    ],
    [
      "this file's Redis keys were flushed",
      async () => {
        await t.flushRedis();
        expect(await t.redis.keys(`${t.prefix}*`)).toEqual([]);
      },
    ],
    [
      'its TTL ran out',
      async (id) => {
        expect(await t.redis.pexpire(intentKey(id), 1)).toBe(1);
        await eventually(async () => (await t.redis.exists(intentKey(id))) === 0);
      },
    ],
  ];

  it.each(lostIntents)('completes an on-time payment whose intent is gone because %s', async (_why, loseIntent) => {
    const user = `lost-intent-${Math.random().toString(36).slice(2, 8)}`;
    const created = await c.create({ userId: user, currency: 'USD', amount: '25.00' });
    expect(await t.redis.exists(intentKey(created.id))).toBe(1);
    await loseIntent(created.id);

    expect(await c.post('sandbox', fixtureFor('sandbox/paid.json', created.id))).toEqual({
      status: 200,
      json: { status: 'accepted' },
    });
    const d = await settledAs(created.id, 'COMPLETED');
    expect(d).toMatchObject({ paymentState: 'CORRECT', rejectionReason: null });
    expect(await c.credits(created.id)).toBe(1);
    expect(await c.balances(user)).toEqual([{ currency: 'USD', available: '25' }]);
  });
});

describe('a payment after expiresAt that arrives before the sweeper has run', () => {
  let t: TestApp;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await startTestApp({ background: false });
    c = client(t);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('expires the deposit with LATE_PAYMENT and the received amount, and credits nothing', async () => {
    const created = await c.create({ userId: 'late', currency: 'USD', amount: '25.00' });
    await t.sql(`update deposit set expires_at = now() - interval '1 minute' where id = $1`, [created.id]);
    // No sweeper in this app: the deposit is still PENDING, past its expiry.
    expect((await c.deposit(created.id)).status).toBe('PENDING');

    expect(await c.post('sandbox', fixtureFor('sandbox/paid.json', created.id))).toEqual({
      status: 200,
      json: { status: 'accepted' },
    });
    const d = await eventually(async () => {
      const x = await c.deposit(created.id);
      return x.status !== 'PENDING' ? x : undefined;
    });
    expect(d).toMatchObject({
      status: 'EXPIRED',
      rejectionReason: 'LATE_PAYMENT',
      receivedAmount: '25',
      receivedCurrency: 'USD',
    });
    expect(d.events.map((e) => e.providerStatus)).toEqual(['PAID']);
    expect(await c.credits(created.id)).toBe(0);
    expect(await c.balances('late')).toEqual([]);
    expect(await c.outbox(created.id)).toEqual([{ status: 'EXPIRED', previous_status: 'PENDING' }]);
  });
});
