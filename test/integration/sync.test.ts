import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepositStatus } from '../../src/domain/deposit-status.js';
import { encodeSyncRecord } from '../../src/domain/sync-record.js';
import { encodeStatusCursor } from '../../src/services/status-cursor.js';
import { fixtureFor } from '../fixtures/index.js';
import {
  BalancesDocument,
  CreateDepositDocument,
  DepositStatusChangedDocument,
  SyncDepositDocument,
  SyncViewDocument,
} from '../generated/graphql.js';
import { startFakeProviderApi, type FakeProviderApi } from '../utils/fake-provider-api.js';
import { eventually, SECRETS, startTestApp, uniqueName, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';
import { connectWs } from '../utils/ws-client.js';

/**
 * syncDeposit (contract: "Recovering deposits"): each provider's status API, faked by a real
 * HTTP server on 127.0.0.1, asked through the public mutation; answers stored and applied
 * like webhooks (source SYNC), failures changing nothing.
 */

const TIMEOUT_MS = 400;

describe('syncDeposit', () => {
  let t: TestApp;
  let api: FakeProviderApi;

  beforeAll(async () => {
    api = await startFakeProviderApi();
    t = await startTestApp({
      env: {
        INSTAP_API_URL: api.url,
        INSTAP_API_KEY: 'instap-api-key-for-tests',
        INSTAP_HMAC_SECRET: 'instap-hmac-for-tests',
        FINRAX_API_URL: api.url,
        FINRAX_API_KEY: 'finrax-api-key-for-tests',
        PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
        // The automatic sync stays out of the way: these tests ask by hand.
        SYNC_AFTER_SECONDS: '86400',
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await api?.close();
  });

  const create = async (provider: string, input: Record<string, unknown> = {}) => {
    const r = await t.gql(CreateDepositDocument, {
      input: { userId: uniqueName('u'), currency: 'USD', amount: '25', provider, ...input } as never,
    });
    expect(r.errors).toBeUndefined();
    const d = r.data!.createDeposit.deposit;
    const [row] = await t.sql<{ provider_ref: string | null }>('select provider_ref from deposit where id = $1', [
      d.id,
    ]);
    return { id: d.id, userId: d.userId, ref: row.provider_ref };
  };
  const sync = (id: string, apiKey?: string | null) => t.gql(SyncDepositDocument, { id }, { apiKey });
  const syncRows = (id: string) =>
    t.sql<{ source: string; outcome: string }>(
      `select source, outcome from webhook_inbox where dedupe_key like 'sync:' || $1::text || ':%' order by id`,
      [id],
    );
  const credits = (id: string) => t.sql('select amount::text from ledger_entry where deposit_id = $1', [id]);
  const metricsText = async () => (await fetch(`${t.gatewayUrl}/metrics`)).text();

  it('completes an instap deposit whose session the provider reports COMPLETED with its amount, once', async () => {
    const d = await create('instap');
    api.answers.set(d.ref!, {
      body: { sessionState: 'COMPLETED', checkOutUrl: 'https://x.example', paidAmount: 25.0, paidCurrency: 'USD' },
    });
    const r = await sync(d.id);
    expect(r.errors).toBeUndefined();
    expect(r.data!.syncDeposit).toMatchObject({ id: d.id, status: 'COMPLETED', syncable: true, receivedAmount: '25' });
    expect(r.data!.syncDeposit.events).toEqual([
      { status: 'COMPLETED', providerStatus: 'COMPLETED', amount: '25', currency: 'USD', source: 'SYNC' },
    ]);
    // The request as the seed prints it, with the API key and nothing of ours followed anywhere.
    const [req] = api.statusRequests(d.ref!);
    expect(req.path).toBe(`/pgpub/session/${d.ref}`);
    expect(req.headers['x-api-key']).toBe('instap-api-key-for-tests');
    expect(req.headers['content-type']).toBe('application/json');

    // The same answer again is not stored again, and nothing is credited twice.
    const again = await sync(d.id);
    expect(again.data!.syncDeposit.status).toBe('COMPLETED');
    expect(await syncRows(d.id)).toEqual([{ source: 'SYNC', outcome: 'applied' }]);
    expect(await credits(d.id)).toEqual([{ amount: '25.000000000000000000' }]);
    const metrics = await metricsText();
    expect(metrics).toMatch(/provider_sync_total\{provider="instap",outcome="changed"\} 1/);
    expect(metrics).toMatch(/provider_sync_total\{provider="instap",outcome="unchanged"\} [1-9]/);
  });

  it('moves an instap deposit reported COMPLETED without an amount to CONFIRMED, needing attention, crediting nothing', async () => {
    const d = await create('instap');
    api.answers.set(d.ref!, { body: { sessionState: 'COMPLETED', checkOutUrl: 'https://x.example' } });
    const r = await sync(d.id);
    expect(r.errors).toBeUndefined();
    expect(r.data!.syncDeposit.status).toBe('CONFIRMED');
    expect(r.data!.syncDeposit.receivedAmount).toBeNull();
    const [row] = await t.sql('select amount_unreported, needs_attention from deposit where id = $1', [d.id]);
    expect(row).toEqual({ amount_unreported: true, needs_attention: true });
    expect(await credits(d.id)).toEqual([]);
  });

  it('records an instap NEW session once and changes nothing', async () => {
    const d = await create('instap');
    api.answers.set(d.ref!, { body: { sessionState: 'NEW', checkOutUrl: 'https://x.example' } });
    await sync(d.id);
    const r = await sync(d.id);
    expect(r.data!.syncDeposit.status).toBe('PENDING');
    expect(r.data!.syncDeposit.events.map((e) => [e.providerStatus, e.source])).toEqual([['NEW', 'SYNC']]);
  });

  it('follows finrax from UNCONFIRMED to CONFIRMED, crediting the display amount once', async () => {
    const d = await create('finrax', { currency: 'EUR', amount: '250' });
    const confirmed = JSON.parse(fixtureFor('finrax/confirmed.json', d.id)) as Record<string, unknown>;
    api.answers.set(d.ref!, { body: { ...confirmed, status: 'UNCONFIRMED' } });
    const first = await sync(d.id);
    expect(first.errors).toBeUndefined();
    expect(first.data!.syncDeposit.status).toBe('CONFIRMING');
    // Exact digits: the fixture's numbers are sent as JSON numbers.
    api.answers.set(d.ref!, { body: fixtureFor('finrax/confirmed.json', d.id) });
    const second = await sync(d.id);
    expect(second.data!.syncDeposit).toMatchObject({
      status: 'COMPLETED',
      receivedAmount: '250',
      receivedCurrency: 'EUR',
    });
    expect(second.data!.syncDeposit.events.map((e) => [e.status, e.source])).toEqual([
      ['CONFIRMING', 'SYNC'],
      ['COMPLETED', 'SYNC'],
    ]);
    expect(api.statusRequests(d.ref!)[0].path).toBe(`/payments/${d.ref}`);
    expect(api.statusRequests(d.ref!)[0].headers['x-api-key']).toBe('finrax-api-key-for-tests');
    expect(await credits(d.id)).toEqual([{ amount: '250.000000000000000000' }]);
  });

  it('expires a finrax deposit whose payment link the provider reports EXPIRED', async () => {
    const d = await create('finrax');
    api.answers.set(d.ref!, { body: { status: 'EXPIRED', clientPaymentId: d.id } });
    const r = await sync(d.id);
    expect(r.data!.syncDeposit.status).toBe('EXPIRED');
    expect(r.data!.syncDeposit.events.map((e) => e.source)).toEqual(['SYNC']);
  });

  it('changes nothing and stores nothing when finrax does not know the payment (404)', async () => {
    const d = await create('finrax');
    const r = await sync(d.id);
    expect(r.errors).toBeUndefined();
    expect(r.data!.syncDeposit).toMatchObject({ status: 'PENDING', events: [] });
    expect(await syncRows(d.id)).toEqual([]);
    expect(await metricsText()).toMatch(/provider_sync_total\{provider="finrax",outcome="not_found"\} [1-9]/);
  });

  it('refuses a finrax answer about another payment, storing nothing', async () => {
    const d = await create('finrax', { currency: 'EUR', amount: '250' });
    const other = fixtureFor('finrax/confirmed.json', '11111111-2222-4333-8444-555555555555');
    api.answers.set(d.ref!, { body: other });
    const r = await sync(d.id);
    expect(r.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(await syncRows(d.id)).toEqual([]);
    expect(await credits(d.id)).toEqual([]);
  });

  const failures: [string, () => Parameters<FakeProviderApi['answers']['set']>[1]][] = [
    ['answers 500', () => ({ status: 500, body: { message: 'boom' } })],
    ['answers 401', () => ({ status: 401, body: { message: 'bad key' } })],
    [
      'is slower than PROVIDER_TIMEOUT_MS',
      () => ({ delayMs: TIMEOUT_MS * 3, body: { sessionState: 'COMPLETED', paidAmount: '25', paidCurrency: 'USD' } }),
    ],
    ['answers something that is not JSON', () => ({ body: '<html>maintenance</html>' })],
    ['answers JSON of another shape', () => ({ body: { state: 'COMPLETED' } })],
    [
      'answers a negative amount',
      () => ({ body: { sessionState: 'COMPLETED', paidAmount: '-25', paidCurrency: 'USD' } }),
    ],
    ['answers a NUL byte', () => ({ body: { sessionState: 'COMPLETED\u0000' } })],
    ['redirects elsewhere (the API key must not follow)', () => ({ redirectTo: `${api.url}/pgpub/session/elsewhere` })],
  ];

  it.each(failures)('fails PROVIDER_UNAVAILABLE and changes nothing when instap %s', async (_label, answer) => {
    const d = await create('instap');
    api.answers.set(d.ref!, answer());
    api.answers.set('elsewhere', { body: { sessionState: 'COMPLETED', paidAmount: '25', paidCurrency: 'USD' } });
    const r = await sync(d.id);
    expect(r.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    // Asked once: a failure is not retried behind the caller's back.
    expect(api.statusRequests(d.ref!)).toHaveLength(1);
    expect(api.statusRequests('elsewhere')).toEqual([]);
    expect(await syncRows(d.id)).toEqual([]);
    const [row] = await t.sql('select status, amount_unreported from deposit where id = $1', [d.id]);
    expect(row).toEqual({ status: 'PENDING', amount_unreported: false });
  });

  it('gives up on a provider slower than PROVIDER_TIMEOUT_MS: the request is abandoned before its answer comes', async () => {
    const d = await create('instap');
    // The answer would complete the deposit, were it waited for; it is sent long after the timeout.
    api.answers.set(d.ref!, {
      delayMs: TIMEOUT_MS * 25,
      body: { sessionState: 'COMPLETED', paidAmount: '25', paidCurrency: 'USD' },
    });
    const r = await sync(d.id);
    expect(r.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(r.errors?.[0].message).toMatch(/no answer before the timeout/);
    await eventually(async () => api.statusRequests(d.ref!)[0]?.abandoned);
    expect(api.statusRequests(d.ref!)).toHaveLength(1);
    const [row] = await t.sql('select status from deposit where id = $1', [d.id]);
    expect(row).toEqual({ status: 'PENDING' });
  });

  it('fails PROVIDER_UNAVAILABLE when the provider cannot be reached at all', async () => {
    const down = await startFakeProviderApi();
    await down.close();
    const other = await startTestApp({
      role: 'gateway',
      database: t.db,
      env: {
        INSTAP_API_URL: down.url,
        INSTAP_API_KEY: 'k',
        INSTAP_HMAC_SECRET: 'h',
        PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    });
    try {
      const d = await create('instap');
      const r = await other.gql(SyncDepositDocument, { id: d.id });
      expect(r.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
      expect(await syncRows(d.id)).toEqual([]);
    } finally {
      await other.stop({ keepDatabase: true });
    }
  });

  it('says SYNC_NOT_SUPPORTED for a provider without a status API, and syncable says so first', async () => {
    const d = await create('layer1');
    const view = await t.gql(SyncViewDocument, { id: d.id });
    expect(view.data!.deposit!.syncable).toBe(false);
    const r = await sync(d.id);
    expect(r.errors?.[0].extensions?.code).toBe('SYNC_NOT_SUPPORTED');
    expect(r.data).toBeNull();
  });

  it("says NOT_FOUND for an unknown id, a non-UUID, and another tenant's deposit", async () => {
    const mine = await create('sandbox');
    const other = await t.app.tenants.create(uniqueName('other'));
    for (const [id, key] of [
      ['00000000-0000-4000-8000-000000000000', undefined],
      ["' or 1=1 --", undefined],
      [mine.id, other.apiKey],
    ] as const) {
      const r = await sync(id, key);
      expect(r.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('refuses callers without an API key', async () => {
    const d = await create('sandbox');
    const r = await sync(d.id, null);
    expect(r.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(await syncRows(d.id)).toEqual([]);
  });

  it('lets an OPERATOR key sync too', async () => {
    const d = await create('sandbox');
    const r = await sync(d.id, t.operatorKey);
    expect(r.errors).toBeUndefined();
    expect(r.data!.syncDeposit.status).toBe('PENDING');
  });

  /** What the checkout page's "Pay without notifying" button sends. */
  const payQuietly = async (id: string, amount = '25') => {
    const res = await fetch(`${t.gatewayUrl}/sandbox/checkout/${id}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount, currency: 'USD', status: 'PAID', notify: false }),
    });
    return { status: res.status, json: (await res.json()) as { status?: string; message?: string } };
  };

  it('recovers a sandbox payment made without notifying: COMPLETED, credited once, seen by a subscriber', async () => {
    const d = await create('sandbox');
    const conn = connectWs(t.gatewayUrl, { apiKey: t.apiKey });
    await conn.connected;
    const sub = conn.subscribe(DepositStatusChangedDocument, { depositId: d.id, after: encodeStatusCursor('0') });
    try {
      expect(await payQuietly(d.id)).toEqual({ status: 200, json: { status: 'recorded', redirectUrl: null } });
      // Nothing was sent: the deposit still waits, and the inbox holds nothing for it.
      await new Promise((r) => setTimeout(r, 300));
      expect(await t.sql('select id from webhook_inbox where deposit_id = $1', [d.id])).toEqual([]);
      const before = await t.gql(SyncViewDocument, { id: d.id });
      expect(before.data!.deposit).toMatchObject({ status: 'PENDING', syncable: true, events: [] });

      const r = await sync(d.id);
      expect(r.data!.syncDeposit).toMatchObject({ status: 'COMPLETED', receivedAmount: '25' });
      await sync(d.id);
      expect(await credits(d.id)).toEqual([{ amount: '25.000000000000000000' }]);
      const balances = await t.gql(BalancesDocument, { userId: d.userId });
      expect(balances.data!.balances).toEqual([{ userId: d.userId, currency: 'USD', available: '25' }]);
      await sub.waitUntil((c) => c.events.some((e) => e.depositStatusChanged.status === 'COMPLETED'));
      expect(sub.events.map((e) => e.depositStatusChanged.status)).toEqual(['COMPLETED']);
    } finally {
      await conn.dispose();
    }
  });

  it('refuses a quiet sandbox payment of a non-positive amount, recording nothing', async () => {
    const d = await create('sandbox');
    const res = await payQuietly(d.id, '0');
    expect(res.status).toBe(400);
    expect(await t.sql('select * from sandbox_payment where deposit_id = $1', [d.id])).toEqual([]);
  });

  it('applies a stored sync answer that was not applied at once (the inbox processor), as SYNC, without asking again', async () => {
    const d = await create('sandbox');
    const event = {
      kind: 'deposit' as const,
      ref: { by: 'id' as const, depositId: d.id },
      effect: 'payment' as const,
      status: DepositStatus.COMPLETED,
      providerStatus: 'PAID',
      amount: '25',
      currency: 'USD',
      paidAt: new Date(),
    };
    await t.sql(
      `insert into webhook_inbox (provider, dedupe_key, headers, body, source, received_at)
       values ('sandbox', $1, '{}', $2, 'SYNC', now() - interval '1 minute')`,
      [`sync:${d.id}:stored`, encodeSyncRecord({ answer: { status: 'PAID' }, event })],
    );
    await t.app.processor.processPending(0);
    const view = await t.gql(SyncViewDocument, { id: d.id });
    expect(view.data!.deposit).toMatchObject({ status: 'COMPLETED', receivedAmount: '25' });
    expect(view.data!.deposit!.events.map((e) => e.source)).toEqual(['SYNC']);
    expect(await credits(d.id)).toHaveLength(1);
  });

  it('credits once when syncs and the webhook for the same completion race, many times over', async () => {
    for (let round = 0; round < 5; round++) {
      const d = await create('sandbox');
      expect((await payQuietly(d.id)).status).toBe(200);
      const body = fixtureFor('sandbox/paid.json', d.id);
      const results = await Promise.all([
        ...Array.from({ length: 4 }, () => sync(d.id)),
        // The provider's retries of one delivery, and a second delivery of the same payment.
        ...Array.from({ length: 2 }, () => t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body))),
        t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body)),
      ]);
      for (const r of results.slice(0, 4)) expect((r as { errors?: unknown }).errors).toBeUndefined();
      expect(await credits(d.id)).toEqual([{ amount: '25.000000000000000000' }]);
      const [row] = await t.sql('select status from deposit where id = $1', [d.id]);
      expect(row.status).toBe('COMPLETED');
      const [{ n }] = await t.sql(
        `select count(*)::int as n from deposit_event where deposit_id = $1 and status = 'COMPLETED'`,
        [d.id],
      );
      expect(n).toBeGreaterThanOrEqual(1);
    }
  });

  it('answers every one of many concurrent syncs of one deposit on two gateways, asking once per process and storing the answer once', async () => {
    const other = await startTestApp({
      role: 'gateway',
      database: t.db,
      env: {
        INSTAP_API_URL: api.url,
        INSTAP_API_KEY: 'instap-api-key-for-tests',
        INSTAP_HMAC_SECRET: 'instap-hmac-for-tests',
        PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    });
    try {
      const d = await create('instap');
      api.answers.set(d.ref!, {
        delayMs: 50,
        body: { sessionState: 'COMPLETED', paidAmount: '25', paidCurrency: 'USD' },
      });
      // The ten calls are made concurrent for certain: each process's service lets no call
      // through until all ten have looked the deposit up (on a loaded machine a call could
      // otherwise arrive after the first answer was applied, and rightly ask again).
      const calls = 10;
      let arrived = 0;
      let allArrived!: () => void;
      const barrier = new Promise<void>((resolve) => (allArrived = resolve));
      const restore = [t.app.sync, other.app.sync].map((service) => {
        const original = service.sync.bind(service);
        service.sync = async (...args) => {
          if (++arrived === calls) allArrived();
          await barrier;
          return original(...args);
        };
        return () => (service.sync = original);
      });
      const results = await Promise.all(
        Array.from({ length: calls }, (_, i) =>
          i % 2 === 0 ? sync(d.id) : other.gql(SyncDepositDocument, { id: d.id }),
        ),
      ).finally(() => restore.forEach((r) => r()));
      for (const r of results) {
        expect(r.errors).toBeUndefined();
        expect(r.data!.syncDeposit.status).toBe('COMPLETED');
      }
      // One request per process (concurrent calls share it); one stored answer; one credit.
      expect(api.statusRequests(d.ref!)).toHaveLength(2);
      expect(await syncRows(d.id)).toEqual([{ source: 'SYNC', outcome: 'applied' }]);
      expect(await credits(d.id)).toHaveLength(1);
    } finally {
      await other.stop({ keepDatabase: true });
    }
  });
});
