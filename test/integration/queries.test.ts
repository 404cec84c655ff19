import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureFor } from '../fixtures/index.js';
import {
  BalancesDocument,
  CreateDepositDocument,
  DepositDocument,
  DepositsDocument,
  UserVerificationDocument,
  WalletBalancesDocument,
  type DepositsQueryVariables,
} from '../generated/graphql.js';
import { eventually, SECRETS, startTestApp, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';

describe('the deposit queries', () => {
  let t: TestApp;
  /** The ids of the deposits of user `pager`, oldest first. */
  const pagerIds: string[] = [];
  const PAGER_DEPOSITS = 25;

  beforeAll(async () => {
    t = await startTestApp();
    for (let i = 1; i <= PAGER_DEPOSITS; i++) pagerIds.push(await createFor('pager', String(i)));
  });
  afterAll(async () => {
    await t.stop();
  });

  async function createFor(userId: string, amount = '10'): Promise<string> {
    const res = await t.gql(CreateDepositDocument, { input: { userId, currency: 'USD', amount } });
    expect(res.errors).toBeUndefined();
    return res.data!.createDeposit.deposit.id;
  }

  async function page(vars: DepositsQueryVariables) {
    const res = await t.gql(DepositsDocument, vars);
    expect(res.errors).toBeUndefined();
    return res.data!.deposits;
  }

  /** Every page of `vars` followed by `after`, as a client would walk them. */
  async function walk(vars: DepositsQueryVariables): Promise<{ ids: string[]; sizes: number[] }> {
    const ids: string[] = [];
    const sizes: number[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 50; guard++) {
      const p = await page({ ...vars, after });
      ids.push(...p.edges.map((e) => e.node.id));
      sizes.push(p.edges.length);
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
      if (!p.pageInfo.hasNextPage) return { ids, sizes };
      after = p.pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  }

  describe('deposit(id)', () => {
    it('answers a deposit of the tenant with its fields and an empty timeline', async () => {
      const res = await t.gql(DepositDocument, { id: pagerIds[0] });
      expect(res.errors).toBeUndefined();
      expect(res.data!.deposit).toMatchObject({ id: pagerIds[0], userId: 'pager', amount: '1', events: [] });
    });

    it('answers null, without an error, for a UUID that names no deposit', async () => {
      const res = await t.gql(DepositDocument, { id: '7d0c5a4e-0000-4000-8000-000000000000' });
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ deposit: null });
    });

    it.each([['not-a-uuid'], [''], ["' or 1=1 --"], [`${'f'.repeat(36)}`]])(
      'answers null, without an error, for the malformed id %j',
      async (id) => {
        const res = await t.gql(DepositDocument, { id });
        expect(res.errors).toBeUndefined();
        expect(res.data).toEqual({ deposit: null });
      },
    );
  });

  describe('deposits', () => {
    it('lists newest first', async () => {
      const p = await page({ userId: 'pager', first: 100 });
      expect(p.edges.map((e) => e.node.id)).toEqual([...pagerIds].reverse());
      const created = p.edges.map((e) => Date.parse(e.node.createdAt));
      expect(created).toEqual([...created].sort((a, b) => b - a));
      expect(p.pageInfo.hasNextPage).toBe(false);
    });

    it('answers the same order every time', async () => {
      const a = await page({ first: 100 });
      const b = await page({ first: 100 });
      expect(b.edges.map((e) => e.node.id)).toEqual(a.edges.map((e) => e.node.id));
    });

    it('pages by 20 when first is not given', async () => {
      const p = await page({ userId: 'pager' });
      expect(p.edges).toHaveLength(20);
      expect(p.pageInfo.hasNextPage).toBe(true);
    });

    it('walks three pages with cursors with no duplicate and no gap', async () => {
      const { ids, sizes } = await walk({ userId: 'pager', first: 10 });
      expect(sizes).toEqual([10, 10, 5]);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual([...pagerIds].reverse());
    });

    it('ends with hasNextPage false when the last page is exactly full', async () => {
      const { sizes } = await walk({ userId: 'pager', first: 5 });
      expect(sizes).toEqual([5, 5, 5, 5, 5]);
    });

    it('pages without duplicate or gap through deposits created at the same instant', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push(await createFor('same-instant'));
      await t.sql("update deposit set created_at = '2030-01-01T00:00:00Z' where user_id = 'same-instant'");
      const { ids: walked, sizes } = await walk({ userId: 'same-instant', first: 3 });
      expect(sizes).toEqual([3, 3, 1]);
      expect(walked).toEqual([...ids].sort().reverse());
    });

    it('filters by userId', async () => {
      const other = await createFor('filter-user');
      const p = await page({ userId: 'filter-user', first: 100 });
      expect(p.edges.map((e) => e.node.id)).toEqual([other]);
      expect((await page({ userId: 'nobody-at-all' })).edges).toEqual([]);
    });

    it('filters by status, alone and with userId', async () => {
      const paid = await createFor('status-user', '25.00');
      const open = await createFor('status-user', '30');
      const body = fixtureFor('sandbox/paid.json', paid);
      expect((await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body))).status).toBe(200);
      await eventually(async () => (await t.gql(DepositDocument, { id: paid })).data?.deposit?.status === 'COMPLETED');

      const completed = await page({ status: 'COMPLETED', first: 100 });
      expect(completed.edges.map((e) => e.node.id)).toEqual([paid]);
      const pendingOfUser = await page({ userId: 'status-user', status: 'PENDING' });
      expect(pendingOfUser.edges.map((e) => e.node.id)).toEqual([open]);
      const pending = await page({ status: 'PENDING', first: 100 });
      expect(pending.edges.map((e) => e.node.id)).not.toContain(paid);
      expect(pending.edges.every((e) => e.node.status === 'PENDING')).toBe(true);
      expect((await page({ status: 'EXPIRED' })).edges).toEqual([]);
    });

    it.each([
      ['first above 100', { first: 101 }, 'first'],
      ['first of 0', { first: 0 }, 'first'],
      ['a negative first', { first: -1 }, 'first'],
      ['an after that is not a cursor', { after: 'garbage!!' }, 'after'],
      ['an after that encodes no deposit id', { after: Buffer.from('deposit:nope').toString('base64url') }, 'after'],
      ['an after that is a bare UUID', { after: '7d0c5a4e-0000-4000-8000-000000000000' }, 'after'],
    ] as [string, DepositsQueryVariables, string][])(
      'refuses %s with BAD_USER_INPUT naming the field',
      async (_label, vars, field) => {
        const res = await t.gql(DepositsDocument, vars);
        expect(res.data ?? null).toBeNull();
        expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      },
    );

    it('accepts first of exactly 100', async () => {
      const p = await page({ first: 100 });
      expect(p.edges.length).toBeGreaterThan(PAGER_DEPOSITS);
    });
  });

  describe('balances and verification', () => {
    it('answers an empty list of balances for a user it has never seen', async () => {
      const res = await t.gql(BalancesDocument, { userId: 'never-seen' });
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ balances: [] });
    });

    it.each([['layer1'], ['sandbox'], ['no-such-provider']])(
      'answers an empty list of wallet balances for %s when it has reported none',
      async (provider) => {
        const res = await t.gql(WalletBalancesDocument, { provider });
        expect(res.errors).toBeUndefined();
        expect(res.data).toEqual({ walletBalances: [] });
      },
    );

    it('answers UNVERIFIED for a user without any verification', async () => {
      const res = await t.gql(UserVerificationDocument, { userId: 'never-verified' });
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ userVerification: 'UNVERIFIED' });
    });

    it('answers the stored verification status of a user', async () => {
      await t.sql(
        `insert into user_verification (user_id, status, provider_status, occurred_at)
         values ('verified-user', 'VERIFIED', 'identification_verified', now())`,
      );
      const res = await t.gql(UserVerificationDocument, { userId: 'verified-user' });
      expect(res.data).toEqual({ userVerification: 'VERIFIED' });
      const created = await t.gql(CreateDepositDocument, {
        input: { userId: 'verified-user', currency: 'USD', amount: '1' },
      });
      expect(created.errors).toBeUndefined();
    });

    it('refuses createDeposit with USER_NOT_VERIFIED for a user marked REJECTED, creating nothing', async () => {
      await t.sql(
        `insert into user_verification (user_id, status, provider_status, occurred_at)
         values ('rejected-user', 'REJECTED', 'identification_rejected', now())`,
      );
      expect((await t.gql(UserVerificationDocument, { userId: 'rejected-user' })).data).toEqual({
        userVerification: 'REJECTED',
      });
      const res = await t.gql(CreateDepositDocument, {
        input: { userId: 'rejected-user', currency: 'USD', amount: '1' },
      });
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0].extensions?.code).toBe('USER_NOT_VERIFIED');
      expect(await t.sql("select id from deposit where user_id = 'rejected-user'")).toEqual([]);
    });
  });
});
