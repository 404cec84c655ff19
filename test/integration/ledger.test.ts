import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrm, poolOf } from '../../src/db/orm.js';
import { sandbox } from '../../src/providers/sandbox.provider.js';
import { EventApplier } from '../../src/services/apply/event-applier.js';
import {
  CreateDepositDocument,
  DepositDocument,
  LedgerBalancesDocument,
  LedgerEntriesDocument,
  ResolveDepositDocument,
  type ResolutionAction,
} from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { createTestDatabase, eventually, SECRETS, startTestApp, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';

/**
 * The ledger (contract: "The ledger"): every balance change is an entry, a balance is the sum of
 * its entries (Postgres's guarantee, checked here from outside and then attacked directly),
 * `ledgerEntries` pages a user's entries, `Balance.pending` shows money seen but not final.
 */

describe('the ledger', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function create(userId: string, currency: string, amount: string, provider = 'sandbox'): Promise<string> {
    const r = await t.gql(CreateDepositDocument, { input: { userId, currency, amount, provider } });
    expect(r.errors).toBeUndefined();
    return r.data!.createDeposit.deposit.id;
  }

  async function pay(id: string, amount: string, currency: string): Promise<void> {
    const body = JSON.stringify({ eventId: `evt_${randomUUID()}`, depositId: id, amount, currency, status: 'PAID' });
    const r = await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body));
    expect(r.status).toBe(200);
  }

  async function status(id: string): Promise<string> {
    return (await t.gql(DepositDocument, { id })).data!.deposit!.status;
  }

  async function until(id: string, wanted: string): Promise<void> {
    await eventually(async () => (await status(id)) === wanted, 10_000);
  }

  async function resolve(id: string, action: ResolutionAction) {
    return t.gql(ResolveDepositDocument, { id, action, reason: 'test' }, { apiKey: t.operatorKey });
  }

  async function allEntries(userId: string, currency?: string, apiKey = t.apiKey) {
    const out = [];
    let after: string | null | undefined;
    for (;;) {
      const r = await t.gql(LedgerEntriesDocument, { userId, currency, first: 7, after }, { apiKey });
      expect(r.errors).toBeUndefined();
      out.push(...r.data!.ledgerEntries.edges.map((e) => e.node));
      if (!r.data!.ledgerEntries.pageInfo.hasNextPage) return out;
      after = r.data!.ledgerEntries.pageInfo.endCursor;
    }
  }

  async function balances(userId: string) {
    const r = await t.gql(LedgerBalancesDocument, { userId });
    expect(r.errors).toBeUndefined();
    return r.data!.balances;
  }

  /** Exact decimal sum of decimal strings (no floats): scaled to 18 places as bigint. */
  function sum(amounts: string[]): string {
    const SCALE = 10n ** 18n;
    const toUnits = (s: string) => {
      const neg = s.startsWith('-');
      const [i, f = ''] = (neg ? s.slice(1) : s).split('.');
      const v = BigInt(i) * SCALE + BigInt((f + '0'.repeat(18)).slice(0, 18));
      return neg ? -v : v;
    };
    const total = amounts.reduce((a, s) => a + toUnits(s), 0n);
    const neg = total < 0n;
    const abs = neg ? -total : total;
    const frac = (abs % SCALE).toString().padStart(18, '0').replace(/0+$/, '');
    return `${neg ? '-' : ''}${abs / SCALE}${frac ? `.${frac}` : ''}`;
  }

  /** The invariant, read through the API: available = Σ entries, and the entries chain their balanceAfter. */
  async function expectConsistent(userId: string) {
    const bs = await balances(userId);
    const entries = await allEntries(userId);
    const currencies = new Set(entries.map((e) => e.currency));
    for (const currency of currencies) {
      const mine = entries.filter((e) => e.currency === currency).reverse(); // oldest first
      let running = '0';
      for (const e of mine) {
        running = sum([running, e.amount]);
        expect(e.balanceAfter).toBe(running);
      }
      const listed = bs.find((b) => b.currency === currency);
      expect(listed?.available ?? '0').toBe(running);
      expect(mine.at(-1)!.balanceAfter).toBe(running);
    }
    for (const b of bs) if (b.available !== '0') expect(currencies.has(b.currency)).toBe(true);
  }

  it('pages a user’s entries newest first with opaque cursors, per currency, to any tenant key', async () => {
    const userId = `pager-${randomUUID()}`;
    const ids: string[] = [];
    for (const [currency, amount] of [
      ['USD', '1'],
      ['EUR', '2'],
      ['USD', '3'],
      ['USD', '4'],
    ]) {
      const id = await create(userId, currency, amount);
      await pay(id, amount, currency);
      await until(id, 'COMPLETED');
      ids.push(id);
    }
    const all = await allEntries(userId);
    expect(all.map((e) => [e.depositId, e.amount, e.balanceAfter, e.kind])).toEqual([
      [ids[3], '4', '8', 'DEPOSIT'],
      [ids[2], '3', '4', 'DEPOSIT'],
      [ids[1], '2', '2', 'DEPOSIT'],
      [ids[0], '1', '1', 'DEPOSIT'],
    ]);
    expect((await allEntries(userId, 'EUR')).map((e) => e.depositId)).toEqual([ids[1]]);
    // An operator key reads the same.
    expect(await allEntries(userId, undefined, t.operatorKey)).toEqual(all);
    const page = await t.gql(LedgerEntriesDocument, { userId, first: 2 });
    expect(page.data!.ledgerEntries.edges.map((e) => e.node.depositId)).toEqual([ids[3], ids[2]]);
    expect(page.data!.ledgerEntries.pageInfo.hasNextPage).toBe(true);
    expect(page.data!.ledgerEntries.pageInfo.endCursor).not.toContain(ids[2]);
    await expectConsistent(userId);
  });

  it.each([
    ['first 0', { first: 0 }, 'first'],
    ['first 101', { first: 101 }, 'first'],
    ['a cursor it did not give', { after: 'bGVkZ2VyOjE7ZHJvcA' }, 'after'],
    ['a deposit cursor', { after: Buffer.from(`deposit:${randomUUID()}`).toString('base64url') }, 'after'],
  ])('refuses %s with BAD_USER_INPUT', async (_label, vars, field) => {
    const r = await t.gql(LedgerEntriesDocument, { userId: 'x', ...vars });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it("shows no other tenant's entries, even for the same user id", async () => {
    const userId = `shared-${randomUUID()}`;
    const other = await t.app.tenants.create(`ledger-${randomUUID()}`);
    const r = await t.gql(
      CreateDepositDocument,
      { input: { userId, currency: 'USD', amount: '9' } },
      { apiKey: other.apiKey },
    );
    const id = r.data!.createDeposit.deposit.id;
    await pay(id, '9', 'USD');
    await eventually(async () => {
      const d = await t.gql(DepositDocument, { id }, { apiKey: other.apiKey });
      return d.data?.deposit?.status === 'COMPLETED';
    });
    expect(await allEntries(userId)).toEqual([]);
    expect(await balances(userId)).toEqual([]);
    const theirs = await t.gql(LedgerEntriesDocument, { userId }, { apiKey: other.apiKey });
    expect(theirs.data!.ledgerEntries.edges).toHaveLength(1);
    const noKey = await t.gql(LedgerEntriesDocument, { userId }, { apiKey: null });
    expect(noKey.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('gives several credits of one user in one batch increasing, consistent balanceAfter values', async () => {
    const userId = `batch-${randomUUID()}`;
    const amounts = ['0.1', '0.2', '0.3', '1', '2', '3', '5', '8', '13', '21', '34', '55'];
    const ids = await Promise.all(amounts.map((a) => create(userId, 'USD', a)));
    // One transaction at a time: the first payment alone, the eleven that wait for it in one batch.
    const applier = new EventApplier({
      pool: await poolOf(t.app.orm),
      intents: t.app.intents,
      logger: t.app.logger,
      maxInFlight: 1,
    });
    const results = await Promise.all(
      ids.map((id, i) => {
        const body = JSON.stringify({
          eventId: `evt_${id}`,
          depositId: id,
          amount: amounts[i],
          currency: 'USD',
          status: 'PAID',
        });
        return applier.ingest({
          provider: 'sandbox',
          dedupeKey: `batch-${id}`,
          headers: {},
          body,
          event: sandbox.parse(Buffer.from(body)),
        });
      }),
    );
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 'accepted'));
    const txns = await t.sql<{ n: number }>(
      'select count(distinct xmin::text)::int as n from ledger_entry where user_id = $1',
      [userId],
    );
    expect(txns[0].n).toBe(2);
    const entries = (await allEntries(userId)).reverse();
    expect(entries).toHaveLength(amounts.length);
    // In the order the payments were given within the batch, each balanceAfter the one before plus its amount.
    expect(entries.map((e) => e.amount)).toEqual(amounts);
    expect(entries.at(-1)!.balanceAfter).toBe(sum(amounts));
    await expectConsistent(userId);
  });

  it('shows pending money while a deposit is seen, and moves it to available in the transaction that completes it', async () => {
    const userId = `pending-${randomUUID()}`;
    const id = await create(userId, 'ETH', '0.20', 'layer1');
    const send = async (fixture: string) => {
      const body = fixtureFor(fixture, id);
      const r = await t.postWebhook('layer1', body, signedHeaders(SECRETS.layer1, body));
      expect(r.status).toBe(200);
    };
    expect(await balances(userId)).toEqual([]);
    await send('layer1/01-detected.json');
    await until(id, 'DETECTED');
    expect(await balances(userId)).toEqual([{ userId, currency: 'ETH', available: '0', pending: '0.2' }]);
    await send('layer1/04-screening-requested.json');
    await until(id, 'SCREENING');
    expect(await balances(userId)).toEqual([{ userId, currency: 'ETH', available: '0', pending: '0.2' }]);

    // Readers all through the completion: never both, never neither.
    let reading = true;
    const seen: string[] = [];
    const reader = (async () => {
      while (reading) {
        const [b] = await balances(userId);
        seen.push(`${b.available}+${b.pending}`);
      }
    })();
    await send('layer1/05-success.json');
    await until(id, 'COMPLETED');
    reading = false;
    await reader;
    expect(seen.length).toBeGreaterThan(1);
    for (const s of seen) expect(['0+0.2', '0.2+0']).toContain(s);
    expect(await balances(userId)).toEqual([{ userId, currency: 'ETH', available: '0.2', pending: '0' }]);
  });

  it('keeps balance = Σ entries and a consistent chain after any mix of credits, resolutions and reversals', async () => {
    const users = ['prop-a', 'prop-b', 'prop-c'].map((u) => `${u}-${randomUUID()}`);
    const op = fc.record({
      kind: fc.constantFrom('credit', 'manual-credit', 'refund', 'reverse'),
      user: fc.integer({ min: 0, max: users.length - 1 }),
      currency: fc.constantFrom('USD', 'EUR'),
      amount: fc.constantFrom('25', '0.1', '1234.5678', '0.000000000000000001', '7.77'),
    });
    const completed: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
        async (rounds) => {
          for (const round of rounds) {
            // Each round's operations at once, so credits and resolutions of one user race.
            await Promise.all(
              round.map(async ({ kind, user, currency, amount }) => {
                const userId = users[user];
                if (kind === 'reverse') {
                  const id = completed.shift();
                  if (id) {
                    const r = await resolve(id, 'REVERSE');
                    expect(r.errors).toBeUndefined();
                  }
                  return;
                }
                const id = await create(userId, currency, kind === 'credit' ? amount : '5000');
                await pay(id, amount, currency);
                if (kind === 'credit') {
                  await until(id, 'COMPLETED');
                  completed.push(id);
                  return;
                }
                await until(id, 'REJECTED');
                const r = await resolve(id, kind === 'manual-credit' ? 'CREDIT' : 'MARK_REFUNDED');
                expect(r.errors).toBeUndefined();
              }),
            );
          }
          for (const userId of users) await expectConsistent(userId);
          // And from inside: every balance row equals its entries; the newest entry carries it.
          const broken = await t.sql(
            `select b.user_id, b.currency, b.available, s.total, s.last_after from balance b
           join (select tenant_id, user_id, currency, sum(amount) as total,
                        (array_agg(balance_after order by seq desc))[1] as last_after
                 from ledger_entry group by tenant_id, user_id, currency) s
             using (tenant_id, user_id, currency)
           where b.available <> s.total or b.available <> s.last_after`,
          );
          expect(broken).toEqual([]);
        },
      ),
      { numRuns: 4 },
    );
  });

  describe('what Postgres refuses (the guarantees behind the API)', () => {
    async function completedDeposit() {
      const userId = `guard-${randomUUID()}`;
      const id = await create(userId, 'USD', '10');
      await pay(id, '10', 'USD');
      await until(id, 'COMPLETED');
      const [row] = await t.sql<{ tenant_id: string }>('select tenant_id from deposit where id = $1', [id]);
      return { id, userId, tenantId: row.tenant_id };
    }

    it('refuses any write to balance other than through a ledger entry', async () => {
      const { userId } = await completedDeposit();
      await expect(
        t.sql(`update balance set available = available + 100 where user_id = $1`, [userId]),
      ).rejects.toThrow(/only by inserting into ledger_entry/);
      await expect(
        t.sql(
          `insert into balance (id, tenant_id, user_id, currency, available) select gen_random_uuid(), tenant_id, 'thief', currency, 1000 from balance limit 1`,
        ),
      ).rejects.toThrow(/only by inserting into ledger_entry/);
      await expect(t.sql(`delete from balance where user_id = $1`, [userId])).rejects.toThrow(
        /only by inserting into ledger_entry/,
      );
      expect(await balances(userId)).toMatchObject([{ available: '10' }]);
    });

    it('keeps ledger entries append-only', async () => {
      const { id, userId } = await completedDeposit();
      await expect(t.sql(`update ledger_entry set amount = 1000 where deposit_id = $1`, [id])).rejects.toThrow(
        /append-only/,
      );
      await expect(t.sql(`delete from ledger_entry where deposit_id = $1`, [id])).rejects.toThrow(/append-only/);
      await expect(t.sql(`truncate ledger_entry`)).rejects.toThrow(/append-only/);
      expect(await balances(userId)).toMatchObject([{ available: '10' }]);
    });

    it('refuses a second credit or reversal of one deposit, a positive reversal and a negative credit, leaving the balance as it was', async () => {
      const { id, userId, tenantId } = await completedDeposit();
      const insert = (kind: string, amount: string) =>
        t.sql(
          `insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount, kind)
           values (gen_random_uuid(), $1, $2, $3, 'USD', $4, $5)`,
          [id, tenantId, userId, amount, kind],
        );
      await expect(insert('DEPOSIT', '10')).rejects.toThrow(/ledger_entry_one_credit/);
      await expect(insert('MANUAL_CREDIT', '10')).rejects.toThrow(/ledger_entry_one_credit/);
      await expect(insert('REVERSAL', '10')).rejects.toThrow(/ledger_entry_amount_sign/);
      await expect(insert('DEPOSIT', '-10')).rejects.toThrow(/ledger_entry_amount_sign/);
      expect(await balances(userId)).toMatchObject([{ available: '10' }]);
      expect((await resolve(id, 'REVERSE')).errors).toBeUndefined();
      await expect(insert('REVERSAL', '-10')).rejects.toThrow(/ledger_entry_one_reversal/);
      expect(await balances(userId)).toEqual([]);
      await expectConsistent(userId);
    });
  });
});

