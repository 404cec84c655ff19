import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse, type DocumentNode } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDepositDocument,
  DepositStatusChangedDocument,
  type DepositStatusChangedSubscription,
} from '../generated/graphql.js';
import { LAYER1_FLOW, fixtureFor } from '../fixtures/index.js';
import { SECRETS, startTestApp, uniqueName, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';
import { connectWs, openSilentSocket, type EventCollector, type WsConnection } from '../utils/ws-client.js';

type Change = DepositStatusChangedSubscription['depositStatusChanged'];
type Collector = EventCollector<DepositStatusChangedSubscription>;

const LAYER1_STATUSES = LAYER1_FLOW.map(([, s]) => s);

const changes = (c: Collector): Change[] => c.events.map((e) => e.depositStatusChanged);
const statusesOf = (c: Collector, depositId: string) =>
  changes(c)
    .filter((ch) => ch.deposit.id === depositId)
    .map((ch) => ch.status);
const hasStatus = (depositId: string, status: string) => (c: Collector) =>
  changes(c).some((ch) => ch.deposit.id === depositId && ch.status === status);

describe('live deposit status over graphql-ws', () => {
  let t: TestApp;
  let shortLived: TestApp | undefined;
  const open: WsConnection[] = [];

  /** A graphql-ws connection closed after the test. */
  const connect = (params?: Record<string, unknown>, app: TestApp = t) => {
    const c = connectWs(app.gatewayUrl, params);
    open.push(c);
    return c;
  };
  const connectWithApiKey = async () => {
    const c = connect({ apiKey: t.apiKey });
    await c.connected;
    return c;
  };

  async function createLayer1Deposit(userId: string, app: TestApp = t) {
    const r = await app.gql(CreateDepositDocument, {
      input: { userId, currency: 'ETH', amount: '0.20', provider: 'layer1' },
    });
    expect(r.errors).toBeUndefined();
    return { id: r.data!.createDeposit.deposit.id, clientToken: r.data!.createDeposit.clientToken };
  }

  async function postLayer1(depositId: string, fixture: string) {
    const body = fixtureFor(fixture, depositId);
    const res = await t.postWebhook('layer1', body, signedHeaders(SECRETS.layer1, body));
    expect(res).toEqual({ status: 200, json: { status: 'accepted' } });
  }

  async function postFlow(depositId: string, steps: readonly (readonly [string, string])[] = LAYER1_FLOW) {
    for (const [fixture] of steps) await postLayer1(depositId, fixture);
  }

  /**
   * Moves another deposit of the same user to DETECTED and waits for it: changes arrive in cursor order,
   * so once this one is in, anything that was coming for the earlier changes (a duplicate included) is in too.
   */
  async function sentinel(userId: string, sub: Collector) {
    const other = await createLayer1Deposit(userId);
    await postLayer1(other.id, LAYER1_FLOW[0][0]);
    await sub.waitUntil(hasStatus(other.id, 'DETECTED'), undefined, 'the sentinel change');
    return other.id;
  }

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.dispose()));
    await waitForOpenSubscriptions(t, 0);
  });
  afterAll(async () => {
    await shortLived?.stop();
    await t?.stop();
  });

  it('shows an API-key subscriber DETECTED, CONFIRMING, CONFIRMED, SCREENING and COMPLETED in order for the five layer1 webhooks', async () => {
    const userId = uniqueName('alice');
    const conn = await connectWithApiKey();
    const { id } = await createLayer1Deposit(userId);
    const sub = conn.subscribe(DepositStatusChangedDocument, { userId });
    await waitForOpenSubscriptions(t, 1);
    await postFlow(id);
    await sentinel(userId, sub);

    expect(sub.errors).toEqual([]);
    const mine = changes(sub).filter((ch) => ch.deposit.id === id);
    expect(mine.map((ch) => [ch.previousStatus, ch.status])).toEqual([
      ['PENDING', 'DETECTED'],
      ['DETECTED', 'CONFIRMING'],
      ['CONFIRMING', 'CONFIRMED'],
      ['CONFIRMED', 'SCREENING'],
      ['SCREENING', 'COMPLETED'],
    ]);
    expect(mine.at(-1)!.deposit).toMatchObject({
      status: 'COMPLETED',
      receivedAmount: '0.2',
      receivedCurrency: 'ETH',
      paymentState: 'CORRECT',
    });
    expect(new Set(changes(sub).map((ch) => ch.cursor)).size).toBe(changes(sub).length);
  });

  it('shows a client-token subscriber the changes of its own deposit', async () => {
    const userId = uniqueName('bob');
    const { id, clientToken } = await createLayer1Deposit(userId);
    const neighbour = await createLayer1Deposit(userId);
    const conn = connect({ clientToken });
    await conn.connected;
    const sub = conn.subscribe(DepositStatusChangedDocument, { depositId: id });
    const implicit = conn.subscribe(DepositStatusChangedDocument, {});
    await waitForOpenSubscriptions(t, 2);
    await postLayer1(neighbour.id, LAYER1_FLOW[0][0]);
    await postFlow(id);

    await sub.waitUntil(hasStatus(id, 'COMPLETED'));
    await implicit.waitUntil(hasStatus(id, 'COMPLETED'));
    expect(sub.errors).toEqual([]);
    expect(changes(sub).map((ch) => [ch.deposit.id, ch.status])).toEqual(LAYER1_STATUSES.map((s) => [id, s]));
    expect(changes(implicit).map((ch) => [ch.deposit.id, ch.status])).toEqual(LAYER1_STATUSES.map((s) => [id, s]));
  });

  it('refuses a client token that asks for another deposit with FORBIDDEN on that operation only', async () => {
    const userId = uniqueName('carol');
    const mine = await createLayer1Deposit(userId);
    const theirs = await createLayer1Deposit(uniqueName('dave'));
    const conn = connect({ clientToken: mine.clientToken });
    await conn.connected;

    const refused = conn.subscribe(DepositStatusChangedDocument, { depositId: theirs.id });
    await refused.waitForEnd();
    expect(refused.events).toEqual([]);
    expect(refused.errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);

    // The socket stays up and the token still watches its own deposit.
    const allowed = conn.subscribe(DepositStatusChangedDocument, { depositId: mine.id });
    await waitForOpenSubscriptions(t, 1);
    await postLayer1(mine.id, LAYER1_FLOW[0][0]);
    await allowed.waitUntil(hasStatus(mine.id, 'DETECTED'));
    expect(conn.closes).toEqual([]);
  });

  it('refuses a client token that asks for a user with FORBIDDEN on that operation', async () => {
    const userId = uniqueName('erin');
    const { clientToken } = await createLayer1Deposit(userId);
    const conn = connect({ clientToken });
    await conn.connected;

    const refused = conn.subscribe(DepositStatusChangedDocument, { userId });
    await refused.waitForEnd();
    expect(refused.events).toEqual([]);
    expect(refused.errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('refuses an `after` that is not one of its cursors with BAD_USER_INPUT on that operation', async () => {
    const conn = await connectWithApiKey();
    const refused = conn.subscribe(DepositStatusChangedDocument, { after: 'not-a-cursor' });
    await refused.waitForEnd();
    expect(refused.events).toEqual([]);
    expect(refused.errors.map((e) => [e.extensions?.code, e.extensions?.field])).toEqual([['BAD_USER_INPUT', 'after']]);
  });

  it('closes the socket with 4403 when connection_init carries no credentials', async () => {
    const conn = connect(undefined);
    await expect(conn.closed).resolves.toMatchObject({ code: 4403 });
  });

  it('closes the socket with 4403 for a wrong API key', async () => {
    const conn = connect({ apiKey: 'not_a_key_of_any_tenant_0000' });
    await expect(conn.closed).resolves.toMatchObject({ code: 4403 });
  });

  it('closes the socket with 4403 for a wrong client token', async () => {
    const { id, clientToken } = await createLayer1Deposit(uniqueName('frank'));
    const forged = `ct_${id}.${'A'.repeat(43)}`;
    expect(forged).not.toBe(clientToken);
    const conn = connect({ clientToken: forged });
    await expect(conn.closed).resolves.toMatchObject({ code: 4403 });
  });

  it('closes a socket that sends no connection_init within 5 seconds with 4408', async () => {
    const silent = openSilentSocket(t.gatewayUrl);
    await silent.opened;
    await expect(silent.closed).resolves.toMatchObject({ code: 4408 });
  }, 15_000);

  it('refuses a subscription with more than 15 aliases with QUERY_TOO_COMPLEX', async () => {
    const conn = await connectWithApiKey();
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: cursor`).join(' ');
    const sub = conn.subscribe(doc(`subscription { depositStatusChanged { ${aliases} } }`));
    await sub.waitForEnd();
    expect(sub.events).toEqual([]);
    expect(sub.errors.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(conn.closes).toEqual([]);
  });

  it('refuses an operation deeper than 8 levels on the socket with QUERY_TOO_COMPLEX', async () => {
    const conn = await connectWithApiKey();
    let selection = 'name';
    for (let i = 0; i < 8; i++) selection = `ofType { ${selection} }`;
    const op = conn.subscribe(doc(`query { __type(name: "Deposit") { fields { type { ${selection} } } } }`));
    await op.waitForEnd();
    expect(op.events).toEqual([]);
    expect(op.errors.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('delivers only that user’s deposits to a subscription filtered by userId', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const conn = await connectWithApiKey();
    const sub = conn.subscribe(DepositStatusChangedDocument, { userId: alice });
    const everyone = conn.subscribe(DepositStatusChangedDocument, {});
    await waitForOpenSubscriptions(t, 2);
    const a = await createLayer1Deposit(alice);
    const b = await createLayer1Deposit(bob);
    await postLayer1(b.id, LAYER1_FLOW[0][0]);
    await postLayer1(a.id, LAYER1_FLOW[0][0]);
    await postLayer1(b.id, LAYER1_FLOW[1][0]);
    await postLayer1(a.id, LAYER1_FLOW[1][0]);
    await everyone.waitUntil(hasStatus(a.id, 'CONFIRMING'));
    await sub.waitUntil(hasStatus(a.id, 'CONFIRMING'));

    expect(changes(sub).map((ch) => [ch.deposit.userId, ch.status])).toEqual([
      [alice, 'DETECTED'],
      [alice, 'CONFIRMING'],
    ]);
    // The unfiltered stream did carry bob's changes, interleaved with alice's.
    expect(statusesOf(everyone, b.id)).toEqual(['DETECTED', 'CONFIRMING']);
  });

  it('resumes after a disconnect from the last cursor with exactly the changes it missed', async () => {
    const userId = uniqueName('gina');
    const { id } = await createLayer1Deposit(userId);
    const first = await connectWithApiKey();
    const before = first.subscribe(DepositStatusChangedDocument, { userId });
    await waitForOpenSubscriptions(t, 1);
    await postLayer1(id, LAYER1_FLOW[0][0]);
    await before.waitUntil(hasStatus(id, 'DETECTED'));
    const cursor = changes(before).at(-1)!.cursor;
    await first.dispose();
    await waitForOpenSubscriptions(t, 0);

    await postFlow(id, LAYER1_FLOW.slice(1));

    const second = await connectWithApiKey();
    const after = second.subscribe(DepositStatusChangedDocument, { userId, after: cursor });
    await after.waitUntil(hasStatus(id, 'COMPLETED'));
    await sentinel(userId, after);
    expect(after.errors).toEqual([]);
    expect(statusesOf(after, id)).toEqual(['CONFIRMING', 'CONFIRMED', 'SCREENING', 'COMPLETED']);
  });

  it('delivers every change exactly once and in order across the seam between replay and live', async () => {
    const userId = uniqueName('hank');
    const deposits = await Promise.all([1, 2, 3].map(() => createLayer1Deposit(userId)));
    // An old cursor: the first change of the first deposit.
    const conn = await connectWithApiKey();
    const probe = conn.subscribe(DepositStatusChangedDocument, { userId });
    await waitForOpenSubscriptions(t, 1);
    await postLayer1(deposits[0].id, LAYER1_FLOW[0][0]);
    await probe.waitUntil(hasStatus(deposits[0].id, 'DETECTED'));
    const oldCursor = changes(probe)[0].cursor;
    probe.unsubscribe();

    // Every webhook of the three deposits, posted one after another while the resumed subscription starts.
    const remaining: [string, string][] = [];
    for (let step = 0; step < LAYER1_FLOW.length; step++)
      for (const d of deposits) if (!(d === deposits[0] && step === 0)) remaining.push([d.id, LAYER1_FLOW[step][0]]);
    const posting = (async () => {
      for (const [depositId, fixture] of remaining) await postLayer1(depositId, fixture);
    })();
    await new Promise((r) => setTimeout(r, 40)); // let some of them land before the subscription starts
    const resumed = conn.subscribe(DepositStatusChangedDocument, { userId, after: oldCursor });
    await posting;
    const last = await sentinel(userId, resumed);

    const expected = await t.sql<{ deposit_id: string; status: string }>(
      `select deposit_id, status from outbox where user_id = $1 and seq > (select seq from outbox where user_id = $1 order by seq limit 1)
       order by seq`,
      [userId],
    );
    expect(expected.length).toBe(remaining.length + 1);
    expect(resumed.errors).toEqual([]);
    expect(changes(resumed).map((ch) => [ch.deposit.id, ch.status])).toEqual(
      expected.map((r) => [r.deposit_id, r.status]),
    );
    expect(changes(resumed).at(-1)!.deposit.id).toBe(last);
    for (const d of deposits) expect(statusesOf(resumed, d.id).at(-1)).toBe('COMPLETED');
  });

  it('publishes the expiry of a pending deposit by the sweeper as EXPIRED', async () => {
    // A gateway on the same database and prefix whose deposits live one second; this file's sidecar sweeps them.
    shortLived = await startTestApp({
      role: 'gateway',
      database: t.db,
      prefix: t.prefix,
      env: { DEPOSIT_TTL_SECONDS: '1' },
    });
    const userId = uniqueName('ivy');
    const conn = await connectWithApiKey();
    const sub = conn.subscribe(DepositStatusChangedDocument, { userId });
    await waitForOpenSubscriptions(t, 1);
    const { id } = await createLayer1Deposit(userId, shortLived);

    await sub.waitUntil(hasStatus(id, 'EXPIRED'));
    expect(changes(sub).map((ch) => [ch.deposit.id, ch.previousStatus, ch.status, ch.deposit.status])).toEqual([
      [id, 'PENDING', 'EXPIRED', 'EXPIRED'],
    ]);
  });
});

/** Resolves once the app has exactly `n` open subscription iterators (a subscription is live once counted). */
async function waitForOpenSubscriptions(t: TestApp, n: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (t.app.statusStream!.openCount() !== n) {
    if (Date.now() > until)
      throw new Error(`expected ${n} open subscriptions, have ${t.app.statusStream!.openCount()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function doc(source: string): TypedDocumentNode<Record<string, unknown>, Record<string, never>> {
  return parse(source) as DocumentNode as TypedDocumentNode<Record<string, unknown>, Record<string, never>>;
}
