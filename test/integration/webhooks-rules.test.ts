import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BalancesDocument,
  CreateDepositDocument,
  DepositDocument,
  UserVerificationDocument,
  type CreateDepositInput,
} from '../generated/graphql.js';
import { fixtureFor, loadFixture, withSessionToken } from '../fixtures/index.js';
import { eventually, SECRETS, startTestApp, type TestApp } from '../utils/harness.js';
import { instapHeaders, signedHeaders } from '../utils/signing.js';

/**
 * The deposit rules (contract rules 3 and 5, and the per-provider mapping of
 * "Webhook sidecar") as a user sees them: createDeposit over GraphQL, signed
 * webhooks to the sidecar, the outcome read back over GraphQL. finrax and
 * instap run against small stand-ins for their APIs on free ports.
 */

interface Received {
  url?: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Behaviour = (req: Received, res: ServerResponse) => void;

interface FakeProvider {
  url: string;
  received: Received[];
  behave(b: Behaviour): void;
  close(): Promise<void>;
}

async function fakeProvider(initial: Behaviour): Promise<FakeProvider> {
  const received: Received[] = [];
  let behaviour = initial;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      behaviour(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    behave: (b) => (behaviour = b),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const FINRAX_KEY = 'finrax-test-api-key';
const INSTAP_KEY = 'instap-test-api-key';
const INSTAP_HMAC = 'instap-test-hmac-secret';

/** finrax's POST /payments: checks the key, answers a payment of its own. */
const finraxAccepts: Behaviour = (req, res) => {
  if (req.url !== '/payments' || req.headers['x-api-key'] !== FINRAX_KEY) return reply(res, 401, {});
  const paymentId = randomUUID();
  reply(res, 201, { paymentId, paymentUrl: `https://pay.finrax.example/${paymentId}` });
};

/** instap's POST /pgpub/session: checks the key and the HMAC of the exact body, answers a session. */
const instapAccepts: Behaviour = (req, res) => {
  const hash = createHmac('sha512', INSTAP_HMAC).update(req.body).digest('base64');
  if (req.url !== '/pgpub/session' || req.headers['x-api-key'] !== INSTAP_KEY) return reply(res, 401, {});
  if (req.headers['x-payload-hash'] !== hash) return reply(res, 401, { error: 'errorHmacDoesNotMatch' });
  const token = `OPN-${randomUUID()}`;
  reply(res, 200, { sessionToken: token, checkOutUrl: `https://checkout.instap.example/${token}` });
};

describe('deposit rules through the sidecar and GraphQL', () => {
  let t: TestApp;
  let finrax: FakeProvider;
  let instap: FakeProvider;

  beforeAll(async () => {
    finrax = await fakeProvider(finraxAccepts);
    instap = await fakeProvider(instapAccepts);
    t = await startTestApp({
      env: {
        FINRAX_API_URL: finrax.url,
        FINRAX_API_KEY: FINRAX_KEY,
        INSTAP_API_URL: instap.url,
        INSTAP_API_KEY: INSTAP_KEY,
        INSTAP_HMAC_SECRET: INSTAP_HMAC,
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await finrax?.close();
    await instap?.close();
  });

  async function create(input: CreateDepositInput) {
    const r = await t.gql(CreateDepositDocument, { input });
    expect(r.errors).toBeUndefined();
    return r.data!.createDeposit.deposit;
  }

  async function deposit(id: string) {
    const r = await t.gql(DepositDocument, { id });
    expect(r.errors).toBeUndefined();
    return r.data!.deposit!;
  }

  /** The deposit once it has left PENDING (the effect may be applied just after the 200). */
  async function settled(id: string) {
    return eventually(async () => {
      const d = await deposit(id);
      return d.status !== 'PENDING' ? d : undefined;
    });
  }

  async function balances(userId: string) {
    const r = await t.gql(BalancesDocument, { userId });
    expect(r.errors).toBeUndefined();
    return r.data!.balances.map((b) => ({ currency: b.currency, available: b.available }));
  }

  async function ledger(depositId: string) {
    return t.sql('select amount::text as amount, currency from ledger_entry where deposit_id = $1', [depositId]);
  }

  async function post(provider: string, body: string, secret: string) {
    return t.postWebhook(provider, body, signedHeaders(secret, body));
  }

  async function inboxRow(dedupeKey: string) {
    return eventually(async () => {
      const rows = await t.sql('select outcome, deposit_id from webhook_inbox where dedupe_key = $1', [dedupeKey]);
      return rows[0]?.outcome ? (rows[0] as { outcome: string; deposit_id: string | null }) : undefined;
    });
  }

  /** What any webhook could have changed; equal before and after means it changed nothing. */
  async function everything() {
    const [r] = await t.sql(`select
      (select count(*) from deposit_event)::int as events,
      (select count(*) from ledger_entry)::int as credits,
      (select count(*) from outbox)::int as outbox,
      (select coalesce(sum(available), 0)::text from balance) as balances,
      (select count(*) from user_verification)::int as verifications,
      (select md5(coalesce(string_agg(id || status || coalesce(received_amount::text, '') || updated_at, ',' order by id), ''))
         from deposit) as deposits`);
    return r;
  }

  interface PayingProvider {
    provider: 'sandbox' | 'depasify';
    secret: string;
    currency: string;
    otherCurrency: string;
    /** A signed-able payment notification for `depositId`. */
    payment(depositId: string, amount: string, currency: string): string;
  }

  const sandbox: PayingProvider = {
    provider: 'sandbox',
    secret: SECRETS.sandbox,
    currency: 'USD',
    otherCurrency: 'EUR',
    payment: (depositId, amount, currency) =>
      JSON.stringify({ eventId: `evt_${randomUUID()}`, depositId, amount, currency, status: 'PAID' }),
  };
  const depasify: PayingProvider = {
    provider: 'depasify',
    secret: SECRETS.depasify,
    currency: 'EUR',
    otherCurrency: 'USD',
    payment: (depositId, amount, currency) =>
      fixtureFor('depasify/fiat_payment_received.json', depositId)
        .replace('"amount": "250.00"', `"amount": "${amount}"`)
        .replace('"currency": "EUR"', `"currency": "${currency}"`),
  };

  describe.each([sandbox, depasify])('$provider payments', (p) => {
    async function fixedDeposit(userId: string) {
      return create({ userId, currency: p.currency, amount: '25.00', provider: p.provider });
    }

    async function pay(depositId: string, amount: string, currency = p.currency) {
      const r = await post(p.provider, p.payment(depositId, amount, currency), p.secret);
      expect(r).toEqual({ status: 200, json: { status: 'accepted' } });
      return settled(depositId);
    }

    it('completes a fixed-amount deposit paid exactly, as CORRECT', async () => {
      const user = `${p.provider}-exact`;
      const d = await pay((await fixedDeposit(user)).id, '25.00');
      expect(d).toMatchObject({ status: 'COMPLETED', paymentState: 'CORRECT', receivedAmount: '25' });
      expect(await balances(user)).toEqual([{ currency: p.currency, available: '25' }]);
    });

    it('rejects an underpaid fixed amount as UNDERPAID and credits nothing', async () => {
      const user = `${p.provider}-under`;
      const created = await fixedDeposit(user);
      const d = await pay(created.id, '24.99');
      expect(d).toMatchObject({
        status: 'REJECTED',
        rejectionReason: 'UNDERPAID',
        paymentState: 'UNDERPAID',
        receivedAmount: '24.99',
        receivedCurrency: p.currency,
      });
      expect(await ledger(created.id)).toEqual([]);
      expect(await balances(user)).toEqual([]);
    });

    it('completes an overpaid fixed amount as OVERPAID and credits all of it', async () => {
      const user = `${p.provider}-over`;
      const created = await fixedDeposit(user);
      const d = await pay(created.id, '25.000000000000000001');
      expect(d).toMatchObject({
        status: 'COMPLETED',
        paymentState: 'OVERPAID',
        rejectionReason: null,
        receivedAmount: '25.000000000000000001',
      });
      expect(await balances(user)).toEqual([{ currency: p.currency, available: '25.000000000000000001' }]);
    });

    it('rejects a payment in another currency as CURRENCY_MISMATCH and credits nothing', async () => {
      const user = `${p.provider}-currency`;
      const created = await fixedDeposit(user);
      const d = await pay(created.id, '25.00', p.otherCurrency);
      expect(d).toMatchObject({
        status: 'REJECTED',
        rejectionReason: 'CURRENCY_MISMATCH',
        paymentState: null,
        receivedCurrency: p.otherCurrency,
      });
      expect(await ledger(created.id)).toEqual([]);
      expect(await balances(user)).toEqual([]);
    });

    it('credits an open amount below its minimum, classified UNDERPAID', async () => {
      const user = `${p.provider}-open`;
      const created = await create({ userId: user, currency: p.currency, provider: p.provider });
      expect(created).toMatchObject({ amount: null, minAmount: '10', maxAmount: '5000' });
      const d = await pay(created.id, '5');
      expect(d).toMatchObject({ status: 'COMPLETED', paymentState: 'UNDERPAID', rejectionReason: null });
      expect(await balances(user)).toEqual([{ currency: p.currency, available: '5' }]);
    });

    it.each([
      ['a deposit id that is a UUID nobody made', () => randomUUID()],
      ['a deposit id that is not a UUID', () => 'order-7781'],
    ])('keeps a payment for %s as unmatched and changes nothing else', async (_label, makeId) => {
      const before = await everything();
      const body = p.payment(makeId(), '25.00', p.currency);
      const headers = signedHeaders(p.secret, body);
      expect(await t.postWebhook(p.provider, body, headers)).toEqual({ status: 200, json: { status: 'accepted' } });
      expect(await inboxRow(headers['webhook-id'])).toEqual({ outcome: 'unmatched', deposit_id: null });
      expect(await everything()).toEqual(before);
    });
  });

  it("keeps a webhook for another provider's deposit as unmatched and leaves that deposit alone", async () => {
    const created = await create({ userId: 'cross-provider', currency: 'EUR', amount: '250.00' });
    expect(created.provider).toBe('sandbox');
    const before = await everything();
    const body = depasify.payment(created.id, '250.00', 'EUR');
    const headers = signedHeaders(SECRETS.depasify, body);
    expect(await t.postWebhook('depasify', body, headers)).toEqual({ status: 200, json: { status: 'accepted' } });
    expect(await inboxRow(headers['webhook-id'])).toEqual({ outcome: 'unmatched', deposit_id: null });
    expect(await everything()).toEqual(before);
    expect((await deposit(created.id)).status).toBe('PENDING');
    expect(await t.redis.exists(`${t.prefix}intent:${created.id}`)).toBe(1);
  });

  it('fails a sandbox deposit on FAILED, and a later PAID changes nothing but the timeline', async () => {
    const created = await create({ userId: 'sandbox-failed', currency: 'USD', amount: '25.00' });
    expect((await post('sandbox', fixtureFor('sandbox/failed.json', created.id), SECRETS.sandbox)).status).toBe(200);
    expect(await settled(created.id)).toMatchObject({ status: 'FAILED', receivedAmount: null });

    expect((await post('sandbox', fixtureFor('sandbox/paid.json', created.id), SECRETS.sandbox)).status).toBe(200);
    const d = await eventually(async () => {
      const x = await deposit(created.id);
      return x.events.length === 2 ? x : undefined;
    });
    expect(d.status).toBe('FAILED');
    expect(d.events.map((e) => [e.providerStatus, e.status])).toEqual([
      ['FAILED', 'FAILED'],
      ['PAID', 'COMPLETED'],
    ]);
    expect(await ledger(created.id)).toEqual([]);
  });

  it('records a depasify fiat_payment_failed and keeps the deposit open until fiat_payment_received', async () => {
    const created = await create({ userId: 'depasify-retry', currency: 'EUR', amount: '250.00', provider: 'depasify' });
    const failed = fixtureFor('depasify/fiat_payment_failed.json', created.id);
    expect(await post('depasify', failed, SECRETS.depasify)).toEqual({ status: 200, json: { status: 'accepted' } });
    const open = await eventually(async () => {
      const x = await deposit(created.id);
      return x.events.length === 1 ? x : undefined;
    });
    expect(open.status).toBe('PENDING');
    expect(open.events[0]).toMatchObject({ providerStatus: 'fiat_payment_failed', status: 'PENDING' });

    // The retried transfer, after the failure.
    const received = fixtureFor('depasify/fiat_payment_received.json', created.id).replace(
      '"created_at": "2024-06-05T20:41:02Z"',
      '"created_at": "2024-06-05T20:52:00Z"',
    );
    expect(await post('depasify', received, SECRETS.depasify)).toEqual({ status: 200, json: { status: 'accepted' } });
    const d = await settled(created.id);
    expect(d).toMatchObject({ status: 'COMPLETED', paymentState: 'CORRECT', receivedAmount: '250' });
    expect(d.events.map((e) => [e.providerStatus, e.status])).toEqual([
      ['fiat_payment_failed', 'PENDING'],
      ['fiat_payment_received', 'COMPLETED'],
    ]);
    expect(d.events[1].txHash).toBe('SEPA-20240605-000917');
    expect(await balances('depasify-retry')).toEqual([{ currency: 'EUR', available: '250' }]);
  });

  describe('depasify identification', () => {
    function identification(event: string, userId: string): string {
      return loadFixture(`depasify/${event}.json`).replace('"user_id": "user-42"', `"user_id": "${userId}"`);
    }

    async function verification(userId: string) {
      const r = await t.gql(UserVerificationDocument, { userId });
      expect(r.errors).toBeUndefined();
      return r.data!.userVerification;
    }

    it('rejects a user on identification_rejected, after which createDeposit for that user fails', async () => {
      const user = 'kyc-rejected';
      expect(await verification(user)).toBe('UNVERIFIED');
      await create({ userId: user, currency: 'EUR', amount: '10', provider: 'depasify' });

      const body = identification('identification_rejected', user);
      expect(await post('depasify', body, SECRETS.depasify)).toEqual({ status: 200, json: { status: 'accepted' } });
      expect(await eventually(async () => ((await verification(user)) === 'REJECTED' ? 'REJECTED' : undefined))).toBe(
        'REJECTED',
      );

      const refused = await t.gql(CreateDepositDocument, {
        input: { userId: user, currency: 'EUR', amount: '10', provider: 'depasify' },
      });
      expect(refused.data).toBeNull();
      expect(refused.errors?.[0]?.extensions?.code).toBe('USER_NOT_VERIFIED');
      const rows = await t.sql('select count(*)::int as n from deposit where user_id = $1', [user]);
      expect(rows[0].n).toBe(1);
    });

    it('does not let an older identification event overwrite a newer one', async () => {
      const user = 'kyc-reordered';
      // identification_retry is stamped 19:00:09, identification_pending 19:00:06 and verified 19:00:07.
      expect((await post('depasify', identification('identification_retry', user), SECRETS.depasify)).status).toBe(200);
      expect(await verification(user)).toBe('RETRY');
      for (const older of ['identification_pending', 'identification_verified']) {
        expect(await post('depasify', identification(older, user), SECRETS.depasify)).toEqual({
          status: 200,
          json: { status: 'accepted' },
        });
      }
      expect(await verification(user)).toBe('RETRY');
      const rows = await t.sql('select provider_status from user_verification where user_id = $1', [user]);
      expect(rows).toEqual([{ provider_status: 'identification_retry' }]);
    });
  });

  describe('finrax', () => {
    it('creates the payment at finrax with the deposit id and amount, and links its page', async () => {
      finrax.received.length = 0;
      const created = await create({ userId: 'finrax-link', currency: 'EUR', amount: '250.00', provider: 'finrax' });
      expect(finrax.received).toHaveLength(1);
      const sent = finrax.received[0];
      expect(sent.headers['x-api-key']).toBe(FINRAX_KEY);
      expect(JSON.parse(sent.body)).toEqual({
        clientPaymentId: created.id,
        displayCurrency: 'EUR',
        expectedDisplayAmount: 250,
      });
      expect(created.checkoutUrl).toMatch(/^https:\/\/pay\.finrax\.example\/[0-9a-f-]{36}$/);
    });

    it('credits actualDisplayAmount when displayCurrency is the deposit currency', async () => {
      const created = await create({ userId: 'finrax-eur', currency: 'EUR', amount: '250.00', provider: 'finrax' });
      const body = fixtureFor('finrax/confirmed.json', created.id);
      expect(await post('finrax', body, SECRETS.finrax)).toEqual({ status: 200, json: { status: 'accepted' } });
      const d = await settled(created.id);
      expect(d).toMatchObject({
        status: 'COMPLETED',
        paymentState: 'CORRECT',
        receivedAmount: '250',
        receivedCurrency: 'EUR',
      });
      expect(d.events).toEqual([
        expect.objectContaining({
          providerStatus: 'CONFIRMED',
          status: 'COMPLETED',
          amount: '250',
          currency: 'EUR',
          fee: '0.000234653675781',
          network: 'ETHEREUM',
          occurredAt: '2024-06-05T20:41:02.000Z',
        }),
      ]);
      expect(await balances('finrax-eur')).toEqual([{ currency: 'EUR', available: '250' }]);
    });

    it('credits actualDepositAmount to a deposit in the crypto currency, every one of its 18 decimals', async () => {
      const exact = '0.123456789012345678';
      const created = await create({ userId: 'finrax-eth', currency: 'ETH', amount: exact, provider: 'finrax' });
      const body = fixtureFor('finrax/confirmed.json', created.id);
      expect(body).toContain(`"actualDepositAmount": ${exact},`);
      expect(await post('finrax', body, SECRETS.finrax)).toEqual({ status: 200, json: { status: 'accepted' } });
      const d = await settled(created.id);
      expect(d).toMatchObject({ status: 'COMPLETED', paymentState: 'CORRECT', receivedAmount: exact });
      expect(d.receivedCurrency).toBe('ETH');
      expect(await ledger(created.id)).toEqual([{ amount: exact, currency: 'ETH' }]);
      expect(await balances('finrax-eth')).toEqual([{ currency: 'ETH', available: exact }]);
    });
  });

  describe('instap', () => {
    async function instapDeposit(userId: string) {
      instap.received.length = 0;
      const created = await create({
        userId,
        currency: 'USD',
        amount: '25.00',
        provider: 'instap',
        userName: 'Jane Doe',
        language: 'en',
      });
      expect(instap.received).toHaveLength(1);
      const token = /OPN-[0-9a-f-]{36}$/.exec(created.checkoutUrl ?? '')?.[0];
      if (!token) throw new Error(`no session token in ${created.checkoutUrl}`);
      return { created, token, sent: instap.received[0] };
    }

    it('opens a signed session at instap, then completes the deposit on the COMPLETED webhook for its token', async () => {
      const { created, token, sent } = await instapDeposit('instap-user');
      expect(sent.url).toBe('/pgpub/session');
      expect(sent.headers['x-api-key']).toBe(INSTAP_KEY);
      expect(sent.headers['x-payload-hash']).toBe(createHmac('sha512', INSTAP_HMAC).update(sent.body).digest('base64'));
      expect(JSON.parse(sent.body)).toMatchObject({
        userId: 'instap-user',
        userName: 'Jane Doe',
        sessionDefaultLanguage: 'en',
        sessionDefaultFiatCurrency: 'USD',
        minPaymentAmountInUSD: 25,
        maxPaymentAmountInUSD: 25,
      });
      expect(created.checkoutUrl).toBe(`https://checkout.instap.example/${token}`);

      const body = withSessionToken(loadFixture('instap/completed.json'), token);
      expect(await t.postWebhook('instap', body, instapHeaders(SECRETS.instap, body))).toEqual({
        status: 200,
        json: { status: 'accepted' },
      });
      const d = await settled(created.id);
      expect(d).toMatchObject({ status: 'COMPLETED', paymentState: 'CORRECT', receivedAmount: '25' });
      expect(d.events.map((e) => e.providerStatus)).toEqual(['COMPLETED']);
      expect(await balances('instap-user')).toEqual([{ currency: 'USD', available: '25' }]);
    });

    it('treats the same instap body twice as one delivery, by its hash', async () => {
      const { created, token } = await instapDeposit('instap-twice');
      const body = withSessionToken(loadFixture('instap/completed.json'), token);
      const headers = instapHeaders(SECRETS.instap, body);
      expect((await t.postWebhook('instap', body, headers)).json).toEqual({ status: 'accepted' });
      expect((await t.postWebhook('instap', body, headers)).json).toEqual({ status: 'duplicate' });
      // Other bytes are another delivery, even for the same session; it still credits once.
      const reformatted = JSON.stringify(JSON.parse(body));
      expect((await t.postWebhook('instap', reformatted, instapHeaders(SECRETS.instap, reformatted))).json).toEqual({
        status: 'accepted',
      });
      const d = await settled(created.id);
      expect(d.status).toBe('COMPLETED');
      expect(d.events).toHaveLength(2);
      expect(await ledger(created.id)).toHaveLength(1);
      expect(await balances('instap-twice')).toEqual([{ currency: 'USD', available: '25' }]);
    });

    it('fails with PROVIDER_UNAVAILABLE and leaves no deposit when instap answers 500', async () => {
      const intentsBefore = (await t.redis.keys(`${t.prefix}intent:*`)).length;
      instap.received.length = 0;
      instap.behave((_req, res) => reply(res, 500, { error: 'internal' }));
      try {
        const r = await t.gql(CreateDepositDocument, {
          input: { userId: 'instap-500', currency: 'USD', amount: '25.00', provider: 'instap' },
        });
        expect(r.data).toBeNull();
        expect(r.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAVAILABLE');
        expect(instap.received).toHaveLength(1);
      } finally {
        instap.behave(instapAccepts);
      }
      const rows = await t.sql('select count(*)::int as n from deposit where user_id = $1', ['instap-500']);
      expect(rows[0].n).toBe(0);
      expect(await t.redis.keys(`${t.prefix}intent:*`)).toHaveLength(intentsBefore);
    });
  });
});

describe('createDeposit for instap when instap does not answer in time', () => {
  let t: TestApp;
  let instap: FakeProvider;
  beforeAll(async () => {
    instap = await fakeProvider(() => {
      /* never answers; the gateway gives up after PROVIDER_TIMEOUT_MS */
    });
    t = await startTestApp({
      env: {
        INSTAP_API_URL: instap.url,
        INSTAP_API_KEY: INSTAP_KEY,
        INSTAP_HMAC_SECRET: INSTAP_HMAC,
        PROVIDER_TIMEOUT_MS: '300',
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await instap?.close();
  });

  it('fails with PROVIDER_UNAVAILABLE and leaves no deposit and no intent behind', async () => {
    const r = await t.gql(CreateDepositDocument, {
      input: { userId: 'instap-timeout', currency: 'USD', amount: '25.00', provider: 'instap' },
    });
    expect(r.data).toBeNull();
    expect(r.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(await t.sql('select id from deposit')).toEqual([]);
    expect(await t.redis.keys(`${t.prefix}intent:*`)).toEqual([]);
  });
});
