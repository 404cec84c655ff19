import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStatusCursor } from '../../src/services/status-cursor.js';
import {
  AttentionDepositsDocument,
  CreateDepositDocument,
  LedgerBalancesDocument,
  LedgerEntriesDocument,
  ResolutionStatusChangedDocument,
  ResolvableDepositDocument,
  ResolveDepositDocument,
  type CreateDepositInput,
  type ResolutionAction,
} from '../generated/graphql.js';
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
import { connectWs } from '../utils/ws-client.js';

/**
 * Operators resolve exception money (contract: "Operators resolve exception money"), through
 * the public API only: deposits made with createDeposit, paid by signed sandbox webhooks,
 * resolved with resolveDeposit, read back over GraphQL and the subscription.
 */

type Kind = 'underpaid' | 'mismatch' | 'late' | 'completed' | 'pending' | 'failed' | 'expired-unpaid';

function helpers(t: () => TestApp) {
  async function create(input: Partial<CreateDepositInput> = {}): Promise<string> {
    const r = await t().gql(CreateDepositDocument, {
      input: { userId: `u-${randomUUID()}`, currency: 'USD', amount: '25.00', ...input },
    });
    expect(r.errors).toBeUndefined();
    return r.data!.createDeposit.deposit.id;
  }

  async function sandbox(id: string, body: Record<string, string>): Promise<void> {
    const text = JSON.stringify({ eventId: `evt_${randomUUID()}`, depositId: id, ...body });
    const r = await t().postWebhook('sandbox', text, signedHeaders(SECRETS.sandbox, text));
    expect(r.status).toBe(200);
  }

  const pay = (id: string, amount: string, currency = 'USD') => sandbox(id, { amount, currency, status: 'PAID' });

  async function read(id: string, apiKey = t().operatorKey) {
    const r = await t().gql(ResolvableDepositDocument, { id }, { apiKey });
    expect(r.errors).toBeUndefined();
    return r.data!.deposit!;
  }

  async function waitFor(id: string, status: string) {
    return eventually(async () => {
      const d = await read(id);
      return d.status === status ? d : undefined;
    });
  }

  /** A deposit of `userId` in the state `kind` names. */
  async function deposit(kind: Kind, userId = `u-${randomUUID()}`): Promise<string> {
    const id = await create({ userId });
    switch (kind) {
      case 'underpaid':
        await pay(id, '10.50');
        await waitFor(id, 'REJECTED');
        break;
      case 'mismatch':
        await pay(id, '0.25', 'EUR');
        await waitFor(id, 'REJECTED');
        break;
      case 'late':
      case 'expired-unpaid':
        // Its time ran out (as webhooks-expiry.test.ts does); the sweeper expires it.
        await t().sql(`update deposit set expires_at = now() - interval '1 minute' where id = $1`, [id]);
        await waitFor(id, 'EXPIRED');
        if (kind === 'late') {
          await pay(id, '25.00');
          await eventually(async () => (await read(id)).rejectionReason === 'LATE_PAYMENT');
        }
        break;
      case 'completed':
        await pay(id, '25.00');
        await waitFor(id, 'COMPLETED');
        break;
      case 'failed':
        await sandbox(id, { status: 'FAILED' });
        await waitFor(id, 'FAILED');
        break;
      case 'pending':
        break;
    }
    return id;
  }

  function resolve(
    id: string,
    action: ResolutionAction,
    reason = 'checked with the provider',
    opts: { reference?: string | null; apiKey?: string } = {},
  ) {
    return t().gql(
      ResolveDepositDocument,
      { id, action, reason, reference: opts.reference },
      { apiKey: opts.apiKey ?? t().operatorKey },
    );
  }

  async function ledger(userId: string) {
    const r = await t().gql(LedgerEntriesDocument, { userId, first: 100 });
    expect(r.errors).toBeUndefined();
    return r.data!.ledgerEntries.edges.map((e) => e.node);
  }

  async function balances(userId: string) {
    const r = await t().gql(LedgerBalancesDocument, { userId });
    expect(r.errors).toBeUndefined();
    return r.data!.balances.map(({ currency, available, pending }) => ({ currency, available, pending }));
  }

  return { create, pay, sandbox, read, waitFor, deposit, resolve, ledger, balances };
}

