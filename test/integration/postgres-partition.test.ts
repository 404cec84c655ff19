import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import {
  createTestDatabase,
  eventually,
  SECRETS,
  startTestApp,
  type TestApp,
  type TestDatabase,
} from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy.js';
import { connectWs } from '../utils/ws-client.js';

describe('a network partition between the sidecar and Postgres that loses replies', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase('partition');
    proxy = await createTcpProxy('127.0.0.1', 5432);
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    t = await startTestApp({
      database: db,
      background: false,
      env: { DATABASE_URL: url.toString(), DB_STATEMENT_TIMEOUT_MS: '500', DB_CONNECT_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    await t.stop();
    await proxy.close();
    await db.drop();
  });

  it('answers 503 while it lasts and recovers as soon as it ends, without connections stuck on lost replies', async () => {
    const created = await t.gql(CreateDepositDocument, { input: { userId: 'p', currency: 'USD', amount: '25.00' } });
    const id = created.data!.createDeposit.deposit.id;
    const body = fixtureFor('sandbox/paid.json', id);
    const headers = signedHeaders(SECRETS.sandbox, body);

    proxy.stall();
    const during = await Promise.all(Array.from({ length: 4 }, () => t.postWebhook('sandbox', body, headers)));
    expect(during.map((r) => r.status)).toEqual([503, 503, 503, 503]);
    proxy.restore({ discardHeld: true });

    // The provider retries; every pooled connection that timed out waiting must have been replaced.
    const retried = await eventually(
      async () => {
        const r = await t.postWebhook('sandbox', body, headers);
        return r.status === 200 ? r : undefined;
      },
      8000,
      200,
    );
    expect(retried.json).toEqual({ status: 'accepted' });
  });

  it('answers createDeposit with SERVICE_UNAVAILABLE while Postgres is down, leaving no intent behind', async () => {
    const input = { userId: 'down', currency: 'USD', amount: '25.00' };
    // A request just before: the API key is known (cached), so the cut hits createDeposit itself.
    expect((await t.gql(CreateDepositDocument, { input: { ...input, userId: 'warm' } })).data).toBeTruthy();
    const intentsBefore = await t.redis.keys(`${t.prefix}*intent*`);
    proxy.cut();
    try {
      const during = await t.gql(CreateDepositDocument, { input });
      expect(during.status).toBe(503);
      expect(during.data).toBeNull();
      expect(during.errors?.[0]).toMatchObject({
        message: 'storage is temporarily unavailable, retry later',
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      });
      // A key not seen yet cannot be looked up: the same answer, from authentication.
      const unknownKey = await t.gql(CreateDepositDocument, { input }, { apiKey: 'dgw_not_seen_before_0123456789' });
      expect(unknownKey.status).toBe(503);
      expect(unknownKey.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      proxy.restore();
    }
    // The intent written before the insert failed is taken back: nothing half-made is left.
    expect(await t.redis.keys(`${t.prefix}*intent*`)).toEqual(intentsBefore);
    expect(await t.sql("select id from deposit where user_id = 'down'")).toEqual([]);

    const after = await eventually(
      async () => {
        const r = await t.gql(CreateDepositDocument, { input });
        return r.data ? r : undefined;
      },
      8000,
      200,
    );
    expect(after.data!.createDeposit.deposit.status).toBe('PENDING');
    expect(await t.redis.keys(`${t.prefix}*intent*`)).toHaveLength(intentsBefore.length + 1);
  });

  it('refuses a socket it cannot check while Postgres is down with 1013 Try Again Later, and accepts it after', async () => {
    const created = await t.gql(CreateDepositDocument, { input: { userId: 'ws-down', currency: 'USD', amount: '5' } });
    const clientToken = created.data!.createDeposit.clientToken;
    proxy.cut();
    let refused;
    try {
      const conn = connectWs(t.gatewayUrl, { clientToken });
      refused = await conn.closed;
      await conn.dispose();
    } finally {
      proxy.restore();
    }
    expect(refused).toEqual({ code: 1013, reason: 'storage temporarily unavailable' });
    const accepted = await eventually(
      async () => {
        const conn = connectWs(t.gatewayUrl, { clientToken });
        const ok = await conn.connected.then(
          () => true,
          () => false,
        );
        if (!ok) await conn.dispose();
        return ok ? conn : undefined;
      },
      8000,
      200,
    );
    await accepted.dispose();
  });
});
