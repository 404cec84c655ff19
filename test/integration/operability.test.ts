import http from 'node:http';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, DepositDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { eventually, SECRETS, startTestApp, TEST_API_KEY, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';
import { payloadHash } from '../../src/lib/signatures/payload-hash.js';

/** POSTs from a chosen loopback address, as a provider (or an attacker) on another host would. */
function postFrom(localAddress: string, url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, localAddress }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('logs and metrics', () => {
  let t: TestApp;
  const lines: string[] = [];
  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    t = await startTestApp({ env: { LOG_LEVEL: 'debug' }, logStream: stream });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('never writes an API key, HMAC secret, webhook secret, signature or client token to the log', async () => {
    const signed = await t.app.tenants.create('signed-tenant', { hmac: true });
    const created = await t.gql(CreateDepositDocument, { input: { userId: 'log-user', currency: 'USD', amount: '5' } });
    const deposit = created.data!.createDeposit.deposit;
    const clientToken = created.data!.createDeposit.clientToken;

    const body = JSON.stringify({ query: '{ balances(userId: "x") { available } }' });
    const hash = payloadHash(signed.hmacSecret!, body);
    const res = await fetch(`${t.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': signed.apiKey, 'x-payload-hash': hash },
      body,
    });
    expect(res.status).toBe(200);
    await t.gql(DepositDocument, { id: deposit.id }, { apiKey: 'wrong-key-that-should-not-be-logged' });

    const paid = fixtureFor('sandbox/paid.json', deposit.id).replace('"25.00"', '"5"');
    const headers = signedHeaders(SECRETS.sandbox, paid);
    expect((await t.postWebhook('sandbox', paid, headers)).status).toBe(200);
    const forged = { ...headers, 'webhook-id': 'msg_forged', 'webhook-signature': 'v1,Zm9yZ2VkLXNpZ25hdHVyZQ==' };
    expect((await t.postWebhook('sandbox', paid, forged)).status).toBe(401);
    await eventually(async () => lines.some((l) => l.includes('"event applied"')));

    const log = lines.join('\n');
    const secrets = [
      TEST_API_KEY,
      signed.apiKey,
      signed.hmacSecret!,
      hash,
      'wrong-key-that-should-not-be-logged',
      SECRETS.sandbox,
      SECRETS.sandbox.slice('whsec_'.length),
      headers['webhook-signature'].slice('v1,'.length),
      'Zm9yZ2VkLXNpZ25hdHVyZQ==',
      clientToken,
    ];
    for (const s of secrets) expect(log).not.toContain(s);
  });

  it('writes one JSON line per request with its request id, and one per applied event with provider, tenant, deposit and status', async () => {
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, any>);
    const requests = parsed.filter((l) => l.msg === 'request completed');
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) expect(typeof r.reqId).toBe('string');
    const applied = parsed.find((l) => l.msg === 'event applied');
    expect(applied).toMatchObject({ provider: 'sandbox', status: 'COMPLETED' });
    expect(applied!.depositId).toMatch(/^[0-9a-f-]{36}$/);
    expect(applied!.tenantId).toMatch(/^[0-9a-f-]{36}$/);
    // The webhook's request line and its applied event's line share the request id.
    const request = requests.find((r) => r.reqId === applied!.reqId);
    expect(request).toMatchObject({
      url: '/webhooks/sandbox',
      statusCode: 200,
      provider: 'sandbox',
      outcome: 'applied',
      depositId: applied!.depositId,
      inboxId: applied!.inboxId,
      status: 'COMPLETED',
    });
  });

  it("keeps a caller's plain x-request-id, replaces anything else with a UUID, and returns it", async () => {
    const ask = (id?: string) =>
      fetch(`${t.webhookUrl}/healthz`, { headers: id === undefined ? {} : { 'x-request-id': id } });
    const kept = await ask('trace-42.a:b');
    expect(kept.headers.get('x-request-id')).toBe('trace-42.a:b');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    for (const bad of ['x'.repeat(129), 'two words', 'quote"d']) {
      expect((await ask(bad)).headers.get('x-request-id')).toMatch(uuid);
    }
    // Gateway and sidecar in one process make ids of their own that never collide.
    const a = (await ask()).headers.get('x-request-id');
    const b = (await fetch(`${t.gatewayUrl}/healthz`)).headers.get('x-request-id');
    expect(a).toMatch(uuid);
    expect(b).toMatch(uuid);
    expect(a).not.toBe(b);
    // Health checks are not logged; other requests are, under the caller's id.
    const logged = await fetch(`${t.webhookUrl}/webhooks/nope`, {
      method: 'POST',
      headers: { 'x-request-id': 'trace-43' },
    });
    expect(logged.status).toBe(404);
    await eventually(async () => lines.some((l) => l.includes('"reqId":"trace-43"')) || undefined, 2000, 20);
  });

  it('exposes the contract metric names on both ports', async () => {
    const sidecar = await (await fetch(`${t.webhookUrl}/metrics`)).text();
    expect(sidecar).toMatch(/webhook_events_total\{provider="sandbox",outcome="accepted"\} [1-9]/);
    expect(sidecar).toMatch(/webhook_events_total\{provider="sandbox",outcome="invalid_signature"\} [1-9]/);
    expect(sidecar).toMatch(/webhook_apply_seconds_bucket\{le="0.1",provider="sandbox"\} [1-9]/);
    expect(sidecar).toContain('outbox_lag_seconds');
    expect(sidecar).toMatch(/deposits_total\{status="COMPLETED"\} [1-9]/);
    expect(sidecar).toContain('process_resident_memory_bytes');
    const gateway = await (await fetch(`${t.gatewayUrl}/metrics`)).text();
    expect(gateway).toContain('graphql_subscriptions_open');
    expect(gateway).toMatch(/deposits_total\{status="PENDING"\} [1-9]/);
  });
});

describe('rate limiting of unverified webhook traffic', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_RATE_LIMIT_PER_MINUTE: '5' } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('cuts off a flood of bad signatures from one address while the provider keeps delivering from another', async () => {
    const created = await t.gql(CreateDepositDocument, { input: { userId: 'rl', currency: 'USD', amount: '25.00' } });
    const id = created.data!.createDeposit.deposit.id;
    const body = fixtureFor('sandbox/paid.json', id);
    const url = `${t.webhookUrl}/webhooks/sandbox`;
    const bad = { ...signedHeaders(SECRETS.sandbox, body), 'webhook-signature': 'v1,AAAA' };

    const attacker: number[] = [];
    for (let i = 0; i < 8; i++) attacker.push(await postFrom('127.0.0.2', url, body, bad));
    expect(attacker.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(attacker.slice(5)).toEqual([429, 429, 429]);

    const real = await postFrom('127.0.0.3', url, body, signedHeaders(SECRETS.sandbox, body));
    expect(real).toBe(200);
    const metrics = await (await fetch(`${t.webhookUrl}/metrics`)).text();
    expect(metrics).toMatch(/webhook_events_total\{provider="sandbox",outcome="rejected"\} 3/);
  });
});
