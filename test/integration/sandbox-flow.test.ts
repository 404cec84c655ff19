import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BalancesDocument, CreateDepositDocument, DepositDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { eventually, SECRETS, startTestApp, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';

describe('the sandbox flow through the public interfaces', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('creates a deposit, takes a signed PAID webhook, completes it and credits the balance once', async () => {
    const created = await t.gql(CreateDepositDocument, {
      input: { userId: 'alice', currency: 'USD', amount: '25.00' },
    });
    expect(created.errors).toBeUndefined();
    const deposit = created.data!.createDeposit.deposit;
    expect(deposit.status).toBe('PENDING');
    expect(deposit.checkoutUrl).toBe(`${t.gatewayUrl}/sandbox/checkout/${deposit.id}`);

    const body = fixtureFor('sandbox/paid.json', deposit.id);
    const headers = signedHeaders(SECRETS.sandbox, body);
    const first = await t.postWebhook('sandbox', body, headers);
    expect(first).toEqual({ status: 200, json: { status: 'accepted' } });
    const again = await t.postWebhook('sandbox', body, headers);
    expect(again).toEqual({ status: 200, json: { status: 'duplicate' } });

    const after = await eventually(async () => {
      const r = await t.gql(DepositDocument, { id: deposit.id });
      return r.data?.deposit?.status === 'COMPLETED' ? r.data.deposit : undefined;
    });
    expect(after.paymentState).toBe('CORRECT');
    expect(after.events).toHaveLength(1);
    const balances = await t.gql(BalancesDocument, { userId: 'alice' });
    expect(balances.data!.balances).toEqual([{ userId: 'alice', currency: 'USD', available: '25' }]);
  });
});
