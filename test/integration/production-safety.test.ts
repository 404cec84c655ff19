import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { BalancesDocument, CreateDepositDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { createTestDatabase, SECRETS, startTestApp, type TestApp, type TestDatabase } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';

/**
 * Issue 8, item 1: under NODE_ENV=production the sandbox (a development tool whose pay page needs
 * no credentials) does not exist, so nobody can credit themselves by "paying" a deposit.
 */

/** What a production deployment sets: its own database and Redis (the harness's), and no sandbox secret. */
const PRODUCTION = { NODE_ENV: 'production', WEBHOOK_SECRET_SANDBOX: '' };

describe('under NODE_ENV=production', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('prod_refused');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('refuses to start with WEBHOOK_SECRET_SANDBOX set (the compose shape that minted money)', async () => {
    // The harness sets every provider's secret, the sandbox's too: exactly what docker-compose.yml required.
    const started = startTestApp({ database: db, env: { NODE_ENV: 'production' } });
    const err = await started.then(
      async (t) => {
        await t.stop();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^WEBHOOK_SECRET_SANDBOX: /);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('a production deployment without DEFAULT_PROVIDER', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: PRODUCTION });
  });
  afterAll(async () => {
    await t.stop();
  });

  const balances = async (userId: string) => (await t.gql(BalancesDocument, { userId })).data?.balances;

  it('refuses createDeposit without a provider with BAD_USER_INPUT naming provider, and stores nothing', async () => {
    const res = await t.gql(CreateDepositDocument, { input: { userId: 'mallory', currency: 'USD', amount: '1.00' } });
    expect(res.data ?? null).toBeNull();
    expect(res.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'provider' });
    expect(await t.sql('select id from deposit')).toEqual([]);
  });

  it('has no sandbox provider for createDeposit', async () => {
    const res = await t.gql(CreateDepositDocument, {
      input: { userId: 'mallory', currency: 'USD', amount: '1.00', provider: 'sandbox' },
    });
    expect(res.errors![0].extensions).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED', provider: 'sandbox' });
    expect(res.errors![0].message).not.toMatch(/set WEBHOOK_SECRET_SANDBOX/);
  });

  it('answers 404 on every /sandbox path: paying a deposit credits nothing', async () => {
    // A real deposit, and a sandbox one left in the database by an earlier development run.
    const created = await t.gql(CreateDepositDocument, {
      input: { userId: 'mallory', currency: 'ETH', amount: '0.20', provider: 'layer1' },
    });
    expect(created.errors).toBeUndefined();
    const [tenant] = await t.sql<{ id: string }>(`select id from tenant where name = 'default'`);
    const leftover = randomUUID();
    await t.sql(
      `insert into deposit (id, tenant_id, user_id, provider, currency, amount, status, expires_at)
       values ($1, $2, 'mallory', 'sandbox', 'USD', 1, 'PENDING', now() + interval '1 hour')`,
      [leftover, tenant.id],
    );

    for (const id of [created.data!.createDeposit.deposit.id, leftover]) {
      const pay = await fetch(`${t.gatewayUrl}/sandbox/checkout/${id}/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount: '1000000', currency: 'USD', status: 'PAID' }),
      });
      expect(pay.status).toBe(404);
      expect((await fetch(`${t.gatewayUrl}/sandbox/checkout/${id}`)).status).toBe(404);
    }
    expect((await fetch(`${t.gatewayUrl}/sandbox/graphql-ws.js`)).status).toBe(404);
    expect(await balances('mallory')).toEqual([]);
    expect(await t.sql('select id from webhook_inbox')).toEqual([]);
    expect(await t.sql(`select status from deposit where id = $1`, [leftover])).toEqual([{ status: 'PENDING' }]);
  });

  it('answers /webhooks/sandbox with 404 PROVIDER_NOT_CONFIGURED, even signed with the development secret', async () => {
    const [row] = await t.sql<{ id: string }>(`select id from deposit where provider = 'sandbox'`);
    const body = fixtureFor('sandbox/paid.json', row.id);
    const res = await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body));
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED' });
    expect(await balances('mallory')).toEqual([]);
  });
});

describe('a production deployment with DEFAULT_PROVIDER=layer1', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...PRODUCTION, DEFAULT_PROVIDER: 'layer1' } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('creates a deposit without a provider with layer1', async () => {
    const res = await t.gql(CreateDepositDocument, { input: { userId: 'bob', currency: 'ETH', amount: '0.20' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.createDeposit.deposit).toMatchObject({ provider: 'layer1', status: 'PENDING', checkoutUrl: null });
  });
});
