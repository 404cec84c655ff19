import { Writable } from 'node:stream';
import type pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { poolOf } from '../../src/db/orm.js';
import { WebhookDispatcher, type WebhookDispatcherOptions } from '../../src/services/webhook-dispatcher.js';
import { WebhookEndpointService } from '../../src/services/webhook-endpoints.service.js';
import { fixtureFor, withField } from '../fixtures/index.js';
import { CreateDepositDocument } from '../generated/graphql.js';
import { postWebhookTo, spawnApp } from '../utils/processes.js';
import { createTcpProxy } from '../utils/tcp-proxy.js';
import {
  createTestDatabase,
  eventually,
  freePort,
  REDIS_URL,
  SECRETS,
  settlesWithin,
  startTestApp,
  TEST_OPERATOR_KEY,
  TEST_API_KEY,
  uniqueName,
  type TestApp,
} from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';
import { startReceiver, type WebhookReceiver } from '../utils/webhook-receiver.js';

/** A GraphQL operation over HTTP with a chosen key (operator by default). */
async function op(
  t: { gatewayUrl: string },
  query: string,
  variables: Record<string, unknown> = {},
  apiKey = TEST_OPERATOR_KEY,
) {
  const res = await fetch(`${t.gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as {
    data?: any;
    errors?: { message: string; extensions?: { code?: string; field?: string } }[];
  };
}

const CREATE = `mutation($url: String!, $description: String) {
  createWebhookEndpoint(url: $url, description: $description) { secret endpoint { id url description enabled disabledReason createdAt } } }`;
const DELIVERIES = `query($endpointId: ID!, $status: DeliveryStatus, $first: Int, $after: String) {
  webhookDeliveries(endpointId: $endpointId, status: $status, first: $first, after: $after) {
    edges { cursor node { id endpointId eventId eventType status attempts lastAttemptAt lastResponseStatus lastError nextAttemptAt createdAt } }
    pageInfo { hasNextPage endCursor } } }`;

async function createEndpoint(t: { gatewayUrl: string }, url: string): Promise<{ id: string; secret: string }> {
  const r = await op(t, CREATE, { url, description: 'orders backend' });
  expect(r.errors).toBeUndefined();
  return { id: r.data.createWebhookEndpoint.endpoint.id, secret: r.data.createWebhookEndpoint.secret };
}

/** Creates a deposit and pays it through the sandbox's signed webhook: PENDING -> COMPLETED. */
async function completeDeposit(t: TestApp, userId = 'alice', amount = '25.00'): Promise<string> {
  const created = await t.gql(CreateDepositDocument, { input: { userId, currency: 'USD', amount } });
  expect(created.errors).toBeUndefined();
  const id = created.data!.createDeposit.deposit.id;
  const body = withField(fixtureFor('sandbox/paid.json', id), 'amount', amount);
  const res = await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body));
  expect(res.status).toBe(200);
  return id;
}

async function deliveries(t: TestApp, endpointId: string) {
  const r = await op(t, DELIVERIES, { endpointId, first: 100 });
  expect(r.errors).toBeUndefined();
  return r.data.webhookDeliveries.edges.map((e: any) => e.node) as any[];
}

const forDeposit = (r: WebhookReceiver, depositId: string) =>
  r.received.filter((w) => w.json?.data?.deposit?.id === depositId);

describe('merchant webhooks, one gateway+sidecar in this process', () => {
  let t: TestApp;
  let pool: pg.Pool;
  const logs: string[] = [];
  const dispatchers: WebhookDispatcher[] = [];
  const receivers: WebhookReceiver[] = [];

  /** A dispatcher on the app's database, as a sidecar runs it (the app's own is off: background false). */
  const dispatcher = (o: Partial<WebhookDispatcherOptions> = {}) => {
    const d = new WebhookDispatcher({
      pool,
      logger: t.app.logger,
      metrics: t.app.metrics,
      retrySchedule: [0.2, 0.2],
      allowPrivateUrls: true,
      maxInFlight: 16,
      maxInFlightPerEndpoint: 4,
      pollMs: 50,
      ...o,
    });
    dispatchers.push(d);
    d.start();
    return d;
  };
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    });
    t = await startTestApp({
      background: false,
      logStream,
      env: { LOG_LEVEL: 'debug', OUTBOUND_ALLOW_PRIVATE_URLS: 'true' },
    });
    pool = await poolOf(t.app.orm);
    // The relay sequences the changes (deliveries wait for their cursor); the sweeper stays off.
    t.app.relay!.start();
  });
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await t.sql('delete from webhook_endpoint');
  });
  afterAll(async () => {
    await t.stop();
  });

  it('delivers a completed deposit, signed so the standardwebhooks package verifies it, with the contract body and the feed cursor', async () => {
    const r = await receiver();
    const endpoint = await createEndpoint(t, r.url);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    dispatcher();
    const depositId = await completeDeposit(t, 'alice', '25.00');
    const got = await eventually(async () => forDeposit(r, depositId).find((w) => w.json.data.status === 'COMPLETED'));

    // Verified as a merchant would, with the reference library.
    const verified = new Webhook(endpoint.secret).verify(got.body, got.headers) as any;
    expect(verified.type).toBe('deposit.status_changed');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['webhook-id']).toMatch(/^evt_\d+$/);
    expect(() =>
      new Webhook('whsec_' + Buffer.from('another secret key!!').toString('base64')).verify(got.body, got.headers),
    ).toThrow();

    expect(got.json).toEqual({
      type: 'deposit.status_changed',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: {
        cursor: expect.any(String),
        status: 'COMPLETED',
        previousStatus: 'PENDING',
        deposit: {
          id: depositId,
          userId: 'alice',
          provider: 'sandbox',
          currency: 'USD',
          amount: '25',
          minAmount: null,
          maxAmount: null,
          receivedAmount: '25',
          receivedCurrency: 'USD',
          paymentState: 'CORRECT',
          status: 'COMPLETED',
          rejectionReason: null,
          resolution: null,
          expiresAt: expect.any(String),
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      },
    });
    // The cursor is the one the events feed (and so depositStatusChanged) gives for this change.
    const feed = await op(
      t,
      `query($d: ID) { statusChanges(depositId: $d) { edges { cursor node { status occurredAt } } } }`,
      { d: depositId },
    );
    const change = feed.data.statusChanges.edges.find((e: any) => e.node.status === 'COMPLETED');
    expect(got.json.data.cursor).toBe(change.cursor);
    expect(got.json.timestamp).toBe(change.node.occurredAt);

    const log = await eventually(async () => {
      const rows = await deliveries(t, endpoint.id);
      return rows.find((d) => d.eventId === got.headers['webhook-id'] && d.status === 'SUCCEEDED');
    });
    expect(log).toMatchObject({
      endpointId: endpoint.id,
      eventType: 'deposit.status_changed',
      attempts: 1,
      lastResponseStatus: 200,
      lastError: null,
      nextAttemptAt: null,
    });
  });

  it('retries an endpoint that answers 500, with the same webhook-id, until it answers 200', async () => {
    const r = await receiver((_req, n) => ({ status: n === 1 ? 500 : 200 }));
    const endpoint = await createEndpoint(t, r.url);
    dispatcher();
    const before = await t.app.metrics.registry.getSingleMetricAsString('merchant_webhook_deliveries_total');
    const depositId = await completeDeposit(t, 'bob');
    await eventually(async () => forDeposit(r, depositId).length >= 2);
    const [first, second] = forDeposit(r, depositId);
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    const row = await eventually(async () => (await deliveries(t, endpoint.id)).find((d) => d.status === 'SUCCEEDED'));
    expect(row).toMatchObject({ attempts: 2, lastResponseStatus: 200, lastError: null });
    const after = await t.app.metrics.registry.getSingleMetricAsString('merchant_webhook_deliveries_total');
    expect(after).not.toBe(before);
    expect(after).toMatch(/merchant_webhook_deliveries_total\{outcome="failed_attempt"\} [1-9]/);
    expect(after).toMatch(/merchant_webhook_deliveries_total\{outcome="succeeded"\} [1-9]/);
  });

  it('marks a delivery FAILED after the schedule, keeps no response body, and redelivers it, once or all failed since a time', async () => {
    const r = await receiver(() => ({ status: 500 }));
    const endpoint = await createEndpoint(t, r.url);
    dispatcher();
    const depositId = await completeDeposit(t, 'carol');
    const failed = await eventually(async () => (await deliveries(t, endpoint.id)).find((d) => d.status === 'FAILED'));
    // Schedule 0.2,0.2: three attempts, then FAILED.
    expect(failed).toMatchObject({ attempts: 3, lastResponseStatus: 500, lastError: 'HTTP 500', nextAttemptAt: null });
    expect(forDeposit(r, depositId)).toHaveLength(3);
    const stored = await t.sql(`select last_error from webhook_delivery`);
    expect(JSON.stringify(stored)).not.toContain('secret response body');
    expect(await t.app.metrics.registry.getSingleMetricAsString('merchant_webhook_deliveries_total')).toMatch(
      /outcome="failed"\} [1-9]/,
    );

    r.setAnswer(() => ({ status: 204 }));
    const count = await op(
      t,
      `mutation($e: ID!, $s: DateTime!) { redeliverFailedWebhooks(endpointId: $e, since: $s) }`,
      {
        e: endpoint.id,
        s: new Date(Date.now() - 60_000).toISOString(),
      },
    );
    expect(count.data.redeliverFailedWebhooks).toBe(1);
    const redelivered = await eventually(async () =>
      (await deliveries(t, endpoint.id)).find((d) => d.id === failed.id && d.status === 'SUCCEEDED'),
    );
    expect(redelivered).toMatchObject({ eventId: failed.eventId, attempts: 4, lastResponseStatus: 204 });
    // Nothing failed since now: nothing queued.
    const none = await op(
      t,
      `mutation($e: ID!, $s: DateTime!) { redeliverFailedWebhooks(endpointId: $e, since: $s) }`,
      {
        e: endpoint.id,
        s: new Date(Date.now() + 60_000).toISOString(),
      },
    );
    expect(none.data.redeliverFailedWebhooks).toBe(0);

    // One delivery again, on demand, same webhook-id.
    const sent = forDeposit(r, depositId).length;
    const again = await op(
      t,
      `mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id status eventId nextAttemptAt } }`,
      {
        id: failed.id,
      },
    );
    expect(again.errors).toBeUndefined();
    expect(again.data.redeliverWebhook).toMatchObject({ id: failed.id, status: 'PENDING', eventId: failed.eventId });
    await eventually(async () => forDeposit(r, depositId).length === sent + 1);
    expect(forDeposit(r, depositId).at(-1)!.headers['webhook-id']).toBe(failed.eventId);
  });

  it('fails an attempt that times out and one whose connection is refused, and retries both', async () => {
    const slow = await receiver(() => 'hang');
    const hung = await createEndpoint(t, slow.url);
    const closedPort = await freePort();
    const refused = await createEndpoint(t, `http://127.0.0.1:${closedPort}/hooks`);
    dispatcher({ timeoutMs: 300, retrySchedule: [60] });
    await completeDeposit(t, 'dave');
    const timedOut = await eventually(async () => (await deliveries(t, hung.id)).find((d) => d.attempts === 1));
    expect(timedOut).toMatchObject({ status: 'PENDING', lastResponseStatus: null });
    expect(timedOut.lastError).toMatch(/timeout after 300 ms/);
    expect(new Date(timedOut.nextAttemptAt).getTime()).toBeGreaterThan(Date.now() + 30_000);
    const noConnection = await eventually(async () => (await deliveries(t, refused.id)).find((d) => d.attempts === 1));
    expect(noConnection).toMatchObject({ status: 'PENDING', lastError: 'connection refused' });
    // Both wait for their next attempt: the gauge counts them.
    await eventually(async () => {
      const text = await t.app.metrics.registry.getSingleMetricAsString('merchant_webhook_pending');
      return /^merchant_webhook_pending 2$/m.test(text);
    });
  });

  it('keeps delivering to one endpoint while another hangs on every request', async () => {
    const slow = await receiver(() => 'hang');
    const fast = await receiver();
    await createEndpoint(t, slow.url);
    await createEndpoint(t, fast.url);
    dispatcher({ maxInFlight: 4, maxInFlightPerEndpoint: 2, timeoutMs: 10_000 });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await completeDeposit(t, `erin${i}`, '3'));
    await eventually(async () => ids.every((id) => forDeposit(fast, id).length >= 1), 8000);
    // The slow endpoint holds its 2 slots and no more.
    expect(slow.maxConcurrent()).toBeLessThanOrEqual(2);
    expect(slow.received.length).toBeLessThanOrEqual(2);
  });

  it('never sends one delivery twice at once with two dispatchers on one queue', async () => {
    const r = await receiver(() => ({ status: 200, delayMs: 30 }));
    await createEndpoint(t, r.url);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await completeDeposit(t, `frank${i}`, '2'));
    dispatcher();
    dispatcher();
    await eventually(async () => ids.every((id) => forDeposit(r, id).length >= 1), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.maxConcurrentPerId()).toBe(1);
    // Every delivery succeeded once: no second send at all.
    const ids2 = r.received.map((w) => w.headers['webhook-id']);
    expect(new Set(ids2).size).toBe(ids2.length);
    expect(r.maxConcurrent()).toBeGreaterThan(1);
  });

  it('signs with both secrets after a rotation, and each verifies', async () => {
    const r = await receiver();
    const endpoint = await createEndpoint(t, r.url);
    const rotated = await op(
      t,
      `mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id) { secret endpoint { id } } }`,
      {
        id: endpoint.id,
      },
    );
    expect(rotated.errors).toBeUndefined();
    const secret = rotated.data.rotateWebhookEndpointSecret.secret;
    expect(secret).not.toBe(endpoint.secret);
    dispatcher();
    const depositId = await completeDeposit(t, 'gina');
    const got = await eventually(async () => forDeposit(r, depositId)[0]);
    expect(got.headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const s of [secret, endpoint.secret]) {
      const one = got.headers['webhook-signature']
        .split(' ')
        .map((sig) => ({ ...got.headers, 'webhook-signature': sig }));
      expect(
        one.filter((h) => {
          try {
            new Webhook(s).verify(got.body, h);
            return true;
          } catch {
            return false;
          }
        }),
      ).toHaveLength(1);
    }
  });

  it('refuses at send time a host that now resolves to a private address', async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    let answer = '93.184.216.34';
    const lookup = async () => [{ address: answer, family: 4 }];
    const service = new WebhookEndpointService({ pool, allowPrivateUrls: false, lookup });
    const [tenant] = await t.sql<{ id: string }>(`select id from tenant where name = 'default'`);
    const { endpoint } = await service.create(tenant.id, { url: `http://merchant.example:${port}/hooks` });
    // Saved while the name resolved to a public address; now it points at the gateway's own machine.
    answer = '127.0.0.1';
    dispatcher({ allowPrivateUrls: false, lookup, retrySchedule: [60] });
    await completeDeposit(t, 'hank');
    const row = await eventually(async () => (await deliveries(t, endpoint.id)).find((d) => d.attempts === 1));
    expect(row.lastError).toBe('address not allowed: loopback');
    expect(r.received).toHaveLength(0);
  });

  it('disables an endpoint whose deliveries have all failed for 5 days, and re-enabling clears the reason and the streak', async () => {
    const r = await receiver(() => ({ status: 503 }));
    const endpoint = await createEndpoint(t, r.url);
    const healthy = await createEndpoint(t, r.url.replace('/hooks', '/other'));
    // Failing since 4 days: one more failure does not disable it yet.
    await t.sql(`update webhook_endpoint set failing_since = now() - interval '4 days' where id = $1`, [healthy.id]);
    await t.sql(`update webhook_endpoint set failing_since = now() - interval '5 days 1 minute' where id = $1`, [
      endpoint.id,
    ]);
    dispatcher({ retrySchedule: [60] });
    await completeDeposit(t, 'jack');
    const listed = await eventually(async () => {
      const all = (await op(t, `query { webhookEndpoints { id enabled disabledReason } }`)).data.webhookEndpoints;
      return all.find((e: any) => e.id === endpoint.id && !e.enabled) ? all : undefined;
    });
    expect(listed.find((e: any) => e.id === endpoint.id).disabledReason).toBe('every delivery failed for 5 days');
    await eventually(async () => (await deliveries(t, healthy.id)).some((d) => d.attempts === 1));
    expect(listed.find((e: any) => e.id === healthy.id)).toMatchObject({ enabled: true, disabledReason: null });

    // A disabled endpoint is sent nothing more; re-enabled, it gets its deliveries again and a 2xx ends the streak.
    r.setAnswer(() => ({ status: 200 }));
    const enabled = await op(
      t,
      `mutation($id: ID!) { updateWebhookEndpoint(id: $id, enabled: true) { enabled disabledReason } }`,
      {
        id: endpoint.id,
      },
    );
    expect(enabled.data.updateWebhookEndpoint).toEqual({ enabled: true, disabledReason: null });
    const [row] = await t.sql(`select failing_since from webhook_endpoint where id = $1`, [endpoint.id]);
    expect(row.failing_since).toBeNull();
  });

  it('stops at once with a request in flight, recording nothing, so another dispatcher sends it when the lease ends', async () => {
    const r = await receiver(() => 'hang');
    const endpoint = await createEndpoint(t, r.url);
    // The merchant never answers and the request's own timeout outlasts the test: only the abort can end it.
    const first = dispatcher({ leaseMs: 500, timeoutMs: 600_000 });
    const depositId = await completeDeposit(t, 'kate');
    await eventually(async () => r.inFlight() === 1);
    await settlesWithin(first.stop(), 15_000, 'stop() with a request in flight (was the request aborted?)');
    // The merchant saw the connection closed with no answer sent: aborted, not left running.
    await eventually(async () => r.inFlight() === 0);
    expect(forDeposit(r, depositId)).toHaveLength(1);
    const [row] = await t.sql(`select status, attempts from webhook_delivery where endpoint_id = $1`, [endpoint.id]);
    expect(row).toEqual({ status: 'PENDING', attempts: 0 });

    r.setAnswer(() => ({ status: 200 }));
    dispatcher();
    await eventually(async () => (await deliveries(t, endpoint.id)).some((d) => d.status === 'SUCCEEDED'));
    const sent = forDeposit(r, depositId);
    expect(sent).toHaveLength(2);
    expect(sent[1].headers['webhook-id']).toBe(sent[0].headers['webhook-id']);
  });

  it('does not send a delivery a second time at once when an operator redelivers it while it is in flight', async () => {
    // The first request is answered only when the test says so: it is in flight for as long as the test looks.
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const r = await receiver(() => ({ status: 200, after: answered }));
    const endpoint = await createEndpoint(t, r.url);
    dispatcher();
    dispatcher();
    const depositId = await completeDeposit(t, 'lena');
    await eventually(async () => r.inFlight() === 1);
    const [row] = await t.sql<{ id: string }>(`select id from webhook_delivery where endpoint_id = $1`, [endpoint.id]);
    const again = await op(t, `mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }`, { id: row.id });
    expect(again.data.redeliverWebhook.status).toBe('PENDING');
    // Room for the two dispatchers (polling every 50 ms) to claim it again, were that allowed: a second send
    // would show here. Waiting longer can only make a failure likelier, never a pass.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(r.maxConcurrentPerId()).toBe(1);
    expect(r.inFlight()).toBe(1);
    answer();
    await eventually(async () => (await deliveries(t, endpoint.id)).some((d) => d.status === 'SUCCEEDED'));
    expect(r.maxConcurrentPerId()).toBe(1);
    expect(forDeposit(r, depositId).length).toBeGreaterThanOrEqual(1);
  });

  it('never writes an endpoint secret to the log', async () => {
    const r = await receiver((_req, n) => ({ status: n === 1 ? 500 : 200 }));
    const endpoint = await createEndpoint(t, r.url);
    const rotated = await op(t, `mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id) { secret } }`, {
      id: endpoint.id,
    });
    dispatcher();
    const depositId = await completeDeposit(t, 'ivy');
    await eventually(async () => forDeposit(r, depositId).length >= 2);
    const text = logs.join('');
    expect(text.length).toBeGreaterThan(0);
    expect(text).toContain('merchant webhook attempt failed');
    for (const s of [endpoint.secret, rotated.data.rotateWebhookEndpointSecret.secret]) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(s.slice('whsec_'.length));
    }
    expect(text).not.toContain('token=abc');
  });
});

