import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { LosslessNumber } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INBOX_RETRY } from '../../src/services/inbox-processor.js';
import { CreateDepositDocument, DepositDocument, type CreateDepositInput } from '../generated/graphql.js';
import { fieldOf, fixtureFor, loadFixture, withField } from '../fixtures/index.js';
import {
  createTestDatabase,
  eventually,
  REDIS_URL,
  SECRETS,
  settlesWithin,
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

async function createDeposit(t: TestApp, userId: string, input: Partial<CreateDepositInput> = {}): Promise<string> {
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
    const down = await settlesWithin(postRaw(t, 'sandbox', body, headers), 20_000, 'an answer while Postgres is down');
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(down.json).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
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

  it('answers 503 while Postgres does not answer, giving up on it by its own timeouts, and applies the event once it does', async () => {
    const id = await createDeposit(t, 'pg-hang');
    const body = fixtureFor('sandbox/paid.json', id);
    const headers = signedHeaders(SECRETS.sandbox, body);

    proxy.stall();
    // Postgres answers nothing until restore(), below: an answer now means the sidecar gave up on it by
    // itself (its intake deadline, 8.5 s, and the pool's timeouts are what keep it inside the contract's 10 s).
    const down = await settlesWithin(
      postRaw(t, 'sandbox', body, headers),
      20_000,
      'an answer while Postgres stalls (does the sidecar wait on it without a timeout?)',
    );
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(down.json).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });

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

  it('answers and applies a payment while Redis does not answer, without waiting for it', async () => {
    const id = await createDeposit(t, 'redis-hang');
    const body = fixtureFor('sandbox/paid.json', id);

    proxy.stall();
    try {
      // Redis answers nothing until restore() in `finally`: the answer comes without it.
      const r = await settlesWithin(
        t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body)),
        20_000,
        'an answer while Redis stalls (does the sidecar wait on it?)',
      );
      expect(r).toEqual({ status: 200, json: { status: 'accepted' } });
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

/** A stand-in for finrax's payment API (createDeposit calls it): every POST /payments gets a payment of its own. */
async function fakeFinraxApi(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const paymentId = randomUUID();
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ paymentId, paymentUrl: `https://pay.finrax.example/${paymentId}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The app's JSON log lines, as they are written. */
function logCapture(): { stream: Writable; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines };
}

type Provider = keyof typeof SECRETS;

function sign(provider: Provider, body: string): Record<string, string> {
  return provider === 'instap' ? instapHeaders(SECRETS.instap, body) : signedHeaders(SECRETS[provider], body);
}

describe('text and numbers in provider payloads', () => {
  let t: TestApp;
  let finrax: Awaited<ReturnType<typeof fakeFinraxApi>>;
  beforeAll(async () => {
    finrax = await fakeFinraxApi();
    t = await startTestApp({ env: { FINRAX_API_URL: finrax.url, FINRAX_API_KEY: 'finrax-key' } });
  });
  afterAll(async () => {
    await t?.stop();
    await finrax?.close();
  });

  /** A deposit each fixture would complete, and the fixture's text for it. */
  const DEPOSIT_FOR: Partial<Record<string, Partial<CreateDepositInput>>> = {
    'sandbox/paid.json': { currency: 'USD', amount: '25.00' },
    'layer1/05-success.json': { provider: 'layer1', currency: 'ETH', amount: '0.20' },
    'finrax/confirmed.json': { provider: 'finrax', currency: 'EUR', amount: '250' },
    'depasify/fiat_payment_received.json': { provider: 'depasify', currency: 'EUR', amount: '250' },
  };
  async function bodyFor(fixture: string): Promise<{ body: string; depositId?: string }> {
    const input = DEPOSIT_FOR[fixture];
    if (!input) return { body: loadFixture(fixture) };
    const depositId = await createDeposit(t, `text-${fixture}`, input);
    return { body: fixtureFor(fixture, depositId), depositId };
  }

  it.each([
    ['layer1', 'layer1/05-success.json', 'data.hash'],
    ['layer1', 'layer1/05-success.json', 'data.address.network'],
    ['layer1', 'layer1/05-success.json', 'data.status'],
    ['layer1', 'layer1/05-success.json', 'data.sources.0.address'],
    ['layer1', 'layer1/balance-1.json', 'data.address'],
    ['finrax', 'finrax/confirmed.json', 'transactionId'],
    ['finrax', 'finrax/confirmed.json', 'network'],
    ['finrax', 'finrax/confirmed.json', 'status'],
    ['depasify', 'depasify/fiat_payment_received.json', 'data.transaction_id'],
    ['depasify', 'depasify/fiat_payment_received.json', 'event'],
    ['depasify', 'depasify/identification_verified.json', 'data.user_id'],
    ['instap', 'instap/completed.json', 'sessionToken'],
    ['instap', 'instap/completed.json', 'paidCurrency'],
    ['sandbox', 'sandbox/paid.json', 'eventId'],
    ['sandbox', 'sandbox/paid.json', 'currency'],
  ] as const)(
    'answers %s 400 naming the field when %s has a NUL character in %s, and stores nothing',
    async (provider, fixture, path) => {
      const { body: clean, depositId } = await bodyFor(fixture);
      const original = fieldOf(clean, path);
      const body = withField(clean, path, `${original.slice(0, 2)}\u0000${original.slice(2)}`);
      expect(body).toContain('\\u0000');
      const before = await inboxCount(t);

      const r = await t.postWebhook(provider, body, sign(provider, body));
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ code: 'MALFORMED_PAYLOAD', field: path });
      expect(r.json.message).toMatch(/NUL/);
      expect(await inboxCount(t)).toBe(before);
      if (depositId) expect((await depositState(t, depositId)).status).toBe('PENDING');
    },
  );

  it('answers 400 to a lone surrogate in a layer1 hash: it has no UTF-8 form and would be stored altered', async () => {
    const { body: clean, depositId } = await bodyFor('layer1/05-success.json');
    const body = withField(clean, 'data.hash', '0x8d49\ud800dad');
    expect(body).toContain('\\ud800');
    const r = await t.postWebhook('layer1', body, sign('layer1', body));
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ field: 'data.hash' });
    expect((await depositState(t, depositId!)).status).toBe('PENDING');
  });

  it('accepts and applies the same layer1 payment once its NUL is gone', async () => {
    const { body, depositId } = await bodyFor('layer1/05-success.json');
    expect(await t.postWebhook('layer1', body, sign('layer1', body))).toEqual({
      status: 200,
      json: { status: 'accepted' },
    });
    await eventually(async () => (await depositState(t, depositId!)).status === 'COMPLETED');
  });

  it('credits a finrax payment whose amounts and fee are JSON numbers in exponent form, exactly', async () => {
    const { body: clean, depositId } = await bodyFor('finrax/confirmed.json');
    let body = withField(clean, 'actualDisplayAmount', new LosslessNumber('2.5E+2'));
    body = withField(body, 'actualDepositAmount', new LosslessNumber('1.23456789012345678E-1'));
    body = withField(body, 'onChainFee', new LosslessNumber('1e-7'));
    body = withField(body, 'paymentReceivedAt', new LosslessNumber('1.717620062E9'));
    expect(body).toContain('"onChainFee":1e-7');

    const r = await t.postWebhook('finrax', body, sign('finrax', body));
    expect(r).toEqual({ status: 200, json: { status: 'accepted' } });
    const d = await eventually(async () => {
      const x = await depositState(t, depositId!);
      return x.status === 'COMPLETED' ? x : undefined;
    });
    expect(d).toMatchObject({ receivedAmount: '250', receivedCurrency: 'EUR', paymentState: 'CORRECT' });
    expect(d.events.at(-1)).toMatchObject({ fee: '0.0000001', occurredAt: '2024-06-05T20:41:02.000Z' });
    const ledger = await t.sql('select amount::text from ledger_entry where deposit_id = $1', [depositId]);
    expect(ledger).toEqual([{ amount: '250.000000000000000000' }]);
  });

  it('credits a layer1 amount sent as the JSON number 2.0E-1', async () => {
    const { body: clean, depositId } = await bodyFor('layer1/05-success.json');
    const body = withField(clean, 'data.amount', new LosslessNumber('2.0E-1'));
    expect(await t.postWebhook('layer1', body, sign('layer1', body))).toEqual({
      status: 200,
      json: { status: 'accepted' },
    });
    const d = await eventually(async () => {
      const x = await depositState(t, depositId!);
      return x.status === 'COMPLETED' ? x : undefined;
    });
    expect(d.receivedAmount).toBe('0.2');
  });

  // That it is judged without writing the number out is proved in test/unit/money.test.ts.
  it('answers 400, naming the amount, when its exponent would make it a billion digits long', async () => {
    const { body: clean, depositId } = await bodyFor('sandbox/paid.json');
    const body = withField(clean, 'amount', new LosslessNumber('1e999999999'));
    const r = await t.postWebhook('sandbox', body, sign('sandbox', body));
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ field: 'amount' });
    expect(r.json.message).toMatch(/too large/);
    expect((await depositState(t, depositId!)).status).toBe('PENDING');
  });

  it.each([
    ['timestamp', '0000-01-01T00:00:00Z'],
    ['data.createdAt', '9999-12-31T23:00:00-05:00'],
  ])('answers 400 naming the layer1 %s when Postgres could not store its time (%s)', async (path, time) => {
    const { body: clean, depositId } = await bodyFor('layer1/05-success.json');
    const body = withField(clean, path, time);
    const r = await t.postWebhook('layer1', body, sign('layer1', body));
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ field: path });
    expect((await depositState(t, depositId!)).status).toBe('PENDING');
  });
});

describe('mistakes in the request itself', () => {
  const logs = logCapture();
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { LOG_LEVEL: 'info' }, logStream: logs.stream });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each([';;;', '/', 'text/', 'application/json, text/plain', '=;'])(
    'answers a malformed content-type (%j) 415 UNSUPPORTED_MEDIA_TYPE, and logs it below error level',
    async (contentType) => {
      const id = await createDeposit(t, 'content-type');
      const body = fixtureFor('sandbox/paid.json', id);
      const before = await inboxCount(t);
      const r = await postRaw(t, 'sandbox', body, {
        ...signedHeaders(SECRETS.sandbox, body),
        'content-type': contentType,
      });
      expect(r.status).toBe(415);
      expect(r.json).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
      expect(r.json.code).not.toBe('INTERNAL');
      expect(await inboxCount(t)).toBe(before);
      const requestId = r.headers.get('x-request-id');
      const lines = await eventually(async () => {
        const mine = logs.lines.filter((l) => l.reqId === requestId);
        return mine.length > 0 ? mine : undefined;
      });
      expect(lines.map((l) => l.level).filter((level) => level >= 50)).toEqual([]);
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 30, statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }),
      );
      expect(JSON.stringify(lines)).not.toMatch(/"stack"/);
    },
  );

  it('takes a signed body whatever the parameters of its content-type say (the body is what is signed)', async () => {
    const id = await createDeposit(t, 'content-type-charset');
    const body = fixtureFor('sandbox/paid.json', id);
    const r = await postRaw(t, 'sandbox', body, {
      ...signedHeaders(SECRETS.sandbox, body),
      'content-type': 'application/json; charset=',
    });
    expect(r.status).toBe(200);
    await eventually(async () => (await depositState(t, id)).status === 'COMPLETED');
  });
});

describe('a stored event that fails on every attempt', () => {
  const logs = logCapture();
  let t: TestApp;
  beforeAll(async () => {
    // The inbox processor is driven by hand here, its clock moved by moving received_at.
    t = await startTestApp({ background: false, env: { LOG_LEVEL: 'info' }, logStream: logs.stream });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is tried a bounded number of times at doubling intervals, then kept with its reason, logged once', async () => {
    const { maxAttempts, firstRetryMs } = INBOX_RETRY;
    expect(maxAttempts).toBeGreaterThan(3);
    const id = await createDeposit(t, 'never-applies');
    // A balance the credit would overflow: applying fails, deterministically, until someone acts.
    const tenant = await t.app.tenants.authenticate(t.apiKey);
    // Written the only way Postgres allows a balance to change: an entry (of another deposit).
    const spare = await createDeposit(t, 'never-applies');
    const entry = (amount: string, kind: string) =>
      t.sql(
        `insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount, kind)
         values (gen_random_uuid(), $2, $1, 'never-applies', 'USD', $3, $4)`,
        [tenant!.tenantId, spare, amount, kind],
      );
    await entry('999999999999999999.9', 'DEPOSIT');
    const body = fixtureFor('sandbox/paid.json', id);
    const headers = signedHeaders(SECRETS.sandbox, body);
    expect(await t.postWebhook('sandbox', body, headers)).toEqual({ status: 200, json: { status: 'accepted' } });
    const row = async () =>
      (
        await t.sql('select id, attempts, processed_at, outcome, error from webhook_inbox where dedupe_key = $1', [
          headers['webhook-id'],
        ])
      )[0];
    const first = await row();
    expect(first).toMatchObject({ attempts: 0, processed_at: null, outcome: null });
    expect(first.error).toMatch(/overflow/);
    const receivedAgo = (seconds: number) =>
      t.sql(`update webhook_inbox set received_at = now() - make_interval(secs => $2) where id = $1`, [
        first.id,
        seconds,
      ]);

    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      // Attempt n is due (firstRetry × (2^(n-1) − 1)) after receipt: not a second before.
      const dueAfter = (firstRetryMs / 1000) * (2 ** (attempt - 1) - 1);
      if (dueAfter > 0) {
        await receivedAgo(dueAfter - 1);
        expect(await t.app.processor.processPending(0), `attempt ${attempt} early`).toBe(0);
      }
      await receivedAgo(dueAfter + 1);
      expect(await t.app.processor.processPending(0), `attempt ${attempt}`).toBe(1);
      expect((await row()).attempts).toBe(attempt);
    }

    const last = await row();
    expect(last.processed_at).not.toBeNull();
    expect(last.outcome).toBe('failed');
    expect(last.error).toMatch(new RegExp(`^gave up after ${maxAttempts} attempts: .*overflow`));
    // Nothing waits any longer: however much later, it is not tried again.
    await receivedAgo(365 * 24 * 3600);
    expect(await t.app.processor.processPending(0)).toBe(0);
    expect((await row()).attempts).toBe(maxAttempts);

    const about = logs.lines.filter((l) => String(l.inboxId) === String(first.id));
    expect(about.filter((l) => l.level >= 50)).toHaveLength(1);
    expect(about.find((l) => l.level >= 50)).toMatchObject({
      attempts: maxAttempts,
      err: expect.stringMatching(/overflow/),
    });
    expect(about.filter((l) => l.level === 40)).toHaveLength(maxAttempts - 1);
    expect((await depositState(t, id)).status).toBe('PENDING');

    // Still there for `npm run replay` (force), which applies it once the cause is gone.
    await entry('-999999999999999999.9', 'REVERSAL');
    const [stored] = await t.sql('select id, provider, body, received_at from webhook_inbox where id = $1', [first.id]);
    expect(await t.app.processor.applyRow(stored, true)).toBe('applied');
    expect((await depositState(t, id)).status).toBe('COMPLETED');
    expect(await row()).toMatchObject({ outcome: 'applied', error: null });
  });
});
