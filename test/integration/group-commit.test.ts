import type { PostgreSqlConnection } from '@mikro-orm/postgresql';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureFor, LAYER1_FLOW } from '../fixtures/index.js';
import { startTestApp, TEST_API_KEY, type TestApp } from '../utils/harness.js';
import { createLogger } from '../../src/observability/logger.js';
import { EventApplier, type IngestResult } from '../../src/services/apply/event-applier.js';
import { layer1 } from '../../src/providers/layer1.provider.js';
import { sandbox } from '../../src/providers/sandbox.provider.js';

// The provider modules under the names these tests were written with.
const parseLayer1Event = layer1.parse;
const parseSandboxEvent = sandbox.parse;

describe('group commit of concurrent webhooks', () => {
  let t: TestApp;
  let applier: EventApplier;
  let applierPool: pg.Pool;
  let tenantId: string;
  beforeAll(async () => {
    t = await startTestApp({ background: false });
    applierPool = await (t.app.orm.em.getConnection() as PostgreSqlConnection).getNativeClient();
    // One transaction at a time: whatever arrives meanwhile waits and shares the next one.
    applier = new EventApplier({ pool: applierPool, intents: t.app.intents, logger: t.app.logger, maxInFlight: 1 });
    tenantId = (await t.app.tenants.authenticate(TEST_API_KEY))!.tenantId;
  });
  afterAll(async () => {
    await t.stop();
  });

  async function deposits(n: number, userId: (i: number) => string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const d = await t.app.deposits.create(tenantId, { userId: userId(i), currency: 'USD', amount: '25.00' });
      ids.push(d.deposit.id);
    }
    return ids;
  }

  function ingestPaid(id: string, key: string): Promise<IngestResult> {
    const body = fixtureFor('sandbox/paid.json', id);
    return applier.ingest({
      provider: 'sandbox',
      dedupeKey: key,
      headers: {},
      body,
      event: parseSandboxEvent(Buffer.from(body)),
    });
  }

  it('applies twenty concurrent payments in two commits, each credited once', async () => {
    const ids = await deposits(20, (i) => `batch-${i}`);
    const results = await Promise.all(ids.map((id) => ingestPaid(id, `gc-${id}`)));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 'accepted'));

    // Rows written by one transaction share its id (xmin): the first call alone, then the other nineteen together.
    const txns = await t.sql<{ n: number }>(
      'select count(distinct xmin::text)::int as n from webhook_inbox where dedupe_key = any($1)',
      [ids.map((id) => `gc-${id}`)],
    );
    expect(txns[0].n).toBe(2);
    const completed = await t.sql<{ n: number }>(
      "select count(*)::int as n from deposit where id = any($1) and status = 'COMPLETED'",
      [ids],
    );
    expect(completed[0].n).toBe(20);
    const credits = await t.sql<{ n: number }>(
      'select count(*)::int as n from ledger_entry where deposit_id = any($1)',
      [ids],
    );
    expect(credits[0].n).toBe(20);
  });

  it('lets one bad event in a shared transaction cost only itself', async () => {
    const ids = await deposits(12, (i) => (i === 7 ? 'gc-overflow' : `gc-fine-${i}`));
    // A balance one credit away from overflowing, written the only way Postgres allows: an entry.
    const [spare] = await deposits(1, () => 'gc-overflow');
    await t.sql(
      `insert into ledger_entry (id, deposit_id, tenant_id, user_id, currency, amount, kind)
       values (gen_random_uuid(), $2, $1, 'gc-overflow', 'USD', '999999999999999999.9', 'DEPOSIT')`,
      [tenantId, spare],
    );
    const results = await Promise.all(ids.map((id) => ingestPaid(id, `gc-bad-${id}`)));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 'accepted'));

    const rows = await t.sql<{ id: string; status: string }>('select id, status from deposit where id = any($1)', [
      ids,
    ]);
    const byId = new Map(rows.map((r) => [r.id, r.status]));
    expect(ids.map((id) => byId.get(id))).toEqual(ids.map((_, i) => (i === 7 ? 'PENDING' : 'COMPLETED')));
    const [bad] = await t.sql('select processed_at, error from webhook_inbox where dedupe_key = $1', [
      `gc-bad-${ids[7]}`,
    ]);
    expect(bad.processed_at).toBeNull();
    expect(bad.error).toMatch(/overflow/i);
    const credits = await t.sql<{ n: number }>(
      'select count(*)::int as n from ledger_entry where deposit_id = any($1)',
      [ids],
    );
    expect(credits[0].n).toBe(11);
  });

  it("applies a deposit's whole flow inside one shared transaction: each change once, in order, one credit", async () => {
    const flow = async (userId: string) =>
      (await t.app.deposits.create(tenantId, { userId, currency: 'ETH', amount: '0.20', provider: 'layer1' })).deposit
        .id;
    const [a, b] = [await flow('gc-flow'), await flow('gc-flow')];
    const ingest = (fixture: string, id: string, key: string) => {
      const body = fixtureFor(fixture, id);
      return applier.ingest({
        provider: 'layer1',
        dedupeKey: key,
        headers: {},
        body,
        event: parseLayer1Event(Buffer.from(body)),
      });
    };
    // The first call takes the only transaction slot; everything sent meanwhile shares the next one.
    const [, ...rest] = await Promise.all([
      ingestPaid((await deposits(1, () => 'gc-flow-opener'))[0], 'gc-flow-opener'),
      ...LAYER1_FLOW.map(([fixture]) => ingest(fixture, a, `gc-flow-a-${fixture}`)),
      ...[...LAYER1_FLOW].reverse().map(([fixture]) => ingest(fixture, b, `gc-flow-b-${fixture}`)),
      ingest('layer1/01-detected.json', '00000000-0000-4000-8000-000000000000', 'gc-flow-unmatched'),
    ]);
    expect(rest.map((r) => r.status)).toEqual(Array.from({ length: 11 }, () => 'accepted'));
    const outcome = (r: IngestResult) => (r.status === 'accepted' ? r.result.outcome : r.status);
    expect(rest.slice(0, 5).map(outcome)).toEqual(['applied', 'applied', 'applied', 'applied', 'applied']);
    expect(outcome(rest[10])).toBe('unmatched');
    // Exactly one of the events credits each deposit, and reports it.
    const credits = rest.filter((r) => r.status === 'accepted' && r.result.credited);
    expect(credits.map((r) => r.status === 'accepted' && r.result.depositId).sort()).toEqual([a, b].sort());

    const txns = await t.sql<{ n: number }>(
      "select count(distinct xmin::text)::int as n from webhook_inbox where dedupe_key like 'gc-flow-%' and dedupe_key <> 'gc-flow-opener'",
    );
    expect(txns[0].n).toBe(1);
    const outbox = await t.sql<{ previous_status: string; status: string }>(
      'select previous_status, status from outbox where deposit_id = $1 order by id',
      [a],
    );
    expect(outbox).toEqual([
      { previous_status: 'PENDING', status: 'DETECTED' },
      { previous_status: 'DETECTED', status: 'CONFIRMING' },
      { previous_status: 'CONFIRMING', status: 'CONFIRMED' },
      { previous_status: 'CONFIRMED', status: 'SCREENING' },
      { previous_status: 'SCREENING', status: 'COMPLETED' },
    ]);
    const states = await t.sql<{ id: string; status: string; received_amount: string }>(
      'select id, status, received_amount::text from deposit where id = any($1) order by id',
      [[a, b]],
    );
    expect(states.map((d) => [d.status, d.received_amount])).toEqual([
      ['COMPLETED', '0.200000000000000000'],
      ['COMPLETED', '0.200000000000000000'],
    ]);
    const timeline = await t.sql<{ n: number }>(
      'select count(*)::int as n from deposit_event where deposit_id = any($1)',
      [[a, b]],
    );
    expect(timeline[0].n).toBe(10);
    // Two credits of one user and currency in one statement: the balance holds both.
    const [balance] = await t.sql<{ available: string }>(
      "select available::text from balance where user_id = 'gc-flow' and currency = 'ETH'",
    );
    expect(balance.available).toBe('0.400000000000000000');
    const unmatched = await t.sql("select outcome from webhook_inbox where dedupe_key = 'gc-flow-unmatched'");
    expect(unmatched).toEqual([{ outcome: 'unmatched' }]);
  });

  it('keeps the first of two different bodies sent under one webhook id in one shared transaction', async () => {
    const [opener, a, b] = await deposits(3, (i) => `gc-same-id-${i}`);
    const send = (id: string) => {
      const body = fixtureFor('sandbox/paid.json', id);
      return applier.ingest({
        provider: 'sandbox',
        dedupeKey: 'gc-same-id',
        headers: {},
        body,
        event: parseSandboxEvent(Buffer.from(body)),
      });
    };
    const [, first, second] = await Promise.all([ingestPaid(opener, `gc-same-id-${opener}`), send(a), send(b)]);
    expect(first).toMatchObject({ status: 'accepted', result: { outcome: 'applied', depositId: a } });
    expect(second).toEqual({ status: 'duplicate' });
    const [stored] = await t.sql<{ body: string; deposit_id: string }>(
      "select body, deposit_id from webhook_inbox where dedupe_key = 'gc-same-id'",
    );
    expect(stored.body).toContain(a);
    expect(stored.deposit_id).toBe(a);
    const rows = await t.sql<{ id: string; status: string }>('select id, status from deposit where id = any($1)', [
      [a, b],
    ]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({ [a]: 'COMPLETED', [b]: 'PENDING' });
  });

  it('answers a duplicate inside one shared transaction as a duplicate', async () => {
    const [id] = await deposits(1, () => 'gc-dup');
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => ingestPaid(id, `gc-dup-${id}`)));
    expect(results.filter((r) => r.status === 'accepted')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(4);
    const credits = await t.sql<{ n: number }>('select count(*)::int as n from ledger_entry where deposit_id = $1', [
      id,
    ]);
    expect(credits[0].n).toBe(1);
  });

  it('drops a queued event whose request already gave up, instead of storing it late', async () => {
    const [blocked, late] = await deposits(2, (i) => `gc-shed-${i}`);
    // Hold the first deposit's row: the only transaction in flight waits, the next event queues.
    const holder = new pg.Client({ connectionString: t.db.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select id from deposit where id = $1 for update', [blocked]);
      const first = ingestPaid(blocked, `gc-shed-${blocked}`);
      const body = fixtureFor('sandbox/paid.json', late);
      const gaveUp = applier.ingest(
        {
          provider: 'sandbox',
          dedupeKey: `gc-shed-${late}`,
          headers: {},
          body,
          event: parseSandboxEvent(Buffer.from(body)),
        },
        { deadline: Date.now() + 100 },
      );
      const outcome = gaveUp.then(
        () => 'stored',
        (err: Error) => err.message,
      );
      await new Promise((r) => setTimeout(r, 300));
      await holder.query('rollback');
      expect(await first).toMatchObject({ status: 'accepted' });
      expect(await outcome).toMatch(/gave up/);
    } finally {
      await holder.end();
    }
    expect(await t.sql('select id from webhook_inbox where dedupe_key = $1', [`gc-shed-${late}`])).toEqual([]);
  });

  it('applies every distinct event in the transaction that stores it, even when copies race across transactions', async () => {
    // Copies of one message in different transactions: every transaction locks the deposit
    // before it inserts the inbox row, so a copy waits for the original's commit and then
    // finds it stored. No transaction is aborted as a deadlock victim along the way.
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const racing = new EventApplier({
      pool: applierPool,
      intents: t.app.intents,
      logger: createLogger('info', logStream),
      maxInFlight: 4,
      maxBatch: 4,
    });
    for (let round = 0; round < 30; round++) {
      const { deposit } = await t.app.deposits.create(tenantId, {
        userId: `gc-race-${round}`,
        currency: 'ETH',
        amount: '0.20',
        provider: 'layer1',
      });
      const id = deposit.id;
      const messages = LAYER1_FLOW.map(([fixture]) => {
        const body = fixtureFor(fixture, id);
        return { key: `gc-race-${fixture}-${id}`, body, event: parseLayer1Event(Buffer.from(body)) };
      });
      const copies = messages.flatMap((m) => Array.from({ length: 10 }, () => m)).sort(() => Math.random() - 0.5);
      const results = await Promise.all(
        copies.map((m) =>
          racing.ingest({ provider: 'layer1', dedupeKey: m.key, headers: {}, body: m.body, event: m.event }),
        ),
      );
      expect(results.filter((r) => r.status === 'accepted')).toHaveLength(5);
      // Applied in the same transaction as stored: nothing left for the background processor.
      const waiting = await t.sql('select id from webhook_inbox where processed_at is null and dedupe_key like $1', [
        `gc-race-%-${id}`,
      ]);
      expect(waiting).toEqual([]);
      const timeline = await t.sql<{ n: number }>(
        'select count(*)::int as n from deposit_event where deposit_id = $1',
        [id],
      );
      expect(timeline[0].n).toBe(5);
    }
    expect(lines.filter((l) => l.includes('transaction aborted'))).toEqual([]);
  });
});
