import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDepositDocument,
  DepositStatusChangedDocument,
  type DepositStatusChangedSubscription,
} from '../generated/graphql.js';
import { fixtureFor, LAYER1_FLOW } from '../fixtures/index.js';
import {
  createTestDatabase,
  dropRedisPrefix,
  SECRETS,
  TEST_API_KEY,
  TEST_OPERATOR_KEY,
  uniqueName,
  type TestDatabase,
} from '../utils/harness.js';
import {
  type AppProcess,
  createLayer1DepositAt,
  gqlAt,
  postWebhookTo,
  spawnApp,
  waitForValue,
} from '../utils/processes.js';
import { signedHeaders } from '../utils/signing.js';
import { startFakeProviderApi, type FakeProviderApi } from '../utils/fake-provider-api.js';
import { startReceiver, type WebhookReceiver } from '../utils/webhook-receiver.js';
import { connectWs, type EventCollector, type WsConnection } from '../utils/ws-client.js';

/**
 * Scale out (README "Running it at scale"): two sidecars and two gateways as separate processes on
 * one database and one Redis prefix, under load, with the sidecar that leads the outbox relay
 * killed (SIGKILL) mid-run. The sender retries what failed against the other sidecar, as a
 * provider retries. Nothing here is timed: every wait is for a condition, with a deadline.
 */

const DEPOSITS = 200;
/** instap deposits that get no webhook: the automatic sync of the sidecars completes them (the fake API says COMPLETED). */
const SYNCED = 64;
const USERS = 8;
/** Deposits being walked through their five events at once (each event posted after the previous one answered). */
const SENDERS = 16;
/** Posted events after which the kill may come, and after which the senders wait for it (so it is mid-run). */
const KILL_FROM = 0.3;
const KILL_BY = 0.7;
/**
 * Deadlines of the waits (none is an assertion on time): generous, because other test files and
 * benches share this machine's two cores and a loaded process can take a minute to start.
 */
const READY_MS = 180_000;
const WAIT_MS = 120_000;

type Collector = EventCollector<DepositStatusChangedSubscription>;
/** A deposit of the run and the status changes it must go through, in order. */
type Made = { id: string; userId: string; statuses: readonly string[] };

const LAYER1_STATUSES = LAYER1_FLOW.map(([, status]) => status);
/** What the sync does to a PENDING instap deposit the provider reports paid in full. */
const SYNC_STATUSES = ['COMPLETED'];

const baseEnv = {
  BOOTSTRAP_OPERATOR_KEY: TEST_OPERATOR_KEY,
  OUTBOUND_ALLOW_PRIVATE_URLS: 'true',
  // The contract's 15 s (a shorter one fails attempts to a receiver slowed down by a loaded machine):
  // a claim is leased for twice this, so what the killed sidecar had claimed is sent again 30 s later.
  WEBHOOK_TIMEOUT_MS: '15000',
  // An attempt that failed (a receiver slowed down by a loaded machine) is tried again a second later, not in minutes.
  WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1',
  WEBHOOK_DISPATCH_POLL_MS: '100',
  DB_POOL_MAX: '6',
  // The automatic sync: an instap deposit is due one second after it was made. A claim is leased
  // for 5 x PROVIDER_TIMEOUT_MS + 30 s: what the killed sidecar had claimed is synced again after 45 s.
  SYNC_AFTER_SECONDS: '1',
  PROVIDER_TIMEOUT_MS: '3000',
  INSTAP_API_KEY: 'instap-api-key-for-tests',
  INSTAP_HMAC_SECRET: 'instap-hmac-for-tests',
};

