import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, DepositDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import {
  createTestDatabase,
  eventually,
  REDIS_URL,
  SECRETS,
  startTestApp,
  type TestApp,
  type TestDatabase,
} from '../utils/harness.js';
import { instapHeaders, signedHeaders } from '../utils/signing.js';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy.js';

/**
 * The sidecar's HTTP answers (contract "Webhook sidecar" table), one test per
 * way a request can fail, and what it does when Postgres or Redis goes away:
 * those are taken from one app at a time through a TCP proxy, never stopped.
 */

async function createDeposit(t: TestApp, userId: string, input: Record<string, string> = {}): Promise<string> {
  const r = await t.gql(CreateDepositDocument, { input: { userId, currency: 'USD', amount: '25.00', ...input } });
  expect(r.errors).toBeUndefined();
  return r.data!.createDeposit.deposit.id;
}

async function depositState(t: TestApp, id: string) {
  const r = await t.gql(DepositDocument, { id });
  expect(r.errors).toBeUndefined();
  return r.data!.deposit!;
}

async function credits(t: TestApp, depositId: string): Promise<number> {
  const rows = await t.sql('select count(*)::int as n from ledger_entry where deposit_id = $1', [depositId]);
  return rows[0].n;
}

async function inboxCount(t: TestApp): Promise<number> {
  const rows = await t.sql('select count(*)::int as n from webhook_inbox');
  return rows[0].n;
}