describe('resolveDeposit', () => {
  let t: TestApp;
  const h = helpers(() => t);
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.stop();
  });

  describe('on money that arrived and was not credited', () => {
    it('shows an underpaid deposit as needing attention, with CREDIT and MARK_REFUNDED for operators only', async () => {
      const id = await h.deposit('underpaid');
      const asOperator = await h.read(id);
      expect(asOperator).toMatchObject({
        status: 'REJECTED',
        rejectionReason: 'UNDERPAID',
        receivedAmount: '10.5',
        resolution: null,
        needsAttention: true,
        availableActions: ['CREDIT', 'MARK_REFUNDED'],
      });
      const asApp = await h.read(id, t.apiKey);
      expect(asApp).toMatchObject({ needsAttention: true, availableActions: [] });
    });

    it('credits an underpaid deposit what was received, once, with an audited OPERATOR event', async () => {
      const userId = `u-${randomUUID()}`;
      const id = await h.deposit('underpaid', userId);
      const r = await h.resolve(id, 'CREDIT', '  customer paid the rest by bank transfer  ', {
        reference: 'TICKET-42',
      });
      expect(r.errors).toBeUndefined();
      expect(r.data!.resolveDeposit).toMatchObject({
        id,
        status: 'COMPLETED',
        resolution: 'CREDITED_MANUALLY',
        needsAttention: false,
        availableActions: [],
      });
      const d = await h.read(id);
      expect(d.events.at(-1)).toEqual({
        status: 'COMPLETED',
        providerStatus: 'MANUAL_CREDIT',
        amount: '10.5',
        currency: 'USD',
        source: 'OPERATOR',
        actor: 'bootstrap-operator',
        reason: 'customer paid the rest by bank transfer',
        reference: 'TICKET-42',
      });
      expect(d.events.slice(0, -1).every((e) => e.source === 'WEBHOOK')).toBe(true);
      expect(await h.ledger(userId)).toMatchObject([
        { kind: 'MANUAL_CREDIT', amount: '10.5', balanceAfter: '10.5', currency: 'USD', depositId: id },
      ]);
      expect(await h.balances(userId)).toEqual([{ currency: 'USD', available: '10.5', pending: '0' }]);
    });

    it('credits a currency mismatch in the currency that was received', async () => {
      const userId = `u-${randomUUID()}`;
      const id = await h.deposit('mismatch', userId);
      expect(await h.read(id)).toMatchObject({ rejectionReason: 'CURRENCY_MISMATCH', receivedCurrency: 'EUR' });
      const r = await h.resolve(id, 'CREDIT');
      expect(r.errors).toBeUndefined();
      expect(r.data!.resolveDeposit).toMatchObject({ status: 'COMPLETED', resolution: 'CREDITED_MANUALLY' });
      expect(await h.balances(userId)).toEqual([{ currency: 'EUR', available: '0.25', pending: '0' }]);
      expect(await h.ledger(userId)).toMatchObject([{ kind: 'MANUAL_CREDIT', amount: '0.25', currency: 'EUR' }]);
    });

    it('credits a late payment on an expired deposit', async () => {
      const userId = `u-${randomUUID()}`;
      const id = await h.deposit('late', userId);
      expect(await h.read(id)).toMatchObject({
        status: 'EXPIRED',
        needsAttention: true,
        availableActions: ['CREDIT', 'MARK_REFUNDED'],
      });
      const r = await h.resolve(id, 'CREDIT');
      expect(r.errors).toBeUndefined();
      expect(r.data!.resolveDeposit).toMatchObject({ status: 'COMPLETED', resolution: 'CREDITED_MANUALLY' });
      expect(await h.balances(userId)).toEqual([{ currency: 'USD', available: '25', pending: '0' }]);
    });

    it('marks a late payment refunded: no money moves, the status stays, the refund reference is kept', async () => {
      const userId = `u-${randomUUID()}`;
      const id = await h.deposit('late', userId);
      const r = await h.resolve(id, 'MARK_REFUNDED', 'sent back', { reference: '0xrefundtx' });
      expect(r.errors).toBeUndefined();
      expect(r.data!.resolveDeposit).toMatchObject({
        status: 'EXPIRED',
        resolution: 'REFUNDED',
        needsAttention: false,
        availableActions: [],
      });
      const d = await h.read(id);
      expect(d.events.at(-1)).toMatchObject({
        status: 'EXPIRED',
        providerStatus: 'MANUAL_REFUND',
        amount: null,
        source: 'OPERATOR',
        reference: '0xrefundtx',
      });
      expect(await h.ledger(userId)).toEqual([]);
      expect(await h.balances(userId)).toEqual([]);
    });
  });

  describe('reversing a completed deposit', () => {
    it('debits what the deposit credited and makes it REVERSED, final', async () => {
      const userId = `u-${randomUUID()}`;
      const id = await h.deposit('completed', userId);
      expect(await h.read(id)).toMatchObject({ needsAttention: false, availableActions: ['REVERSE'] });
      const r = await h.resolve(id, 'REVERSE', 'provider reported a double spend', { reference: 'case-7' });
      expect(r.errors).toBeUndefined();
      expect(r.data!.resolveDeposit).toMatchObject({
        status: 'REVERSED',
        resolution: 'REVERSED',
        availableActions: [],
      });
      const entries = await h.ledger(userId);
      expect(entries).toMatchObject([
        { kind: 'REVERSAL', amount: '-25', balanceAfter: '0', depositId: id },
        { kind: 'DEPOSIT', amount: '25', balanceAfter: '25', depositId: id },
      ]);
      // Zero in both: the currency is not listed.
      expect(await h.balances(userId)).toEqual([]);
      expect((await h.read(id)).events.at(-1)).toMatchObject({
        status: 'REVERSED',
        providerStatus: 'MANUAL_REVERSAL',
        amount: '25',
        currency: 'USD',
        source: 'OPERATOR',
      });
      // A later delivery of the payment changes nothing.
      await h.pay(id, '25.00');
      await eventually(async () => (await h.read(id)).events.length === 3);
      expect(await h.read(id)).toMatchObject({ status: 'REVERSED', resolution: 'REVERSED' });
      expect(await h.ledger(userId)).toHaveLength(2);
    });

    it('shows the debt when a reversal takes a balance below zero', async () => {
      // No API spends money yet, so a balance can only go below zero when a REVERSAL meets a balance that
      // something outside this gateway's API lowered. Here: another REVERSAL entry, written the only way
      // Postgres allows (an entry), for a second completed deposit of the user.
      const userId = `u-${randomUUID()}`;
      const first = await h.deposit('completed', userId);
      const second = await h.deposit('completed', userId);
      const [{ tenant_id: tenantId }] = await t.sql<{ tenant_id: string }>(
        'select tenant_id from deposit where id = $1',
        [second],
      );
      await t.sql(
        `insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount, kind)
         values (gen_random_uuid(), $1, $2, $3, 'USD', -40, 'REVERSAL')`,
        [second, tenantId, userId],
      );
      const r = await h.resolve(first, 'REVERSE');
      expect(r.errors).toBeUndefined();
      expect(await h.balances(userId)).toEqual([{ currency: 'USD', available: '-15', pending: '0' }]);
      expect((await h.ledger(userId))[0]).toMatchObject({ kind: 'REVERSAL', amount: '-25', balanceAfter: '-15' });
    });
  });

  describe('refusals', () => {
    const refused: [Kind, ResolutionAction, ResolutionAction[]][] = [
      ['pending', 'CREDIT', []],
      ['pending', 'MARK_REFUNDED', []],
      ['pending', 'REVERSE', []],
      ['failed', 'CREDIT', []],
      ['failed', 'REVERSE', []],
      ['expired-unpaid', 'CREDIT', []],
      ['expired-unpaid', 'MARK_REFUNDED', []],
      ['completed', 'CREDIT', ['REVERSE']],
      ['completed', 'MARK_REFUNDED', ['REVERSE']],
      ['underpaid', 'REVERSE', ['CREDIT', 'MARK_REFUNDED']],
      ['mismatch', 'REVERSE', ['CREDIT', 'MARK_REFUNDED']],
      ['late', 'REVERSE', ['CREDIT', 'MARK_REFUNDED']],
    ];
    it.each(refused)('refuses %s deposits %s with INVALID_TRANSITION listing %j', async (kind, action, allowed) => {
      const id = await h.deposit(kind);
      const before = await h.read(id);
      const r = await h.resolve(id, action);
      expect(r.data).toBeNull();
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_TRANSITION', availableActions: allowed });
      expect(r.errors?.[0]?.message).toContain(
        `available actions: ${allowed.length > 0 ? allowed.join(', ') : 'none'}`,
      );
      expect(await h.read(id)).toEqual(before);
    });

    it.each(['CREDIT', 'MARK_REFUNDED', 'REVERSE'] as const)(
      'refuses %s on a deposit that was resolved already',
      async (action) => {
        const id = await h.deposit('underpaid');
        expect((await h.resolve(id, 'MARK_REFUNDED')).errors).toBeUndefined();
        const r = await h.resolve(id, action);
        expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_TRANSITION', availableActions: [] });
      },
    );

    it('refuses an APP key with FORBIDDEN and changes nothing', async () => {
      const id = await h.deposit('underpaid');
      const r = await h.resolve(id, 'CREDIT', 'reason', { apiKey: t.apiKey });
      expect(r.data).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(await h.read(id)).toMatchObject({ status: 'REJECTED', resolution: null, needsAttention: true });
    });

    it('refuses a client token with FORBIDDEN (over the socket, the only place it is accepted)', async () => {
      const created = await t.gql(CreateDepositDocument, { input: { userId: 'token', currency: 'USD', amount: '5' } });
      const { clientToken, deposit } = created.data!.createDeposit;
      const conn = connectWs(t.gatewayUrl, { clientToken });
      try {
        await conn.connected;
        const op = conn.subscribe(ResolveDepositDocument, { id: deposit.id, action: 'CREDIT', reason: 'x' });
        await op.waitForEnd();
        expect(op.events).toEqual([]);
        expect(op.errors[0]?.extensions?.code).toBe('FORBIDDEN');
      } finally {
        await conn.dispose();
      }
      // Nor is a client token an API key over HTTP.
      const r = await h.resolve(deposit.id, 'CREDIT', 'x', { apiKey: clientToken });
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it.each([
      ['an empty reason', ''],
      ['a reason of blanks', '   \n '],
      ['a 501-character reason', 'r'.repeat(501)],
      ['a reason with a NUL', 'bad\u0000reason'],
    ])('refuses %s with BAD_USER_INPUT naming reason', async (_label, reason) => {
      const id = await h.deposit('underpaid');
      const r = await h.resolve(id, 'CREDIT', reason);
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
      expect(await h.read(id)).toMatchObject({ resolution: null });
    });

    it('refuses a missing reason before anything runs', async () => {
      const id = await h.deposit('underpaid');
      const r = await t.gql(
        ResolveDepositDocument,
        { id, action: 'CREDIT' } as unknown as { id: string; action: 'CREDIT'; reason: string },
        { apiKey: t.operatorKey },
      );
      expect(r.data ?? null).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(await h.read(id)).toMatchObject({ resolution: null });
    });

    it('accepts a 500-character reason and refuses a 201-character reference', async () => {
      const id = await h.deposit('underpaid');
      const long = await h.resolve(id, 'MARK_REFUNDED', 'ok', { reference: 'x'.repeat(201) });
      expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reference' });
      const r = await h.resolve(id, 'MARK_REFUNDED', 'r'.repeat(500), { reference: 'x'.repeat(200) });
      expect(r.errors).toBeUndefined();
      const d = await h.read(id);
      expect(d.events.at(-1)?.reason).toBe('r'.repeat(500));
      expect(d.events.at(-1)?.reference).toBe('x'.repeat(200));
    });

    it("answers NOT_FOUND for an unknown deposit, a malformed id and another tenant's deposit", async () => {
      const other = await t.app.tenants.create(`other-${randomUUID()}`);
      const theirs = await t.gql(
        CreateDepositDocument,
        { input: { userId: 'theirs', currency: 'USD', amount: '25' } },
        { apiKey: other.apiKey },
      );
      const theirId = theirs.data!.createDeposit.deposit.id;
      await h.pay(theirId, '10');
      for (const id of [randomUUID(), 'not-a-uuid', theirId]) {
        const r = await h.resolve(id, 'CREDIT');
        expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      }
    });
  });

  it('lets exactly one of 20 concurrent resolutions of one deposit win, with one ledger entry', async () => {
    const userId = `u-${randomUUID()}`;
    const id = await h.deposit('underpaid', userId);
    const actions: ResolutionAction[] = ['CREDIT', 'MARK_REFUNDED'];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.resolve(id, actions[i % 2], `attempt ${i}`)),
    );
    const won = results.filter((r) => !r.errors);
    const lost = results.filter((r) => r.errors);
    expect(won).toHaveLength(1);
    expect(lost.map((r) => r.errors![0].extensions?.code)).toEqual(Array(19).fill('INVALID_TRANSITION'));
    const d = await h.read(id);
    expect(d.events.filter((e) => e.source === 'OPERATOR')).toHaveLength(1);
    const entries = await h.ledger(userId);
    if (won[0].data!.resolveDeposit.resolution === 'CREDITED_MANUALLY') {
      expect(entries).toHaveLength(1);
      expect(await h.balances(userId)).toEqual([{ currency: 'USD', available: '10.5', pending: '0' }]);
    } else {
      expect(entries).toEqual([]);
    }
  });

  it('lets a later webhook change nothing on a resolved deposit', async () => {
    const userId = `u-${randomUUID()}`;
    const credited = await h.deposit('underpaid', userId);
    expect((await h.resolve(credited, 'CREDIT')).errors).toBeUndefined();
    const refunded = await h.deposit('mismatch', userId);
    expect((await h.resolve(refunded, 'MARK_REFUNDED')).errors).toBeUndefined();
    const before = [await h.read(credited), await h.read(refunded)];
    for (const id of [credited, refunded]) {
      await h.pay(id, '25.00');
      await h.sandbox(id, { status: 'FAILED' });
    }
    await eventually(async () => (await h.read(credited)).events.length === before[0].events.length + 2);
    await eventually(async () => (await h.read(refunded)).events.length === before[1].events.length + 2);
    const strip = ({ events: _e, ...d }: Awaited<ReturnType<typeof h.read>>) => d;
    expect(strip(await h.read(credited))).toEqual(strip(before[0]));
    expect(strip(await h.read(refunded))).toEqual(strip(before[1]));
    expect(await h.ledger(userId)).toHaveLength(1);
    expect(await h.balances(userId)).toEqual([{ currency: 'USD', available: '10.5', pending: '0' }]);
  });

  /** The cursor of a deposit's latest status change, once the relay has sequenced them all. */
  const latest = async (depositId: string) => {
    const row = await eventually(async () => {
      const [r] = await t.sql<{ unsequenced: number; seq: string | null }>(
        `select count(*) filter (where seq is null)::int as unsequenced, max(seq)::text as seq
         from outbox where deposit_id = $1`,
        [depositId],
      );
      return r.unsequenced === 0 && r.seq !== null ? r : undefined;
    });
    return encodeStatusCursor(row.seq!);
  };

  it('publishes each resolution to subscribers, MARK_REFUNDED with equal status and previousStatus', async () => {
    const refunded = await h.deposit('underpaid');
    const credited = await h.deposit('late');
    const conn = connectWs(t.gatewayUrl, { apiKey: t.apiKey });
    try {
      await conn.connected;
      // From each deposit's latest change on: what follows reaches the subscriber whether the
      // subscription is registered before the resolution commits or after (read back, then live).
      const a = conn.subscribe(ResolutionStatusChangedDocument, { depositId: refunded, after: await latest(refunded) });
      const b = conn.subscribe(ResolutionStatusChangedDocument, { depositId: credited, after: await latest(credited) });
      expect((await h.resolve(refunded, 'MARK_REFUNDED')).errors).toBeUndefined();
      expect((await h.resolve(credited, 'CREDIT')).errors).toBeUndefined();
      await a.waitForCount(1);
      await b.waitForCount(1);
      expect(a.events[0].depositStatusChanged).toMatchObject({
        status: 'REJECTED',
        previousStatus: 'REJECTED',
        deposit: {
          id: refunded,
          status: 'REJECTED',
          resolution: 'REFUNDED',
          needsAttention: false,
          availableActions: [],
        },
      });
      expect(b.events[0].depositStatusChanged).toMatchObject({
        status: 'COMPLETED',
        previousStatus: 'EXPIRED',
        deposit: { id: credited, status: 'COMPLETED', resolution: 'CREDITED_MANUALLY', needsAttention: false },
      });
    } finally {
      await conn.dispose();
    }
  });

  it('lists the operator inbox with needsAttention, and counts resolutions in deposits_total', async () => {
    const open = await h.deposit('underpaid');
    const resolved = await h.deposit('mismatch');
    const fine = await h.deposit('completed');
    expect((await h.resolve(resolved, 'MARK_REFUNDED')).errors).toBeUndefined();
    const inbox = await t.gql(AttentionDepositsDocument, { needsAttention: true, first: 100 });
    const ids = inbox.data!.deposits.edges.map((e) => e.node.id);
    expect(ids).toContain(open);
    expect(ids).not.toContain(resolved);
    expect(ids).not.toContain(fine);
    expect(inbox.data!.deposits.edges.every((e) => e.node.needsAttention)).toBe(true);
    const rest = await t.gql(AttentionDepositsDocument, { needsAttention: false, first: 100 });
    const restIds = rest.data!.deposits.edges.map((e) => e.node.id);
    expect(restIds).toEqual(expect.arrayContaining([resolved, fine]));
    expect(restIds).not.toContain(open);
    // Paged: one at a time, newest first, through the same index.
    const page1 = await t.gql(AttentionDepositsDocument, { needsAttention: true, first: 1 });
    const page2 = await t.gql(AttentionDepositsDocument, {
      needsAttention: true,
      first: 1,
      after: page1.data!.deposits.pageInfo.endCursor,
    });
    expect(page1.data!.deposits.edges[0].node.id).not.toBe(page2.data!.deposits.edges[0]?.node.id);

    const reversedCount = async () => {
      const text = await (await fetch(`${t.gatewayUrl}/metrics`)).text();
      return Number(/^deposits_total\{status="REVERSED"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const before = await reversedCount();
    expect((await h.resolve(fine, 'REVERSE')).errors).toBeUndefined();
    expect(await reversedCount()).toBe(before + 1);
  });
});

describe('resolveDeposit while Postgres is away', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;
  const h = helpers(() => t);
  beforeAll(async () => {
    db = await createTestDatabase('resolve_outage');
    proxy = await createTcpProxy('127.0.0.1', 5432);
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    t = await startTestApp({
      database: db,
      env: { DATABASE_URL: url.toString(), DB_STATEMENT_TIMEOUT_MS: '1000', DB_CONNECT_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('answers 503 SERVICE_UNAVAILABLE, writes nothing, and resolves once Postgres is back', async () => {
    const userId = `u-${randomUUID()}`;
    const id = await h.deposit('underpaid', userId);
    const outboxBefore = await t.sql('select count(*)::int as n from outbox where deposit_id = $1', [id]);
    // The operator key is known (cached) so the cut hits the resolution, not authentication.
    await h.read(id);
    proxy.stall();
    const during = h.resolve(id, 'CREDIT');
    // Held mid-way (connect, begin, lock or the statement), then cut.
    await new Promise((r) => setTimeout(r, 150));
    proxy.cut();
    const r = await during;
    expect(r.status).toBe(503);
    expect(r.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    proxy.restore();

    const [row] = await t.sql('select status, resolution from deposit where id = $1', [id]);
    expect(row).toEqual({ status: 'REJECTED', resolution: null });
    expect(await t.sql('select * from ledger_entry where deposit_id = $1', [id])).toEqual([]);
    expect(await t.sql(`select * from deposit_event where deposit_id = $1 and source = 'OPERATOR'`, [id])).toEqual([]);
    expect(await t.sql('select count(*)::int as n from outbox where deposit_id = $1', [id])).toEqual(outboxBefore);
    expect(await t.sql('select * from balance where user_id = $1', [userId])).toEqual([]);

    const again = await eventually(
      async () => {
        const res = await h.resolve(id, 'CREDIT');
        return res.status === 200 ? res : undefined;
      },
      8000,
      200,
    );
    expect(again.data!.resolveDeposit).toMatchObject({ status: 'COMPLETED', resolution: 'CREDITED_MANUALLY' });
    expect(await h.balances(userId)).toEqual([{ currency: 'USD', available: '10.5', pending: '0' }]);
  });
});
