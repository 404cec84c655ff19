import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DepositStatusChangedDocument, type DepositStatusChangedSubscription } from '../generated/graphql.js';
import { LAYER1_FLOW } from '../fixtures/index.js';
import { createTestDatabase, dropRedisPrefix, TEST_API_KEY, uniqueName, type TestDatabase } from '../utils/harness.js';
import { type AppProcess, createLayer1DepositAt, postLayer1At, spawnApp, waitForValue } from '../utils/processes.js';
import { connectWs, type EventCollector, type WsConnection } from '../utils/ws-client.js';

type Collector = EventCollector<DepositStatusChangedSubscription>;

const seen = (c: Collector, depositId: string) =>
  c.events.map((e) => e.depositStatusChanged).filter((ch) => ch.deposit.id === depositId);
const hasStatus = (depositId: string, status: string) => (c: Collector) =>
  seen(c, depositId).some((ch) => ch.status === status);

describe('a sidecar and two gateways as separate processes on one database and one Redis prefix', () => {
  let db: TestDatabase;
  const prefix = `test:${uniqueName('multi')}:`;
  const procs: AppProcess[] = [];
  let sidecar: AppProcess;
  let gateway1: AppProcess;
  let gateway2: AppProcess;
  const open: WsConnection[] = [];
  let gateway2Stopped = false;

  beforeAll(async () => {
    db = await createTestDatabase('multi_process');
    // All three start at once: migrations and the bootstrap tenant must cope with that.
    const started = await Promise.allSettled([
      spawnApp('webhooks', { database: db, prefix }),
      spawnApp('gateway', { database: db, prefix }),
      spawnApp('gateway', { database: db, prefix }),
    ]);
    for (const s of started) if (s.status === 'fulfilled') procs.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    [sidecar, gateway1, gateway2] = procs;
  }, 90_000);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.dispose()));
    if (!gateway2Stopped) {
      await waitForValue(() => gateway2.metric('graphql_subscriptions_open'), 0, 10_000, 'open subscriptions');
    }
  });

  afterAll(async () => {
    await Promise.all(open.splice(0).map((c) => c.dispose()));
    await Promise.all(procs.map((p) => p.stop()));
    await db?.drop();
    await dropRedisPrefix(prefix);
  }, 60_000);

  const createLayer1Deposit = (gateway: AppProcess, userId: string) =>
    createLayer1DepositAt(gateway.gatewayUrl, userId);

  const postLayer1 = (depositId: string, fixture: string) => postLayer1At(sidecar.webhookUrl, depositId, fixture);

  async function subscribeOn(gateway: AppProcess, params: Record<string, unknown>, vars: Record<string, string>) {
    const conn = connectWs(gateway.gatewayUrl, params);
    open.push(conn);
    await conn.connected;
    const sub = conn.subscribe(DepositStatusChangedDocument, vars);
    // Live from here on: the gateway counts a subscription once its starting point is fixed.
    await waitForValue(() => gateway.metric('graphql_subscriptions_open'), 1, 10_000, 'open subscriptions');
    return sub;
  }

  it('shows a subscriber on gateway 2 all five layer1 statuses in order for webhooks posted to the sidecar', async () => {
    const userId = uniqueName('alice');
    const sub = await subscribeOn(gateway2, { apiKey: TEST_API_KEY }, { userId });
    const { id } = await createLayer1Deposit(gateway1, userId);
    for (const [fixture] of LAYER1_FLOW) await postLayer1(id, fixture);

    // A later change of another deposit of the user: once it is in, anything still due for the first one is too.
    const other = await createLayer1Deposit(gateway1, userId);
    await postLayer1(other.id, LAYER1_FLOW[0][0]);
    await sub.waitUntil(hasStatus(other.id, 'DETECTED'), 30_000);

    expect(sub.errors).toEqual([]);
    expect(seen(sub, id).map((ch) => [ch.previousStatus, ch.status])).toEqual([
      ['PENDING', 'DETECTED'],
      ['DETECTED', 'CONFIRMING'],
      ['CONFIRMING', 'CONFIRMED'],
      ['CONFIRMED', 'SCREENING'],
      ['SCREENING', 'COMPLETED'],
    ]);
    expect(seen(sub, id).at(-1)!.deposit).toMatchObject({ status: 'COMPLETED', receivedAmount: '0.2' });
  });

  it('accepts on gateway 2 the client token that createDeposit returned on gateway 1', async () => {
    const { id, clientToken } = await createLayer1Deposit(gateway1, uniqueName('bob'));
    const sub = await subscribeOn(gateway2, { clientToken }, { depositId: id });
    await postLayer1(id, LAYER1_FLOW[0][0]);
    await postLayer1(id, LAYER1_FLOW[1][0]);

    await sub.waitUntil(hasStatus(id, 'CONFIRMING'), 30_000);
    expect(sub.errors).toEqual([]);
    expect(seen(sub, id).map((ch) => ch.status)).toEqual(['DETECTED', 'CONFIRMING']);
  });

  it('closes its sockets with 1001 and exits 0 when a gateway gets SIGTERM, while the other keeps serving', async () => {
    const conn = connectWs(gateway2.gatewayUrl, { apiKey: TEST_API_KEY });
    open.push(conn);
    await conn.connected;
    conn.subscribe(DepositStatusChangedDocument, { userId: uniqueName('carol') });
    gateway2Stopped = true;
    const code = await gateway2.stop();
    expect(code).toBe(0);
    expect((await conn.closed).code).toBe(1001);
    const { id } = await createLayer1Deposit(gateway1, uniqueName('dave'));
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
