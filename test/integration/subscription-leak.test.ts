import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, DepositStatusChangedDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { SECRETS, startTestApp, uniqueName, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';
import { connectWs, type WsConnection } from '../utils/ws-client.js';

const CYCLES = 1000;
const BATCH = 50;
const CONNECTIONS = 5;

describe('subscribing and unsubscribing many times leaves nothing behind', () => {
  let t: TestApp;
  const deposits: { id: string; clientToken: string }[] = [];
  let userId: string;
  const open: WsConnection[] = [];

  /** Redis channels of this file's prefix that the server has subscribers for. */
  const redisChannels = async () => ((await t.redis.pubsub('CHANNELS', `${t.prefix}*`)) as string[]).length;
  const counts = async () => ({
    iterators: t.app.statusStream!.openCount(),
    busChannels: t.app.bus.channelCount(),
    redisChannels: await redisChannels(),
  });
  const baseline = { iterators: 0, busChannels: 0, redisChannels: 0 };

  /** Polls until the counts are back where they started; fails naming what is still held. */
  async function expectBackToBaseline() {
    const until = Date.now() + 15_000;
    let now = await counts();
    while (JSON.stringify(now) !== JSON.stringify(baseline) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 25));
      now = await counts();
    }
    expect(now).toEqual(baseline);
  }

  async function waitForIterators(n: number) {
    const until = Date.now() + 15_000;
    while (t.app.statusStream!.openCount() < n) {
      if (Date.now() > until) throw new Error(`only ${t.app.statusStream!.openCount()} of ${n} subscriptions opened`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  const connect = (params: Record<string, unknown>) => {
    const c = connectWs(t.gatewayUrl, params);
    open.push(c);
    return c;
  };

  /** The i-th subscription of a run: tenant-wide, one user, or one deposit (by API key or by its client token). */
  function variablesFor(i: number): { conn: 'api' | 'client'; vars: Record<string, string> } {
    const d = deposits[i % deposits.length];
    switch (i % 4) {
      case 0:
        return { conn: 'api', vars: {} };
      case 1:
        return { conn: 'api', vars: { userId } };
      case 2:
        return { conn: 'api', vars: { depositId: d.id } };
      default:
        return { conn: 'client', vars: { depositId: d.id } };
    }
  }

  beforeAll(async () => {
    t = await startTestApp();
    userId = uniqueName('leak');
    for (let i = 0; i < 10; i++) {
      const r = await t.gql(CreateDepositDocument, {
        input: { userId, currency: 'ETH', amount: '0.20', provider: 'layer1' },
      });
      deposits.push({ id: r.data!.createDeposit.deposit.id, clientToken: r.data!.createDeposit.clientToken });
    }
    expect(await counts()).toEqual(baseline);
  });

  afterAll(async () => {
    await Promise.all(open.splice(0).map((c) => c.dispose()));
    await t?.stop();
  });

  it('returns Redis channels and open iterators to where they started after 1,000 subscribe/unsubscribe cycles', async () => {
    const apiConns = Array.from({ length: CONNECTIONS }, () => connect({ apiKey: t.apiKey }));
    const clientConns = deposits.map((d) => connect({ clientToken: d.clientToken }));
    await Promise.all([...apiConns, ...clientConns].map((c) => c.connected));
    let peak = 0;

    for (let start = 0; start < CYCLES; start += BATCH) {
      const subs = Array.from({ length: BATCH }, (_, k) => {
        const i = start + k;
        const { conn, vars } = variablesFor(i);
        const c = conn === 'api' ? apiConns[i % CONNECTIONS] : clientConns[i % deposits.length];
        return c.subscribe(DepositStatusChangedDocument, vars);
      });
      // Every other batch is cancelled as soon as its frames are out, while the server is still setting it up.
      if ((start / BATCH) % 2 === 1) {
        await waitForIterators(BATCH);
        peak = Math.max(peak, t.app.statusStream!.openCount());
      } else {
        await new Promise((r) => setTimeout(r, 2));
      }
      for (const s of subs) s.unsubscribe();
    }

    expect(peak).toBeGreaterThanOrEqual(BATCH);
    await expectBackToBaseline();
    expect(apiConns.concat(clientConns).flatMap((c) => c.closes)).toEqual([]);
  }, 60_000);

  it('returns them to where they started after clients drop their sockets without unsubscribing', async () => {
    for (let round = 0; round < 4; round++) {
      const conns = Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0 ? connect({ apiKey: t.apiKey }) : connect({ clientToken: deposits[i].clientToken }),
      );
      await Promise.all(conns.map((c) => c.connected));
      for (let i = 0; i < BATCH; i++) {
        const c = conns[i % conns.length];
        const vars = i % 2 === 1 ? { depositId: deposits[i % conns.length].id } : variablesFor(i).vars;
        c.subscribe(DepositStatusChangedDocument, vars);
      }
      // Half the rounds drop once everything is open, half while subscriptions are still being set up.
      if (round % 2 === 0) await waitForIterators(BATCH);
      else await new Promise((r) => setTimeout(r, 5)); // the subscribe frames are on the wire, not yet all served
      for (const c of conns) c.terminate();
      await Promise.all(conns.map((c) => c.closed));
    }

    await expectBackToBaseline();
  }, 60_000);

  it('still delivers live changes after all that churn', async () => {
    const c = connect({ apiKey: t.apiKey });
    await c.connected;
    const sub = c.subscribe(DepositStatusChangedDocument, { depositId: deposits[0].id });
    await waitForIterators(1);
    const body = fixtureFor('layer1/01-detected.json', deposits[0].id);
    expect(await t.postWebhook('layer1', body, signedHeaders(SECRETS.layer1, body))).toMatchObject({ status: 200 });
    await sub.waitForCount(1);
    expect(sub.events.map((e) => [e.depositStatusChanged.deposit.id, e.depositStatusChanged.status])).toEqual([
      [deposits[0].id, 'DETECTED'],
    ]);
    sub.unsubscribe();
    await expectBackToBaseline();
  });
});