describe('merchant webhook endpoints: who may manage them and which URLs', () => {
  let t: TestApp;
  let strict: TestApp;
  let other: { apiKey: string; operatorKey: string };
  beforeAll(async () => {
    t = await startTestApp({ env: { OUTBOUND_ALLOW_PRIVATE_URLS: 'true' } });
    strict = await startTestApp({
      role: 'gateway',
      database: t.db,
      prefix: t.prefix,
      env: { OUTBOUND_ALLOW_PRIVATE_URLS: 'false' },
    });
    other = await t.app.tenants.create('acme');
  });
  afterAll(async () => {
    await strict.stop({ keepDatabase: true });
    await t.stop();
  });

  const OPERATOR_FIELDS: [string, Record<string, unknown>][] = [
    ['query { webhookEndpoints { id } }', {}],
    [
      'query($e: ID!) { webhookDeliveries(endpointId: $e) { edges { cursor } } }',
      { e: '00000000-0000-4000-8000-000000000000' },
    ],
    ['mutation { createWebhookEndpoint(url: "https://93.184.216.34/hook") { secret } }', {}],
    [
      'mutation($e: ID!) { updateWebhookEndpoint(id: $e, enabled: false) { id } }',
      { e: '00000000-0000-4000-8000-000000000000' },
    ],
    ['mutation($e: ID!) { deleteWebhookEndpoint(id: $e) }', { e: '00000000-0000-4000-8000-000000000000' }],
    [
      'mutation($e: ID!) { rotateWebhookEndpointSecret(id: $e) { secret } }',
      { e: '00000000-0000-4000-8000-000000000000' },
    ],
    ['mutation($e: ID!) { redeliverWebhook(deliveryId: $e) { id } }', { e: '00000000-0000-4000-8000-000000000000' }],
    [
      'mutation($e: ID!) { redeliverFailedWebhooks(endpointId: $e, since: "2026-01-01T00:00:00Z") }',
      { e: '00000000-0000-4000-8000-000000000000' },
    ],
  ];

  it('refuses every endpoint and delivery-log field to an APP key with FORBIDDEN', async () => {
    for (const [query, variables] of OPERATOR_FIELDS) {
      const r = await op(t, query, variables, t.apiKey);
      expect(r.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
    }
    expect(await t.sql('select count(*)::int as n from webhook_endpoint')).toEqual([{ n: 0 }]);
  });

  it("answers NOT_FOUND for another tenant's endpoint and delivery, and changes nothing", async () => {
    const mine = await createEndpoint(t, 'https://93.184.216.34/mine');
    const theirs = (await op(t, `query { webhookEndpoints { id } }`, {}, other.operatorKey)).data.webhookEndpoints;
    expect(theirs).toEqual([]);
    const calls: [string, Record<string, unknown>][] = [
      ['query($e: ID!) { webhookDeliveries(endpointId: $e) { edges { cursor } } }', { e: mine.id }],
      [
        'mutation($e: ID!) { updateWebhookEndpoint(id: $e, url: "https://evil.example/x", enabled: false) { id } }',
        { e: mine.id },
      ],
      ['mutation($e: ID!) { deleteWebhookEndpoint(id: $e) }', { e: mine.id }],
      ['mutation($e: ID!) { rotateWebhookEndpointSecret(id: $e) { secret } }', { e: mine.id }],
      ['mutation($e: ID!) { redeliverFailedWebhooks(endpointId: $e, since: "2026-01-01T00:00:00Z") }', { e: mine.id }],
      ['mutation($e: ID!) { redeliverWebhook(deliveryId: $e) { id } }', { e: mine.id }],
      ['mutation { deleteWebhookEndpoint(id: "not-a-uuid") }', {}],
    ];
    for (const [query, variables] of calls) {
      const r = await op(t, query, variables, other.operatorKey);
      expect(r.errors?.[0]?.extensions?.code, query).toBe('NOT_FOUND');
    }
    const still = await op(t, `query { webhookEndpoints { id url enabled } }`);
    expect(still.data.webhookEndpoints).toEqual([{ id: mine.id, url: 'https://93.184.216.34/mine', enabled: true }]);
  });

  it('refuses private, loopback and link-local URLs, other schemes and overlong input with BAD_USER_INPUT on the field', async () => {
    for (const url of [
      'http://127.0.0.1:4100/webhooks/sandbox',
      'http://localhost/x',
      'http://10.0.0.5/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x',
      'http://[fd00::1]/x',
      'http://0.0.0.0/x',
      'http://0x7f.1/x',
      'ftp://example.com/x',
      'javascript:alert(1)',
      'not a url',
      `https://example.com/${'a'.repeat(2000)}`,
    ]) {
      const r = await op(strict, CREATE, { url });
      expect(r.errors?.[0]?.extensions, url).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
    }
    const long = await op(strict, CREATE, { url: 'https://93.184.216.34/x', description: 'd'.repeat(501) });
    expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'description' });
    // The same private URL is fine where OUTBOUND_ALLOW_PRIVATE_URLS=true (development).
    const ok = await op(t, CREATE, { url: 'http://127.0.0.1:9/x' });
    expect(ok.errors).toBeUndefined();
    // And cannot be moved to a private address by an update either.
    const e = await op(strict, CREATE, { url: 'https://93.184.216.34/hook' });
    const moved = await op(
      strict,
      `mutation($id: ID!) { updateWebhookEndpoint(id: $id, url: "http://192.168.1.1/") { id } }`,
      {
        id: e.data.createWebhookEndpoint.endpoint.id,
      },
    );
    expect(moved.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
  });

  it('lists, disables, re-enables (clearing the reason) and deletes an endpoint; the secret is shown only at creation', async () => {
    const created = await op(t, CREATE, { url: 'https://93.184.216.34/lifecycle', description: 'shop' });
    const id = created.data.createWebhookEndpoint.endpoint.id;
    const disabled = await op(
      t,
      `mutation($id: ID!) { updateWebhookEndpoint(id: $id, enabled: false) { enabled disabledReason description } }`,
      { id },
    );
    expect(disabled.data.updateWebhookEndpoint).toMatchObject({ enabled: false, description: 'shop' });
    expect(disabled.data.updateWebhookEndpoint.disabledReason).toBeTruthy();
    const enabled = await op(
      t,
      `mutation($id: ID!) { updateWebhookEndpoint(id: $id, enabled: true) { enabled disabledReason } }`,
      { id },
    );
    expect(enabled.data.updateWebhookEndpoint).toEqual({ enabled: true, disabledReason: null });
    const listed = await op(t, `query { webhookEndpoints { id url description enabled } }`);
    expect(listed.data.webhookEndpoints).toContainEqual({
      id,
      url: 'https://93.184.216.34/lifecycle',
      description: 'shop',
      enabled: true,
    });
    expect(JSON.stringify(listed)).not.toContain(created.data.createWebhookEndpoint.secret);
    const deleted = await op(t, `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id });
    expect(deleted.data.deleteWebhookEndpoint).toBe(true);
    const gone = await op(t, `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id });
    expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('merchant webhooks without Redis', () => {
  it('still delivers when Redis is away: the queue is Postgres', async () => {
    const proxy = await createTcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
    const t = await startTestApp({
      env: {
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        OUTBOUND_ALLOW_PRIVATE_URLS: 'true',
        WEBHOOK_DISPATCH_POLL_MS: '100',
      },
    });
    const r = await startReceiver();
    try {
      await createEndpoint(t, r.url);
      const created = await t.gql(CreateDepositDocument, { input: { userId: 'zoe', currency: 'USD', amount: '7' } });
      const id = created.data!.createDeposit.deposit.id;
      proxy.cut();
      const body = withField(fixtureFor('sandbox/paid.json', id), 'amount', '7');
      expect((await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body))).status).toBe(200);
      const got = await eventually(
        async () => forDeposit(r, id).find((w) => w.json.data.status === 'COMPLETED'),
        10_000,
      );
      expect(got.json.data.deposit.receivedAmount).toBe('7');
    } finally {
      proxy.restore();
      await r.close();
      await t.stop();
      await proxy.close();
    }
  });
});

describe('merchant webhooks woken by the relay', () => {
  it('sends a change as soon as the relay has sequenced it, not on the next poll', async () => {
    // A poll of ten minutes: the dispatcher's only claim on its own is the one at start,
    // before the endpoint or the deposit exist. Only the relay's wake can send this.
    const t = await startTestApp({
      env: { OUTBOUND_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_DISPATCH_POLL_MS: '600000' },
    });
    const r = await startReceiver();
    try {
      await createEndpoint(t, r.url);
      for (const amount of ['3', '4']) {
        const id = await completeDeposit(t, 'wren', amount);
        const got = await eventually(
          async () => forDeposit(r, id).find((w) => w.json.data.status === 'COMPLETED'),
          10_000,
        );
        expect(got.json.data.deposit.receivedAmount).toBe(amount);
      }
    } finally {
      await r.close();
      await t.stop();
    }
  });
});

describe('merchant webhooks across sidecar processes', () => {
  /** `merchant_webhook_deliveries_total{outcome="succeeded"}` on one process's /metrics. */
  const succeededOn = async (baseUrl: string) => {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('merchant_webhook_deliveries_total{outcome="succeeded"}'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('two sidecar processes dispatch one queue without sending a delivery twice at once', async () => {
    const db = await createTestDatabase('mwh_two');
    const prefix = `test:${uniqueName('p')}:`;
    const env = {
      OUTBOUND_ALLOW_PRIVATE_URLS: 'true',
      BOOTSTRAP_OPERATOR_KEY: TEST_OPERATOR_KEY,
      WEBHOOK_DISPATCH_POLL_MS: '50',
      WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: '4',
    };
    const r = await startReceiver(() => ({ status: 200, delayMs: 40 }));
    const first = await spawnApp('all', { database: db, prefix, env });
    const second = await spawnApp('webhooks', { database: db, prefix, env });
    try {
      await createEndpoint(first, r.url);
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const created = await op(
          first,
          `mutation($u: String!) { createDeposit(input: {userId: $u, currency: "USD", amount: "4"}) { deposit { id } } }`,
          { u: `lou${i}` },
          TEST_API_KEY,
        );
        const id = created.data.createDeposit.deposit.id as string;
        ids.push(id);
        const body = withField(fixtureFor('sandbox/paid.json', id), 'amount', '4');
        const target = i % 2 === 0 ? first.webhookUrl : second.webhookUrl;
        expect((await postWebhookTo(target, 'sandbox', body, signedHeaders(SECRETS.sandbox, body))).status).toBe(200);
      }
      await eventually(async () => ids.every((id) => r.received.some((w) => w.json?.data?.deposit?.id === id)), 20_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(r.maxConcurrentPerId()).toBe(1);
      const sentIds = r.received.map((w) => w.headers['webhook-id']);
      expect(new Set(sentIds).size).toBe(sentIds.length);
      // Both processes took part.
      expect(await succeededOn(first.webhookUrl)).toBeGreaterThan(0);
      expect(await succeededOn(second.webhookUrl)).toBeGreaterThan(0);
      expect((await succeededOn(first.webhookUrl)) + (await succeededOn(second.webhookUrl))).toBe(ids.length);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
      await r.close();
      await db.drop();
    }
  });

  it('delivers every change, at least once, after the sidecar is killed with SIGKILL mid-delivery', async () => {
    const db = await createTestDatabase('mwh_kill');
    const prefix = `test:${uniqueName('p')}:`;
    const env = {
      OUTBOUND_ALLOW_PRIVATE_URLS: 'true',
      BOOTSTRAP_OPERATOR_KEY: TEST_OPERATOR_KEY,
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_DISPATCH_POLL_MS: '100',
      WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2,0.2,0.2,0.2',
    };
    const r = await startReceiver(() => 'hang');
    let app = await spawnApp('all', { database: db, prefix, env });
    try {
      await createEndpoint(app, r.url);
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const created = await op(
          app,
          `mutation($u: String!) { createDeposit(input: {userId: $u, currency: "USD", amount: "4"}) { deposit { id } } }`,
          { u: `kim${i}` },
          TEST_API_KEY,
        );
        const id = created.data.createDeposit.deposit.id as string;
        ids.push(id);
        const body = withField(fixtureFor('sandbox/paid.json', id), 'amount', '4');
        expect(
          (await postWebhookTo(app.webhookUrl, 'sandbox', body, signedHeaders(SECRETS.sandbox, body))).status,
        ).toBe(200);
      }
      // Requests are in flight (the receiver holds them) when the sidecar dies.
      await eventually(async () => r.inFlight() >= 1, 10_000);
      process.kill(app.pid, 'SIGKILL');
      await app.waitForExit();
      r.setAnswer(() => ({ status: 200 }));

      app = await spawnApp('all', { database: db, prefix, env });
      await eventually(
        async () =>
          ids.every((id) =>
            r.received.some((w) => w.json?.data?.deposit?.id === id && w.json.data.status === 'COMPLETED'),
          ),
        20_000,
      );
      // And the queue agrees: every delivery SUCCEEDED, none left behind.
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await eventually(async () => {
          const rows = await c.query<{ status: string; n: number }>(
            `select status, count(*)::int as n from webhook_delivery group by status`,
          );
          return rows.rows.length === 1 && rows.rows[0].status === 'SUCCEEDED' && rows.rows[0].n === ids.length;
        }, 10_000);
      } finally {
        await c.end();
      }
      // Same webhook-id for a change however often it was sent.
      for (const id of ids) {
        const sent = r.received.filter((w) => w.json?.data?.deposit?.id === id);
        expect(new Set(sent.map((w) => w.headers['webhook-id'])).size).toBe(1);
      }
    } finally {
      await app.stop();
      await r.close();
      await db.drop();
    }
  });
});