describe('two sidecars and two gateways on one database, one sidecar killed under load', () => {
  let db: TestDatabase;
  let sql: pg.Pool;
  const prefix = `test:${uniqueName('scale')}:`;
  const procs: AppProcess[] = [];
  const open: WsConnection[] = [];
  let receiver: WebhookReceiver;
  let api: FakeProviderApi;
  let sidecarA: AppProcess;
  let sidecarB: AppProcess;
  let gateways: AppProcess[];

  /** The backend holding the relay's leader lock (a session advisory lock on the relay's own connection). */
  const relayLeaders = async () =>
    (
      await sql.query<{ pid: number }>(
        `select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where l.locktype = 'advisory' and l.granted and a.datname = current_database()
           and a.application_name = 'deposit-gateway:outbox-relay'`,
      )
    ).rows.map((r) => r.pid);

  beforeAll(async () => {
    db = await createTestDatabase('scale_out');
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    // The receiver answers after a few ms, so the killed sidecar has deliveries in flight when it dies.
    receiver = await startReceiver(() => ({ status: 200, delayMs: 5 }));
    // The provider's status API answers after 100 ms: syncs are in flight for a while, in both sidecars.
    api = await startFakeProviderApi();
    api.everyStatus = { body: { sessionState: 'COMPLETED', paidAmount: '25', paidCurrency: 'USD' }, delayMs: 100 };
    const env = { ...baseEnv, INSTAP_API_URL: api.url };
    // Sidecar A first, alone: it takes the relay's leader lock, so the kill below hits the leader.
    sidecarA = await spawnApp('webhooks', { database: db, prefix, env, readyTimeoutMs: READY_MS });
    procs.push(sidecarA);
    await waitForValue(async () => (await relayLeaders()).length, 1, 15_000, 'relay leaders');
    const started = await Promise.allSettled([
      spawnApp('webhooks', { database: db, prefix, env, readyTimeoutMs: READY_MS }),
      spawnApp('gateway', { database: db, prefix, env, readyTimeoutMs: READY_MS }),
      spawnApp('gateway', { database: db, prefix, env, readyTimeoutMs: READY_MS }),
    ]);
    for (const s of started) if (s.status === 'fulfilled') procs.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    [, sidecarB, ...gateways] = procs;
  }, 400_000);

  afterAll(async () => {
    await Promise.all(open.splice(0).map((c) => c.dispose()));
    await Promise.all(procs.map((p) => p.stop()));
    await receiver?.close();
    await api?.close();
    await sql?.end();
    await db?.drop();
    await dropRedisPrefix(prefix);
  }, 60_000);

  /** Registers the receiver as the tenant's one merchant webhook endpoint (an operator's mutation). */
  async function createEndpoint(gateway: AppProcess): Promise<string> {
    const res = await fetch(`${gateway.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_OPERATOR_KEY },
      body: JSON.stringify({
        query: `mutation($url: String!) { createWebhookEndpoint(url: $url) { endpoint { id } } }`,
        variables: { url: receiver.url },
      }),
    });
    const json = (await res.json()) as {
      data?: { createWebhookEndpoint: { endpoint: { id: string } } };
      errors?: unknown;
    };
    if (!json.data) throw new Error(`createWebhookEndpoint failed: ${JSON.stringify(json.errors)}`);
    return json.data.createWebhookEndpoint.endpoint.id;
  }

  async function subscribeUser(gateway: AppProcess, userId: string, expectOpen: number): Promise<Collector> {
    const conn = connectWs(gateway.gatewayUrl, { apiKey: TEST_API_KEY });
    open.push(conn);
    await conn.connected;
    const sub = conn.subscribe(DepositStatusChangedDocument, { userId });
    await waitForValue(() => gateway.metric('graphql_subscriptions_open'), expectOpen, 10_000, 'open subscriptions');
    return sub;
  }

  /** An instap deposit; PROVIDER_UNAVAILABLE (the fake API too slow on a loaded machine) is retried, as a client would. */
  async function createInstapDeposit(gateway: AppProcess, userId: string): Promise<string> {
    const errors: string[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      const r = await gqlAt(gateway.gatewayUrl, CreateDepositDocument, {
        input: { userId, currency: 'USD', amount: '25', provider: 'instap' },
      });
      if (!r.errors) return r.data!.createDeposit.deposit.id;
      errors.push(JSON.stringify(r.errors));
      if (r.errors.some((e) => e.extensions?.code !== 'PROVIDER_UNAVAILABLE')) break;
    }
    throw new Error(`createDeposit (instap) failed: ${errors.join('; ')}`);
  }

  it('loses no change, doubles no change or credit, and shares the background work when a sidecar dies mid-run', async () => {
    await createEndpoint(gateways[0]);

    // Subscribers on both gateways: user i watches its deposits on gateway i % 2.
    const users = Array.from({ length: USERS }, (_, i) => uniqueName(`user${i}`));
    const subs: Collector[] = [];
    for (let i = 0; i < USERS; i++) {
      subs.push(await subscribeUser(gateways[i % 2], users[i], Math.floor(i / 2) + 1));
    }

    // Deposits made on both gateways.
    const deposits: Made[] = [];
    for (let k = 0; k < DEPOSITS; k += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, DEPOSITS - k) }, async (_, j) => {
          const userId = users[(k + j) % USERS];
          const { id } = await createLayer1DepositAt(gateways[(k + j) % 2].gatewayUrl, userId);
          return { id, userId, statuses: LAYER1_STATUSES };
        }),
      );
      deposits.push(...batch);
    }

    // The load: each deposit's five events in order, round-robin over the sidecars; a failed post is
    // retried on the next sidecar (a dead one refuses the connection), as a provider retries.
    const sidecars = [sidecarA, sidecarB];
    const total = DEPOSITS * LAYER1_FLOW.length;
    let posted = 0;
    let turn = 0;
    const answers: Record<string, number> = {};
    let killed: (() => void) | undefined;
    const killDone = new Promise<void>((resolve) => (killed = resolve));
    const post = async (depositId: string, fixture: string) => {
      const body = fixtureFor(fixture, depositId);
      const headers = signedHeaders(SECRETS.layer1, body);
      const errors: string[] = [];
      for (let attempt = 0; attempt < 20; attempt++) {
        const target = sidecars[turn++ % sidecars.length];
        try {
          const res = await postWebhookTo(target.webhookUrl, 'layer1', body, headers);
          const status = (res.json as { status?: string }).status;
          // `duplicate`: an earlier attempt was stored before its sidecar died, unanswered.
          if (res.status === 200 && (status === 'accepted' || status === 'duplicate')) {
            answers[status] = (answers[status] ?? 0) + 1;
            return;
          }
          errors.push(`${res.status} ${JSON.stringify(res.json)}`);
        } catch (err) {
          errors.push((err as Error).message);
        }
        answers.retried = (answers.retried ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`webhook for ${depositId} (${fixture}) not accepted after 20 attempts: ${errors.join('; ')}`);
    };
    const queue = [...deposits];
    const sender = async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        for (const [fixture] of LAYER1_FLOW) {
          if (posted >= total * KILL_BY) await killDone;
          await post(d.id, fixture);
          posted++;
        }
      }
    };

    // instap deposits made while the load runs, each completed by the automatic sync of whichever
    // sidecar claims it first (the status API says COMPLETED): no webhook for them.
    const synced: Made[] = [];
    const syncMaker = async () => {
      for (let j = 0; j < SYNCED; j++) {
        const userId = users[j % USERS];
        const id = await createInstapDeposit(gateways[j % 2], userId);
        synced.push({ id, userId, statuses: SYNC_STATUSES });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    // The kill: once the run is under way and both sidecars have delivered merchant webhooks and
    // synced deposits (each claims its share of both queues).
    const sentBefore = { a: 0, b: 0 };
    const syncedBefore = { a: 0, b: 0 };
    let killAt = 0;
    const killer = async () => {
      const until = Date.now() + WAIT_MS;
      for (;;) {
        if (posted >= total * KILL_FROM) {
          sentBefore.a = await sidecarA.metricSum('merchant_webhook_deliveries_total', { outcome: 'succeeded' });
          sentBefore.b = await sidecarB.metricSum('merchant_webhook_deliveries_total', { outcome: 'succeeded' });
          syncedBefore.a = await sidecarA.metricSum('provider_sync_total', { provider: 'instap' });
          syncedBefore.b = await sidecarB.metricSum('provider_sync_total', { provider: 'instap' });
          if (sentBefore.a > 0 && sentBefore.b > 0 && syncedBefore.a > 0 && syncedBefore.b > 0) break;
        }
        if (Date.now() > until) {
          throw new Error(
            `no kill within ${WAIT_MS / 1000} s: ${posted}/${total} posted, deliveries A ${sentBefore.a} B ${sentBefore.b}, ` +
              `syncs A ${syncedBefore.a} B ${syncedBefore.b}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      killAt = Date.now();
      await sidecarA.kill();
      killed!();
    };
    await Promise.all([killer(), syncMaker(), ...Array.from({ length: SENDERS }, sender)]);
    expect(posted).toBe(total);
    expect(sentBefore.a).toBeGreaterThan(0);
    expect(sentBefore.b).toBeGreaterThan(0);
    expect(syncedBefore.a).toBeGreaterThan(0);
    expect(syncedBefore.b).toBeGreaterThan(0);
    const all = [...deposits, ...synced];

    // Every deposit reached its final status.
    const ids = all.map((d) => d.id);
    await waitForValue(
      async () =>
        (
          await sql.query<{ n: number }>(
            `select count(*)::int as n from deposit where id = any($1) and status = 'COMPLETED'`,
            [ids],
          )
        ).rows[0].n,
      DEPOSITS + SYNCED,
      // A sync the killed sidecar had claimed is taken again when its lease (45 s) runs out.
      WAIT_MS + 45_000,
      'completed deposits',
    );

    // The survivor took over the relay: one leader, alive, and every change published.
    await waitForValue(
      async () =>
        (await sql.query<{ n: number }>('select count(*)::int as n from outbox where published_at is null')).rows[0].n,
      0,
      WAIT_MS,
      'unpublished changes',
    );
    expect(await relayLeaders()).toHaveLength(1);

    // Each change written once: five per layer1 deposit, one per synced one, no (deposit, status) twice.
    const outbox = (
      await sql.query<{ id: string; deposit_id: string; status: string }>(
        'select id, deposit_id, status from outbox order by id',
      )
    ).rows;
    const changeKey = (depositId: string, status: string) => `${depositId} ${status}`;
    const expectedChanges = all.flatMap((d) => d.statuses.map((status) => changeKey(d.id, status))).sort();
    expect(outbox.map((o) => changeKey(o.deposit_id, o.status)).sort()).toEqual(expectedChanges);

    // Each change reached its subscriber exactly once: the multiset received equals the one expected.
    const expectedFor = (userId: string) =>
      all
        .filter((d) => d.userId === userId)
        .flatMap((d) => d.statuses.map((status) => changeKey(d.id, status)))
        .sort();
    const receivedBy = (c: Collector) =>
      c.events.map((e) => changeKey(e.depositStatusChanged.deposit.id, e.depositStatusChanged.status)).sort();
    for (let i = 0; i < USERS; i++) {
      const want = expectedFor(users[i]).length;
      await subs[i].waitUntil((c) => c.events.length >= want, WAIT_MS, `${want} changes for ${users[i]}`);
    }
    // A late duplicate would arrive after the counts were reached: one more change per gateway, published
    // after all the others, flushes whatever was still on its way there.
    const markers: string[] = [];
    for (const i of [0, 1]) {
      const marker = await createLayer1DepositAt(gateways[i].gatewayUrl, users[i]);
      markers.push(marker.id);
      await post(marker.id, LAYER1_FLOW[0][0]);
      await subs[i].waitUntil(
        (c) => c.events.some((e) => e.depositStatusChanged.deposit.id === marker.id),
        WAIT_MS,
        `the marker change on gateway ${i + 1}`,
      );
    }
    for (let i = 0; i < USERS; i++) {
      expect(subs[i].errors).toEqual([]);
      const got = receivedBy(subs[i]).filter((k) => !markers.some((m) => k.startsWith(m)));
      expect(got).toEqual(expectedFor(users[i]));
    }

    // Each deposit credited once, and each balance is the sum of its user's credits (0.2 ETH each).
    const credits = (
      await sql.query<{ deposit_id: string; n: number }>(
        `select deposit_id, count(*)::int as n from ledger_entry where deposit_id = any($1) group by deposit_id`,
        [ids],
      )
    ).rows;
    expect(credits).toHaveLength(DEPOSITS + SYNCED);
    expect(credits.filter((c) => c.n !== 1)).toEqual([]);
    const balances = (
      await sql.query<{ user_id: string; currency: string; right: boolean }>(
        `select user_id, currency,
           available = case currency when 'ETH' then 0.20 * $2::int when 'USD' then 25 * $3::int end as right
         from balance where user_id = any($1) order by user_id, currency`,
        [users, DEPOSITS / USERS, SYNCED / USERS],
      )
    ).rows;
    expect(balances).toEqual(
      [...users].sort().flatMap((u) => ['ETH', 'USD'].map((currency) => ({ user_id: u, currency, right: true }))),
    );

    // Merchant webhooks: every change delivered to the endpoint, and every delivery row SUCCEEDED.
    const allChanges = (await sql.query<{ id: string }>('select id from outbox')).rows.map((r) => `evt_${r.id}`);
    await waitForValue(
      async () =>
        (await sql.query<{ n: number }>(`select count(*)::int as n from webhook_delivery where status <> 'SUCCEEDED'`))
          .rows[0].n,
      0,
      WAIT_MS,
      'deliveries not yet succeeded',
    );
    expect((await sql.query<{ n: number }>('select count(*)::int as n from webhook_delivery')).rows[0].n).toBe(
      allChanges.length,
    );
    const byId = new Map<string, number[]>();
    for (const r of receiver.received) {
      const id = r.headers['webhook-id'];
      byId.set(id, [...(byId.get(id) ?? []), r.at]);
    }
    expect([...byId.keys()].sort()).toEqual([...allChanges].sort());
    // At least once, by design, so a webhook-id may arrive twice, in two ways, and only these:
    // - an attempt that failed after the receiver got the request (no answer within the timeout on a
    //   loaded machine) is tried again: each copy is an attempt the delivery row counts;
    // - a delivery the killed sidecar had sent, but whose success it had not yet written (successes
    //   are written in batches every 20 ms), is sent again by the survivor once its lease runs out,
    //   with the same webhook-id (the merchant dedupes on it): one copy more than the row counts, and
    //   the first copy came before the kill.
    // No copy ever credits anything: the credits above are one per deposit.
    const doubled = [...byId.entries()].filter(([, at]) => at.length > 1);
    const rows = new Map(
      (
        await sql.query<{ id: string; attempts: number; last_response_status: number | null }>(
          `select 'evt_' || outbox_id as id, attempts, last_response_status from webhook_delivery
           where 'evt_' || outbox_id = any($1)`,
          [doubled.map(([id]) => id)],
        )
      ).rows.map((r) => [r.id, r]),
    );
    let redeliveredAfterKill = 0;
    for (const [id, at] of doubled) {
      const row = rows.get(id)!;
      const why = `${id}: copies ${at.map((t) => t - killAt).join(', ')} ms from the kill; ${JSON.stringify(row)}`;
      if (row.attempts >= at.length) continue;
      redeliveredAfterKill++;
      expect(at.length, why).toBe(row.attempts + 1);
      expect(Math.min(...at) < killAt + 1000, why).toBe(true);
    }
    console.log(
      `scale-out: ${total} events posted (${JSON.stringify(answers)}), ${allChanges.length} changes, ` +
        `deliveries before the kill A ${sentBefore.a} B ${sentBefore.b}, syncs A ${syncedBefore.a} B ${syncedBefore.b}, ${doubled.length} webhook-ids received twice, ${redeliveredAfterKill} of them sent by the killed sidecar`,
    );
  }, 900_000);
});
