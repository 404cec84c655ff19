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
});
