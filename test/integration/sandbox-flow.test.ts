import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BalancesDocument, CreateDepositDocument, DepositDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { eventually, freePort, SECRETS, startTestApp, type TestApp } from '../utils/harness.js';
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

  /** What the checkout page's Pay button sends. */
  const pay = async (gatewayUrl: string, id: string, amount: string) => {
    const res = await fetch(`${gatewayUrl}/sandbox/checkout/${id}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount, currency: 'USD', status: 'PAID' }),
    });
    return { status: res.status, json: (await res.json()) as { message: string } };
  };

  it('says the payment was refused and why when the sidecar refuses it, without suggesting a retry', async () => {
    const created = await t.gql(CreateDepositDocument, { input: { userId: 'carol', currency: 'USD', amount: '5' } });
    const id = created.data!.createDeposit.deposit.id;
    const res = await pay(t.gatewayUrl, id, '-5');
    expect(res.status).toBe(400);
    // The sidecar's own words: which field and what is wrong with it.
    expect(res.json.message).toMatch(/^Payment refused: amount: \S/);
    expect(res.json.message).not.toMatch(/try again|could not be delivered/);
    const after = await t.gql(DepositDocument, { id });
    expect(after.data!.deposit).toMatchObject({ status: 'PENDING', events: [] });
  });

  it('asks to try again only when the sidecar cannot be reached', async () => {
    const gone = await startTestApp({ role: 'gateway', env: { WEBHOOK_URL: `http://127.0.0.1:${await freePort()}` } });
    try {
      const created = await gone.gql(CreateDepositDocument, {
        input: { userId: 'dave', currency: 'USD', amount: '5' },
      });
      const res = await pay(gone.gatewayUrl, created.data!.createDeposit.deposit.id, '5');
      expect(res.status).toBe(502);
      expect(res.json.message).toMatch(/could not be delivered to the webhook sidecar; try again/);
    } finally {
      await gone.stop();
    }
  });
});
