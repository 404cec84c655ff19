import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BalancesDocument,
  CreateDepositDocument,
  DepositDocument,
  WalletBalancesDocument,
} from '../generated/graphql.js';
import { fixtureFor, loadFixture } from '../fixtures/index.js';
import { eventually, SECRETS, startTestApp, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';

/**
 * layer1 through the sidecar's HTTP endpoint and GraphQL, on real Postgres and
 * Redis: its five status events in any order, at any concurrency, complete a
 * deposit and credit it exactly once (contract rules 4 and 5).
 */

const STATUS_EVENTS = ['01-detected', '02-unconfirmed', '03-confirmed', '04-screening-requested', '05-success'];
const FIXTURE_ADDRESS = '0xc4b21fb39aaf5fc07d3cd4420bf3ee74a61642e9';

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function shuffled<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe('layer1 webhooks through the sidecar', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.stop();
  });

  async function createDeposit(userId: string): Promise<string> {
    const r = await t.gql(CreateDepositDocument, {
      input: { userId, currency: 'ETH', amount: '0.20', provider: 'layer1' },
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.createDeposit.deposit.checkoutUrl).toBeNull();
    return r.data!.createDeposit.deposit.id;
  }

  /** A status fixture for `depositId`, signed as layer1 would send it (a fresh webhook-id unless given). */
  function signed(fixture: string, depositId: string, id?: string) {
    const body = fixtureFor(`layer1/${fixture}.json`, depositId);
    return { body, headers: signedHeaders(SECRETS.layer1, body, id === undefined ? {} : { id }) };
  }

  async function post(m: { body: string; headers: Record<string, string> }) {
    return t.postWebhook('layer1', m.body, m.headers);
  }

  async function deposit(id: string) {
    const r = await t.gql(DepositDocument, { id });
    expect(r.errors).toBeUndefined();
    return r.data!.deposit!;
  }

  async function completed(id: string) {
    return eventually(async () => {
      const d = await deposit(id);
      return d.status === 'COMPLETED' ? d : undefined;
    });
  }

  async function ledgerRows(depositId: string): Promise<{ amount: string; currency: string }[]> {
    return t.sql('select amount::text as amount, currency from ledger_entry where deposit_id = $1', [depositId]);
  }

  async function balances(userId: string) {
    const r = await t.gql(BalancesDocument, { userId });
    expect(r.errors).toBeUndefined();
    return r.data!.balances.map((b) => ({ currency: b.currency, available: b.available }));
  }

  it('completes with exactly one credit for every one of the 120 orders of the five status events', async () => {
    const orders = permutations(STATUS_EVENTS);
    expect(orders).toHaveLength(120);
    const outcomes: { order: string; answers: string[]; status: string; ledger: number; balances: unknown }[] = [];
    let n = 0;
    for (const chunk of chunks(orders, 6)) {
      await Promise.all(
        chunk.map(async (order) => {
          const userId = `perm-${n++}`;
          const id = await createDeposit(userId);
          const answers: string[] = [];
          for (const fixture of order) {
            const r = await post(signed(fixture, id));
            answers.push(`${r.status} ${r.json.status}`);
          }
          const d = await completed(id).catch(() => undefined);
          outcomes.push({
            order: order.join(' → '),
            answers,
            status: d?.status ?? 'not COMPLETED',
            ledger: (await ledgerRows(id)).length,
            balances: await balances(userId),
          });
        }),
      );
    }
    const wrong = outcomes.filter(
      (o) =>
        o.status !== 'COMPLETED' ||
        o.ledger !== 1 ||
        o.answers.some((a) => a !== '200 accepted') ||
        JSON.stringify(o.balances) !== JSON.stringify([{ currency: 'ETH', available: '0.2' }]),
    );
    expect(outcomes).toHaveLength(120);
    expect(wrong).toEqual([]);
  });

  it('stores one event and credits once when 50 copies of one SUCCESS arrive at once', async () => {
    const id = await createDeposit('fifty-copies');
    const success = signed('05-success', id);
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(success)));

    expect(answers.every((a) => a.status === 200)).toBe(true);
    const tally = answers.reduce<Record<string, number>>((acc, a) => {
      acc[a.json.status] = (acc[a.json.status] ?? 0) + 1;
      return acc;
    }, {});
    expect(tally).toEqual({ accepted: 1, duplicate: 49 });

    const d = await completed(id);
    expect(d.events).toHaveLength(1);
    const stored = await t.sql('select count(*)::int as n from webhook_inbox where dedupe_key = $1', [
      success.headers['webhook-id'],
    ]);
    expect(stored[0].n).toBe(1);
    expect(await ledgerRows(id)).toEqual([{ amount: '0.200000000000000000', currency: 'ETH' }]);
    expect(await balances('fifty-copies')).toEqual([{ currency: 'ETH', available: '0.2' }]);
  });

  it('completes with one credit when the five events arrive all at once, ten copies of each', async () => {
    const id = await createDeposit('ten-copies-each');
    const messages = STATUS_EVENTS.map((f) => signed(f, id));
    const requests = shuffled(messages.flatMap((m) => Array.from({ length: 10 }, () => m)));
    const answers = await Promise.all(requests.map(post));

    expect(answers.filter((a) => a.status === 200 && a.json.status === 'accepted')).toHaveLength(5);
    expect(answers.filter((a) => a.status === 200 && a.json.status === 'duplicate')).toHaveLength(45);
    const d = await completed(id);
    expect(d.paymentState).toBe('CORRECT');
    expect(d.receivedAmount).toBe('0.2');
    expect(d.events).toHaveLength(5);
    expect(await ledgerRows(id)).toHaveLength(1);
    expect(await balances('ten-copies-each')).toEqual([{ currency: 'ETH', available: '0.2' }]);
  });

  it('keeps one timeline entry per distinct event, oldest first, whatever the delivery order', async () => {
    const id = await createDeposit('timeline');
    const messages = STATUS_EVENTS.map((f) => signed(f, id));
    // Newest first, and each one twice (the provider's retry keeps its webhook-id).
    for (const m of [...messages].reverse()) {
      expect((await post(m)).json).toEqual({ status: 'accepted' });
      expect((await post(m)).json).toEqual({ status: 'duplicate' });
    }

    const d = await completed(id);
    expect(
      d.events.map((e) => ({
        status: e.status,
        providerStatus: e.providerStatus,
        occurredAt: e.occurredAt,
        amount: e.amount,
        currency: e.currency,
      })),
    ).toEqual(
      [
        ['DETECTED', 'DETECTED', '2024-06-05T20:39:19.602Z'],
        ['CONFIRMING', 'UNCONFIRMED', '2024-06-05T20:39:26.724Z'],
        ['CONFIRMED', 'CONFIRMED', '2024-06-05T20:40:16.893Z'],
        ['SCREENING', 'SCREENING_REQUESTED', '2024-06-05T20:40:17.112Z'],
        ['COMPLETED', 'SUCCESS', '2024-06-05T20:40:31.419Z'],
      ].map(([status, providerStatus, occurredAt]) => ({
        status,
        providerStatus,
        occurredAt,
        amount: '0.2',
        currency: 'ETH',
      })),
    );
    expect(new Set(d.events.map((e) => e.id)).size).toBe(5);
    const hash = '0x8d49dad00612517e5fdf9ca896c4aded5a46c30226cd44f4f0c26b4c65ae63fe';
    expect(d.events.every((e) => e.txHash === hash && e.network === 'ETHEREUM')).toBe(true);
    expect(d.events.map((e) => e.fee)).toEqual([null, ...Array(4).fill('0.000234653675781')]);
    expect(await ledgerRows(id)).toHaveLength(1);
  });

  describe('balance:updated', () => {
    async function walletBalance(address: string) {
      const r = await t.gql(WalletBalancesDocument, { provider: 'layer1' });
      expect(r.errors).toBeUndefined();
      return r.data!.walletBalances.find((w) => w.address === address);
    }

    async function deliverBalances(address: string, order: string[]) {
      for (const name of order) {
        const body = loadFixture(`layer1/${name}.json`).replaceAll(FIXTURE_ADDRESS, address);
        expect(await t.postWebhook('layer1', body, signedHeaders(SECRETS.layer1, body))).toEqual({
          status: 200,
          json: { status: 'accepted' },
        });
      }
    }

    const newest = {
      provider: 'layer1',
      asset: 'ETH',
      available: '0.2',
      blockchain: '0.2',
      reserved: '0',
      updatedAt: '2024-06-05T20:40:31.395Z',
    };

    it('fills walletBalances with the newer of the two reports when they arrive in order', async () => {
      await deliverBalances(FIXTURE_ADDRESS, ['balance-1', 'balance-2']);
      expect(await walletBalance(FIXTURE_ADDRESS)).toEqual({ ...newest, address: FIXTURE_ADDRESS });
    });

    it('keeps the newer report when the older one arrives last', async () => {
      const address = '0x1111111111111111111111111111111111111111';
      await deliverBalances(address, ['balance-2']);
      expect(await walletBalance(address)).toEqual({ ...newest, address });
      await deliverBalances(address, ['balance-1']);
      expect(await walletBalance(address)).toEqual({ ...newest, address });
    });
  });

  it.each(['WITHDRAWAL', 'CONSOLIDATION'])(
    'stores and acknowledges a %s status-change but changes nothing',
    async (type) => {
      const id = await createDeposit(`other-type-${type}`);
      const body = fixtureFor('layer1/05-success.json', id).replace('"type": "DEPOSIT"', `"type": "${type}"`);
      expect(body).toContain(`"type": "${type}"`);
      const headers = signedHeaders(SECRETS.layer1, body);
      expect(await t.postWebhook('layer1', body, headers)).toEqual({ status: 200, json: { status: 'accepted' } });

      const [row] = await eventually(async () => {
        const rows = await t.sql('select outcome, deposit_id from webhook_inbox where dedupe_key = $1', [
          headers['webhook-id'],
        ]);
        return rows[0]?.outcome ? rows : undefined;
      });
      expect(row).toEqual({ outcome: 'unsupported', deposit_id: null });
      const d = await deposit(id);
      expect(d.status).toBe('PENDING');
      expect(d.receivedAmount).toBeNull();
      expect(d.events).toEqual([]);
      expect(await ledgerRows(id)).toEqual([]);
      expect(await t.sql('select id from outbox where deposit_id = $1', [id])).toEqual([]);
      // Not a notification for this deposit: its intent is still waiting in Redis.
      expect(await t.redis.exists(`${t.prefix}intent:${id}`)).toBe(1);
    },
  );
});