/** A POST to the sidecar that also returns the answer's headers. */
async function postRaw(t: TestApp, provider: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${t.webhookUrl}/webhooks/${provider}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

describe('the webhook endpoint', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers 404 UNKNOWN_PROVIDER for a provider it does not know', async () => {
    const body = '{"status":"PAID"}';
    const r = await t.postWebhook('paypal', body, signedHeaders(SECRETS.sandbox, body));
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ code: 'UNKNOWN_PROVIDER' });
  });

  describe('signatures', () => {
    let depositId: string;
    let body: string;
    beforeAll(async () => {
      depositId = await createDeposit(t, 'signatures');
      body = fixtureFor('sandbox/paid.json', depositId);
    });

    const now = () => Math.floor(Date.now() / 1000);
    const without = (h: Record<string, string>, name: string) =>
      Object.fromEntries(Object.entries(h).filter(([k]) => k !== name));

    const failures: [string, string, () => { body: string; headers: Record<string, string> }][] = [
      [
        'the webhook-id header is missing',
        'MISSING_SIGNATURE_HEADERS',
        () => ({ body, headers: without(signedHeaders(SECRETS.sandbox, body), 'webhook-id') }),
      ],
      [
        'the webhook-timestamp header is missing',
        'MISSING_SIGNATURE_HEADERS',
        () => ({ body, headers: without(signedHeaders(SECRETS.sandbox, body), 'webhook-timestamp') }),
      ],
      [
        'the webhook-signature header is missing',
        'MISSING_SIGNATURE_HEADERS',
        () => ({ body, headers: without(signedHeaders(SECRETS.sandbox, body), 'webhook-signature') }),
      ],
      [
        'the signature is of another body',
        'INVALID_SIGNATURE',
        () => {
          const other = signedHeaders(SECRETS.sandbox, body.replace('25.00', '2500.00'));
          return { body, headers: other };
        },
      ],
      [
        'the body was changed after signing',
        'INVALID_SIGNATURE',
        () => ({ body: body.replace('25.00', '2500.00'), headers: signedHeaders(SECRETS.sandbox, body) }),
      ],
      [
        'it is signed with another secret',
        'INVALID_SIGNATURE',
        () => ({ body, headers: signedHeaders(SECRETS.layer1, body) }),
      ],
      [
        'the timestamp is 6 minutes old',
        'TIMESTAMP_OUT_OF_RANGE',
        () => ({ body, headers: signedHeaders(SECRETS.sandbox, body, { timestamp: now() - 360 }) }),
      ],
      [
        'the timestamp is 6 minutes in the future',
        'TIMESTAMP_OUT_OF_RANGE',
        () => ({ body, headers: signedHeaders(SECRETS.sandbox, body, { timestamp: now() + 360 }) }),
      ],
    ];

    it.each(failures)('answers 401 and stores nothing when %s', async (_label, code, request) => {
      const before = await inboxCount(t);
      const { body: sent, headers } = request();
      const r = await t.postWebhook('sandbox', sent, headers);
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ code });
      expect(await inboxCount(t)).toBe(before);
      expect((await depositState(t, depositId)).status).toBe('PENDING');
    });

    it.each([
      ['missing', () => ({ 'content-type': 'application/json' })],
      ['computed with another secret', (b: string) => instapHeaders('not-the-instap-secret', b)],
    ])('answers 401 errorHmacDoesNotMatch and stores nothing when instap x-payload-hash is %s', async (_l, make) => {
      const before = await inboxCount(t);
      const instapBody = '{"sessionToken":"OPN-1","sessionState":"COMPLETED","paidAmount":25,"paidCurrency":"USD"}';
      const r = await t.postWebhook('instap', instapBody, make(instapBody));
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ code: 'errorHmacDoesNotMatch' });
      expect(await inboxCount(t)).toBe(before);
    });

    it('accepts a delivery when one of several space-separated signatures matches', async () => {
      const headers = signedHeaders(SECRETS.sandbox, body);
      const stale = signedHeaders(SECRETS.layer1, body, { id: headers['webhook-id'] })['webhook-signature'];
      headers['webhook-signature'] = `${stale} ${headers['webhook-signature']}`;
      expect(await t.postWebhook('sandbox', body, headers)).toEqual({ status: 200, json: { status: 'accepted' } });
      await eventually(async () => (await depositState(t, depositId)).status === 'COMPLETED');
    });
  });

  describe('payloads', () => {
    const sandboxPaid = (fields: Record<string, unknown>) =>
      JSON.stringify({
        eventId: 'evt_http',
        depositId: '7d0c4a52-1b9e-4f3a-8c6d-2e5f7a9b1c3d',
        amount: '25.00',
        currency: 'USD',
        status: 'PAID',
        ...fields,
      });

    async function refused(provider: 'sandbox' | 'layer1', body: string) {
      const before = await inboxCount(t);
      const r = await t.postWebhook(provider, body, signedHeaders(SECRETS[provider], body));
      expect(await inboxCount(t)).toBe(before);
      return r;
    }

    it('answers 400 naming the problem when the body is not JSON', async () => {
      const r = await refused('sandbox', '{"eventId": "evt_1", "amount": 25.00,');
      expect(r.status).toBe(400);
      expect(r.json.message).toMatch(/not valid JSON/);
    });

    it('answers 400 naming the field when a field has the wrong type', async () => {
      const r = await refused('sandbox', sandboxPaid({ amount: true }));
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ field: 'amount' });
      expect(r.json.message).toMatch(/^amount: /);
    });

    it('answers 400 naming the nested field of a layer1 payload', async () => {
      const body = fixtureFor('layer1/05-success.json', '7d0c4a52-1b9e-4f3a-8c6d-2e5f7a9b1c3d').replace(
        '"amount": "0.20",\n    "status"',
        '"amount": ["0.20"],\n    "status"',
      );
      expect(body).toContain('"amount": ["0.20"]');
      const r = await refused('layer1', body);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ field: 'data.amount' });
    });

    it('answers 400 for a negative amount', async () => {
      const r = await refused('sandbox', sandboxPaid({ amount: '-25.00' }));
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ field: 'amount' });
      expect(r.json.message).toMatch(/positive/);
    });

    it.each([
      ['a string', '"1234567890123456789"'],
      ['a JSON number', '1234567890123456789'],
    ])('answers 400 for an absurd amount of 19 integer digits as %s', async (_label, amount) => {
      const r = await refused('sandbox', sandboxPaid({ amount: 0 }).replace('"amount":0', `"amount":${amount}`));
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ field: 'amount' });
      expect(r.json.message).toMatch(/too large/);
    });

    it('answers 413 for a body over 1 MiB', async () => {
      const before = await inboxCount(t);
      const body = JSON.stringify({ padding: 'x'.repeat(1024 * 1024) });
      const r = await postRaw(t, 'sandbox', body, signedHeaders(SECRETS.sandbox, body));
      expect(r.status).toBe(413);
      expect(await inboxCount(t)).toBe(before);
    });
  });

  it('answers 200 duplicate to a redelivery, also when the retry is signed anew', async () => {
    const id = await createDeposit(t, 'redelivery');
    const body = fixtureFor('sandbox/paid.json', id);
    const headers = signedHeaders(SECRETS.sandbox, body);
    expect(await t.postWebhook('sandbox', body, headers)).toEqual({ status: 200, json: { status: 'accepted' } });
    expect(await t.postWebhook('sandbox', body, headers)).toEqual({ status: 200, json: { status: 'duplicate' } });
    const retry = signedHeaders(SECRETS.sandbox, body, {
      id: headers['webhook-id'],
      timestamp: Number(headers['webhook-timestamp']) + 60,
    });
    expect(retry['webhook-signature']).not.toBe(headers['webhook-signature']);
    expect(await t.postWebhook('sandbox', body, retry)).toEqual({ status: 200, json: { status: 'duplicate' } });
    const stored = await t.sql('select count(*)::int as n from webhook_inbox where dedupe_key = $1', [
      headers['webhook-id'],
    ]);
    expect(stored[0].n).toBe(1);
    await eventually(async () => (await depositState(t, id)).status === 'COMPLETED');
    expect(await credits(t, id)).toBe(1);
  });

  it('stores a delivery whose webhook-id is longer than the inbox column, and knows its retry', async () => {
    const id = await createDeposit(t, 'long-webhook-id');
    const body = fixtureFor('sandbox/paid.json', id);
    const webhookId = `msg_${'x'.repeat(400)}`;
    const headers = signedHeaders(SECRETS.sandbox, body, { id: webhookId });
    expect(await t.postWebhook('sandbox', body, headers)).toEqual({ status: 200, json: { status: 'accepted' } });
    expect(await t.postWebhook('sandbox', body, headers)).toEqual({ status: 200, json: { status: 'duplicate' } });
    await eventually(async () => (await depositState(t, id)).status === 'COMPLETED');
    expect(await credits(t, id)).toBe(1);
  });
});