describe('the migration of existing credits', () => {
  it('turns each credit into a DEPOSIT entry with a running balanceAfter and balances equal to their entries', async () => {
    const db = await createTestDatabase('ledger_migration');
    const orm = await createOrm({
      databaseUrl: db.url,
      poolMax: 2,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5000,
    });
    const client = new pg.Client({ connectionString: db.url });
    try {
      await orm.migrator.up({ to: 'Migration20261126151000_api_key_roles' });
      await client.connect();
      const tenant = randomUUID();
      await client.query(`insert into tenant (id, name) values ($1, 'before')`, [tenant]);
      const credits = [
        ['alice', 'USD', '25', '2026-01-01T00:00:01Z'],
        ['alice', 'USD', '0.5', '2026-01-01T00:00:02Z'],
        ['alice', 'EUR', '3', '2026-01-01T00:00:03Z'],
        ['bob', 'USD', '7', '2026-01-01T00:00:04Z'],
        ['alice', 'USD', '1.25', '2026-01-01T00:00:05Z'],
      ];
      for (const [user, currency, amount, at] of credits) {
        const id = randomUUID();
        await client.query(
          `insert into deposit (id, tenant_id, user_id, provider, currency, amount, status, expires_at)
           values ($1, $2, $3, 'sandbox', $4, $5, 'COMPLETED', now())`,
          [id, tenant, user, currency, amount],
        );
        await client.query(
          `insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount, created_at)
           values (gen_random_uuid(), $1, $2, $3, $4, $5, $6)`,
          [id, tenant, user, currency, amount, at],
        );
      }
      // Balances as the old code kept them (alice's USD one off by a cent: the entries win).
      await client.query(
        `insert into balance (id, tenant_id, user_id, currency, available) values
         (gen_random_uuid(), $1, 'alice', 'USD', 26.76), (gen_random_uuid(), $1, 'alice', 'EUR', 3), (gen_random_uuid(), $1, 'bob', 'USD', 7)`,
        [tenant],
      );
      await orm.migrator.up();
      const entries = await client.query(
        `select user_id, currency, amount::text, balance_after::text, kind from ledger_entry order by seq`,
      );
      expect(entries.rows.map((r) => [r.user_id, r.currency, r.amount, r.balance_after, r.kind])).toEqual([
        ['alice', 'USD', '25.000000000000000000', '25.000000000000000000', 'DEPOSIT'],
        ['alice', 'USD', '0.500000000000000000', '25.500000000000000000', 'DEPOSIT'],
        ['alice', 'EUR', '3.000000000000000000', '3.000000000000000000', 'DEPOSIT'],
        ['bob', 'USD', '7.000000000000000000', '7.000000000000000000', 'DEPOSIT'],
        ['alice', 'USD', '1.250000000000000000', '26.750000000000000000', 'DEPOSIT'],
      ]);
      const bal = await client.query(`select user_id, currency, available::text from balance order by 1, 2`);
      expect(bal.rows.map((r) => [r.user_id, r.currency, r.available])).toEqual([
        ['alice', 'EUR', '3.000000000000000000'],
        ['alice', 'USD', '26.750000000000000000'],
        ['bob', 'USD', '7.000000000000000000'],
      ]);
      // New entries continue the sequence and the chain.
      const [{ id: dep }] = (await client.query(`select id from deposit where user_id = 'bob'`)).rows as {
        id: string;
      }[];
      await client.query(
        `insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount, kind)
         values (gen_random_uuid(), $1, $2, 'bob', 'USD', -7, 'REVERSAL')`,
        [dep, tenant],
      );
      const last = await client.query(
        `select seq::int, balance_after::text from ledger_entry order by seq desc limit 1`,
      );
      expect(last.rows[0]).toEqual({ seq: 6, balance_after: '0.000000000000000000' });
    } finally {
      await client.end().catch(() => undefined);
      await orm.close();
      await db.drop();
    }
  });
});
