import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureFor, withField } from '../fixtures/index.js';
import { CreateDepositDocument, DepositStatusChangedDocument } from '../generated/graphql.js';
import { eventually, SECRETS, startTestApp, uniqueName, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';
import { connectWs } from '../utils/ws-client.js';

const FEED = `query($after: String, $first: Int, $depositId: ID, $userId: String) {
  statusChanges(after: $after, first: $first, depositId: $depositId, userId: $userId) {
    edges { cursor node { cursor status previousStatus occurredAt deposit { id userId status receivedAmount } } }
    pageInfo { hasNextPage endCursor } } }`;

interface Change {
  cursor: string;
  status: string;
  previousStatus: string | null;
  deposit: { id: string; userId: string; status: string; receivedAmount: string | null };
}

async function feed(t: TestApp, variables: Record<string, unknown>, apiKey = t.apiKey) {
  const res = await fetch(`${t.gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ query: FEED, variables }),
  });
  const json = (await res.json()) as {
    data?: {
      statusChanges: {
        edges: { cursor: string; node: Change }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    };
    errors?: { extensions?: { code?: string; field?: string } }[];
  };
  return json;
}

describe('statusChanges: the events feed', () => {
  let t: TestApp;
  let other: { apiKey: string };
  beforeAll(async () => {
    t = await startTestApp();
    other = await t.app.tenants.create(uniqueName('other'));
  });
  afterAll(async () => {
    await t.stop();
  });

  async function complete(userId: string, amount = '10'): Promise<string> {
    const created = await t.gql(CreateDepositDocument, { input: { userId, currency: 'USD', amount } });
    const id = created.data!.createDeposit.deposit.id;
    const body = withField(fixtureFor('sandbox/paid.json', id), 'amount', amount);
    expect((await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body))).status).toBe(200);
    return id;
  }

  /** Waits until the relay has sequenced the user's changes (the feed shows only sequenced ones). */
  async function settled(userId: string, n: number) {
    return eventually(async () => {
      const r = await feed(t, { userId });
      return r.data!.statusChanges.edges.length >= n ? r.data!.statusChanges : undefined;
    });
  }

  it("pages through the tenant's changes oldest first until hasNextPage is false", async () => {
    const userId = uniqueName('pat');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await complete(userId, `${i + 1}.5`));
    await settled(userId, 5);

    const seen: Change[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const r = await feed(t, { userId, first: 2, after });
      expect(r.errors).toBeUndefined();
      const page = r.data!.statusChanges;
      pages++;
      for (const e of page.edges) {
        expect(e.cursor).toBe(e.node.cursor);
        seen.push(e.node);
      }
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen.map((c) => c.deposit.id)).toEqual(ids);
    expect(seen.map((c) => [c.previousStatus, c.status])).toEqual(ids.map(() => ['PENDING', 'COMPLETED']));
    expect(seen.map((c) => c.deposit.receivedAmount)).toEqual(['1.5', '2.5', '3.5', '4.5', '5.5']);
    // Past the end: an empty page that keeps the cursor to poll from.
    const end = await feed(t, { userId, after: seen.length ? after : null, first: 100 });
    expect(end.data!.statusChanges.pageInfo.hasNextPage).toBe(false);
    // One deposit only.
    const one = await feed(t, { depositId: ids[2] });
    expect(one.data!.statusChanges.edges.map((e) => e.node.deposit.id)).toEqual([ids[2]]);
  });

  it('resumes from a depositStatusChanged cursor, and a subscription resumes from a statusChanges cursor', async () => {
    const userId = uniqueName('quinn');
    const conn = connectWs(t.gatewayUrl, { apiKey: t.apiKey });
    await conn.connected;
    try {
      const sub = conn.subscribe(DepositStatusChangedDocument, { userId });
      await eventually(async () => t.app.statusStream!.openCount() >= 1);
      const first = await complete(userId);
      await sub.waitUntil((c) => c.events.some((e) => e.depositStatusChanged.deposit.id === first));
      const subscriptionCursor = sub.events[0].depositStatusChanged.cursor;
      const second = await complete(userId);
      const third = await complete(userId);
      await settled(userId, 3);

      // Subscription cursor -> feed: exactly what came after it.
      const r = await feed(t, { userId, after: subscriptionCursor });
      expect(r.data!.statusChanges.edges.map((e) => e.node.deposit.id)).toEqual([second, third]);

      // Feed cursor -> subscription: the replay starts right after it.
      const fromFeed = (await feed(t, { userId, first: 1 })).data!.statusChanges;
      expect(fromFeed.edges[0].cursor).toBe(subscriptionCursor);
      const resumed = conn.subscribe(DepositStatusChangedDocument, { userId, after: fromFeed.pageInfo.endCursor });
      await resumed.waitForCount(2);
      expect(resumed.events.map((e) => e.depositStatusChanged.deposit.id)).toEqual([second, third]);
      expect(resumed.events.map((e) => e.depositStatusChanged.cursor)).toEqual(
        r.data!.statusChanges.edges.map((e) => e.cursor),
      );
    } finally {
      await conn.dispose();
    }
  });

  it("shows no other tenant's changes, and refuses a bad cursor, a bad deposit id and a page size outside 1..100", async () => {
    const userId = uniqueName('ruth');
    await complete(userId);
    await settled(userId, 1);
    const theirs = await feed(t, { userId }, other.apiKey);
    expect(theirs.data!.statusChanges.edges).toEqual([]);
    const all = await feed(t, {}, other.apiKey);
    expect(all.data!.statusChanges.edges).toEqual([]);

    for (const [variables, field] of [
      [{ after: 'not-a-cursor' }, 'after'],
      [{ first: 0 }, 'first'],
      [{ first: 101 }, 'first'],
      [{ first: -1 }, 'first'],
      [{ depositId: "'; drop table outbox; --" }, 'depositId'],
    ] as const) {
      const r = await feed(t, variables);
      expect(r.errors?.[0]?.extensions, JSON.stringify(variables)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const noKey = await fetch(`${t.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: FEED }),
    });
    expect(noKey.status).toBe(401);
  });
});