describe('a provider whose webhook secret is not set', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_SECRET_FINRAX: '' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers 404 PROVIDER_NOT_CONFIGURED, even to a correctly signed delivery', async () => {
    const body = fixtureFor('finrax/confirmed.json', '7d0c4a52-1b9e-4f3a-8c6d-2e5f7a9b1c3d');
    const r = await t.postWebhook('finrax', body, signedHeaders(SECRETS.finrax, body));
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED' });
    expect(await inboxCount(t)).toBe(0);
  });
});

describe('the sidecar while Postgres is unavailable', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase('pg_outage');
    const direct = new URL(db.url);
    proxy = await createTcpProxy(direct.hostname, Number(direct.port || 5432));
    t = await startTestApp({ database: db, env: { DATABASE_URL: withPort(db.url, proxy.port) } });
  });
  afterAll(async () => {
    proxy?.restore();
    await t?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('answers 503 with retry-after and acknowledges nothing, then takes the retry once Postgres is back', async () => {
    const id = await createDeposit(t, 'pg-outage');
    const body = fixtureFor('sandbox/paid.json', id);
    const headers = signedHeaders(SECRETS.sandbox, body);

    proxy.cut();
    const started = Date.now();
    const down = await postRaw(t, 'sandbox', body, headers);
    const elapsed = Date.now() - started;
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(down.json).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(elapsed).toBeLessThan(10_000);
    // t.sql goes straight to Postgres, around the proxy.
    expect(await t.sql('select id from webhook_inbox')).toEqual([]);
    expect(await t.sql('select status from deposit where id = $1', [id])).toEqual([{ status: 'PENDING' }]);

    proxy.restore();
    const retry = signedHeaders(SECRETS.sandbox, body, { id: headers['webhook-id'] });
    const up = await eventually(async () => {
      const r = await t.postWebhook('sandbox', body, retry);
      return r.status === 200 ? r : undefined;
    }, 10_000);
    expect(up.json).toEqual({ status: 'accepted' });
    const d = await eventually(async () => {
      const x = await depositState(t, id);
      return x.status === 'COMPLETED' ? x : undefined;
    });
    expect(d.receivedAmount).toBe('25');
    expect(await credits(t, id)).toBe(1);
  });

  it('answers 503 within 10 seconds while Postgres does not answer, and applies the event once it does', async () => {
    const id = await createDeposit(t, 'pg-hang');
    const body = fixtureFor('sandbox/paid.json', id);
    const headers = signedHeaders(SECRETS.sandbox, body);

    proxy.stall();
    const started = Date.now();
    const down = await postRaw(t, 'sandbox', body, headers);
    const elapsed = Date.now() - started;
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(elapsed).toBeLessThan(10_000);

    // What the stall held reaches Postgres now: the insert may land after all, so the retry
    // is either the first store or a duplicate of it; either way the event is applied, once.
    proxy.restore();
    const retry = signedHeaders(SECRETS.sandbox, body, { id: headers['webhook-id'] });
    const up = await eventually(async () => {
      const r = await t.postWebhook('sandbox', body, retry);
      return r.status === 200 ? r : undefined;
    }, 10_000);
    expect(['accepted', 'duplicate']).toContain(up.json.status);
    await eventually(async () => (await depositState(t, id)).status === 'COMPLETED', 15_000);
    expect(await credits(t, id)).toBe(1);
    const stored = await t.sql('select count(*)::int as n from webhook_inbox where dedupe_key = $1', [
      headers['webhook-id'],
    ]);
    expect(stored[0].n).toBe(1);
  });
});

