import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepositStatusChangedDocument, type DepositStatusChangedSubscription } from '../generated/graphql.js';
import { LAYER1_FLOW } from '../fixtures/index.js';
import { createTestDatabase, TEST_API_KEY, uniqueName, type TestDatabase } from '../utils/harness.js';
import {
  type AppProcess,
  type RedisServer,
  createLayer1DepositAt,
  postLayer1At,
  spawnApp,
  startRedisServer,
  waitForValue,
} from '../utils/processes.js';
import { createTcpProxy, type TcpProxy } from '../utils/tcp-proxy.js';
import { connectWs, type EventCollector, type WsConnection } from '../utils/ws-client.js';
import pg from 'pg';

type Collector = EventCollector<DepositStatusChangedSubscription>;

const changes = (c: Collector) => c.events.map((e) => e.depositStatusChanged);
const hasStatus = (depositId: string, status: string) => (c: Collector) =>
  changes(c).some((ch) => ch.deposit.id === depositId && ch.status === status);

describe('live status across a Redis outage (sidecar and gateway processes on a private redis-server)', () => {
  let db: TestDatabase;
  let redis: RedisServer;
  const procs: AppProcess[] = [];
  const open: WsConnection[] = [];
  let sidecar: AppProcess;
  let gateway: AppProcess;
  /** A second gateway that reaches Redis through a proxy, so it alone can lose Redis. */
  let proxied: AppProcess;
  let proxy: TcpProxy;

  beforeAll(async () => {
    db = await createTestDatabase('redis_outage');
    redis = await startRedisServer();
    const prefix = `test:${uniqueName('outage')}:`;
    const opts = { database: db, prefix, redisUrl: redis.url };
    proxy = await createTcpProxy('127.0.0.1', redis.port);
    sidecar = await spawnApp('webhooks', opts);
    procs.push(sidecar);
    const gateways = await Promise.allSettled([
      spawnApp('gateway', opts),
      spawnApp('gateway', { ...opts, redisUrl: `redis://127.0.0.1:${proxy.port}` }),
    ]);
    for (const g of gateways) if (g.status === 'fulfilled') procs.push(g.value);
    for (const g of gateways) if (g.status === 'rejected') throw g.reason;
    [, gateway, proxied] = procs;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(open.splice(0).map((c) => c.dispose()));
    await Promise.all(procs.map((p) => p.stop()));
    await proxy?.close();
    await redis?.kill();
    await db?.drop();
  }, 60_000);

  const createLayer1Deposit = (userId: string) => createLayer1DepositAt(gateway.gatewayUrl, userId);

  const postLayer1 = (depositId: string, fixture: string) => postLayer1At(sidecar.webhookUrl, depositId, fixture);

  function subscribe(params: Record<string, unknown>, vars: Record<string, string>, on: AppProcess = gateway) {
    const conn = connectWs(on.gatewayUrl, params);
    open.push(conn);
    return conn.subscribe(DepositStatusChangedDocument, vars);
  }

  it('delivers every change once and in order to connected subscribers when Redis dies and comes back while webhooks arrive', async () => {
    const userId = uniqueName('alice');
    const first = await createLayer1Deposit(userId);
    const second = await createLayer1Deposit(userId);
    const tenantWide = subscribe({ apiKey: TEST_API_KEY }, { userId });
    const oneDeposit = subscribe({ clientToken: first.clientToken }, { depositId: first.id });
    await waitForValue(() => gateway.metric('graphql_subscriptions_open'), 2, 10_000, 'open subscriptions');
    await postLayer1(first.id, LAYER1_FLOW[0][0]);
    await tenantWide.waitUntil(hasStatus(first.id, 'DETECTED'));
    await oneDeposit.waitUntil(hasStatus(first.id, 'DETECTED'));

    await redis.kill();
    // Redis being down is no reason to refuse a webhook: each is stored, applied and acknowledged.
    for (const [fixture] of LAYER1_FLOW.slice(1)) await postLayer1(first.id, fixture);
    for (const [fixture] of LAYER1_FLOW) await postLayer1(second.id, fixture);
    await redis.restart();

    await tenantWide.waitUntil(hasStatus(second.id, 'COMPLETED'), 45_000, 'both deposits COMPLETED');
    await oneDeposit.waitUntil(hasStatus(first.id, 'COMPLETED'), 45_000, 'the first deposit COMPLETED');
    // One more change after the outage, through Redis again: anything still due before it is in once it is.
    const third = await createLayer1Deposit(userId);
    await postLayer1(third.id, LAYER1_FLOW[0][0]);
    await tenantWide.waitUntil(hasStatus(third.id, 'DETECTED'), 30_000, 'the change made after the outage');

    const outbox = (
      await query(db, 'select deposit_id, status from outbox where user_id = $1 order by seq', [userId])
    ).map((r) => [r.deposit_id, r.status]);
    expect(outbox).toHaveLength(11);
    expect(tenantWide.errors).toEqual([]);
    expect(changes(tenantWide).map((ch) => [ch.deposit.id, ch.status])).toEqual(outbox);
    expect(oneDeposit.errors).toEqual([]);
    expect(changes(oneDeposit).map((ch) => ch.status)).toEqual(LAYER1_FLOW.map(([, s]) => s));
    expect(new Set(changes(tenantWide).map((ch) => ch.cursor)).size).toBe(11);
  }, 120_000);

  it('catches a gateway up from Postgres when only its own Redis connection was lost while changes were published', async () => {
    const userId = uniqueName('bob');
    const { id } = await createLayer1Deposit(userId);
    const sub = subscribe({ apiKey: TEST_API_KEY }, { userId }, proxied);
    await waitForValue(() => proxied.metric('graphql_subscriptions_open'), 1, 10_000, 'open subscriptions');
    await postLayer1(id, LAYER1_FLOW[0][0]);
    await sub.waitUntil(hasStatus(id, 'DETECTED'));

    proxy.cut();
    for (const [fixture] of LAYER1_FLOW.slice(1)) await postLayer1(id, fixture);
    // The relay published all of them while this gateway could not hear: Redis alone will never redeliver them.
    await waitForValue(
      async () =>
        (await query(db, 'select count(*) from outbox where deposit_id = $1 and published_at is not null', [id]))[0]
          .count,
      '5',
      30_000,
      'published outbox rows',
    );
    proxy.restore();

    await sub.waitUntil(hasStatus(id, 'COMPLETED'), 45_000, 'COMPLETED');
    const later = await createLayer1Deposit(userId);
    await postLayer1(later.id, LAYER1_FLOW[0][0]);
    await sub.waitUntil(hasStatus(later.id, 'DETECTED'), 30_000, 'the change made after the reconnect');

    expect(sub.errors).toEqual([]);
    expect(changes(sub).map((ch) => [ch.deposit.id, ch.status])).toEqual([
      ...LAYER1_FLOW.map(([, s]) => [id, s]),
      [later.id, 'DETECTED'],
    ]);
  }, 120_000);
});

async function query(db: TestDatabase, text: string, params: unknown[]): Promise<Record<string, string>[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}