describe('the sidecar while Redis is unavailable', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    const direct = new URL(REDIS_URL);
    proxy = await createTcpProxy(direct.hostname, Number(direct.port || 6379));
    t = await startTestApp({ env: { REDIS_URL: withPort(REDIS_URL, proxy.port) } });
  });
  afterAll(async () => {
    proxy?.restore();
    await t?.stop();
    await proxy?.close();
  });

  it('stores and applies a payment, credits it once, and publishes the change once Redis is back', async () => {
    const id = await createDeposit(t, 'redis-outage');
    expect(await t.redis.exists(`${t.prefix}intent:${id}`)).toBe(1);
    const body = fixtureFor('sandbox/paid.json', id);

    proxy.cut();
    const r = await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body));
    expect(r).toEqual({ status: 200, json: { status: 'accepted' } });
    const d = await eventually(async () => {
      const x = await depositState(t, id);
      return x.status === 'COMPLETED' ? x : undefined;
    });
    expect(d.paymentState).toBe('CORRECT');
    expect(await credits(t, id)).toBe(1);
    // The GETDEL never reached Redis: Postgres alone decided.
    expect(await t.redis.exists(`${t.prefix}intent:${id}`)).toBe(1);
    const outbox = await t.sql('select status, published_at from outbox where deposit_id = $1', [id]);
    expect(outbox).toEqual([{ status: 'COMPLETED', published_at: null }]);

    proxy.restore();
    await eventually(async () => {
      const rows = await t.sql('select published_at from outbox where deposit_id = $1', [id]);
      return rows[0]?.published_at != null;
    }, 20_000);
  });

  it('answers and applies a payment within 10 seconds while Redis does not answer', async () => {
    const id = await createDeposit(t, 'redis-hang');
    const body = fixtureFor('sandbox/paid.json', id);

    proxy.stall();
    try {
      const started = Date.now();
      const r = await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body));
      expect(r).toEqual({ status: 200, json: { status: 'accepted' } });
      expect(Date.now() - started).toBeLessThan(10_000);
      const d = await eventually(async () => {
        const x = await depositState(t, id);
        return x.status === 'COMPLETED' ? x : undefined;
      });
      expect(d.receivedAmount).toBe('25');
      expect(await credits(t, id)).toBe(1);
    } finally {
      proxy.restore();
    }
    await eventually(async () => {
      const rows = await t.sql('select published_at from outbox where deposit_id = $1', [id]);
      return rows[0]?.published_at != null;
    }, 20_000);
  });
});
