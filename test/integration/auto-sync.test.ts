import { PassThrough } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolOf } from '../../src/db/orm.js';
import { AutoSync, type AutoSyncDeps } from '../../src/services/auto-sync.js';
import { CLAIM_SQL } from '../../src/store/sync-schedule.store.js';
import { CreateDepositDocument } from '../generated/graphql.js';
import { startFakeProviderApi, type FakeProviderApi } from '../utils/fake-provider-api.js';
import { eventually, startTestApp, uniqueName, type TestApp } from '../utils/harness.js';

/**
 * The automatic sync (contract: "Recovering deposits"): the schedule in `deposit_sync`, claimed
 * with SKIP LOCKED by any number of sidecars, doubling intervals, give-up, and a provider that
 * fails is backed off. Rounds are driven by hand here (`runOnce`), against a fake instap.
 */

const SETTINGS = { afterSeconds: 60, maxIntervalSeconds: 240, concurrency: 4, providerTimeoutMs: 500 };

describe('the automatic status sync', () => {
  let t: TestApp;
  let sidecar2: TestApp;
  let api: FakeProviderApi;
  let pool: pg.Pool;
  let pool2: pg.Pool;

  beforeAll(async () => {
    api = await startFakeProviderApi();
    const env = {
      INSTAP_API_URL: api.url,
      INSTAP_API_KEY: 'instap-api-key-for-tests',
      INSTAP_HMAC_SECRET: 'instap-hmac-for-tests',
      PROVIDER_TIMEOUT_MS: '500',
      SYNC_AFTER_SECONDS: String(SETTINGS.afterSeconds),
    };
    // Two processes on one database: the rounds below run in both at once.
    t = await startTestApp({ env, background: false });
    sidecar2 = await startTestApp({ env, background: false, role: 'webhooks', database: t.db, prefix: t.prefix });
    pool = await poolOf(t.app.orm);
    pool2 = await poolOf(sidecar2.app.orm);
  });
  afterAll(async () => {
    await sidecar2?.stop({ keepDatabase: true });
    await t?.stop();
    await api?.close();
  });

  const autoSync = (over: Partial<AutoSyncDeps> = {}, app = t, p = pool) =>
    new AutoSync({
      pool: p,
      sync: app.app.sync,
      providers: ['instap'],
      settings: SETTINGS,
      logger: app.app.logger,
      ...over,
    });

  /** A PENDING instap deposit the provider reports NEW, created long enough ago to be due now. */
  const dueDeposit = async (answer: unknown = { sessionState: 'NEW', checkOutUrl: 'https://x.example' }) => {
    const r = await t.gql(CreateDepositDocument, {
      input: { userId: uniqueName('u'), currency: 'USD', amount: '25', provider: 'instap' },
    });
    const id = r.data!.createDeposit.deposit.id;
    const [{ provider_ref: ref }] = await t.sql('select provider_ref from deposit where id = $1', [id]);
    api.answers.set(ref, { body: answer });
    await makeDue(id);
    return { id, ref: ref as string };
  };
  const makeDue = async (id: string) => {
    await t.sql(`update deposit set created_at = created_at - interval '1 hour' where id = $1`, [id]);
    await t.sql(`update deposit_sync set next_sync_at = now() - interval '1 second' where deposit_id = $1`, [id]);
  };
  const schedule = async (id: string) =>
    (
      await t.sql(
        `select interval_seconds, attempts, done, last_outcome,
           extract(epoch from next_sync_at - last_synced_at)::float8 as after_sync,
           next_sync_at >= (select max(received_at) from deposit_event e where e.deposit_id = s.deposit_id)
             + make_interval(secs => $2) as after_quiet,
           next_sync_at <= clock_timestamp() + make_interval(secs => $2) as within_quiet
         from deposit_sync s where deposit_id = $1`,
        [id, SETTINGS.afterSeconds],
      )
    )[0];
  const clearDue = () => t.sql(`update deposit_sync set done = true where not done`);

  it('enrols every deposit of a provider with a status API at creation, due SYNC_AFTER_SECONDS later', async () => {
    const r = await t.gql(CreateDepositDocument, {
      input: { userId: uniqueName('u'), currency: 'USD', amount: '25', provider: 'instap' },
    });
    const id = r.data!.createDeposit.deposit.id;
    const [row] = await t.sql(
      `select s.provider, s.interval_seconds, s.done,
         extract(epoch from s.next_sync_at - d.created_at)::int as after,
         extract(epoch from s.give_up_at - d.expires_at)::int as give_up
       from deposit_sync s join deposit d on d.id = s.deposit_id where s.deposit_id = $1`,
      [id],
    );
    expect(row).toEqual({ provider: 'instap', interval_seconds: 60, done: false, after: 60, give_up: 86400 });
    const layer1 = await t.gql(CreateDepositDocument, {
      input: { userId: uniqueName('u'), currency: 'USD', amount: '25', provider: 'layer1' },
    });
    expect(
      await t.sql('select * from deposit_sync where deposit_id = $1', [layer1.data!.createDeposit.deposit.id]),
    ).toEqual([]);
    await clearDue();
  });

  it('syncs each due deposit exactly once per round when two sidecars run at once', async () => {
    const deposits = await Promise.all(Array.from({ length: 12 }, () => dueDeposit()));
    const before = api.statusRequests().length;
    const [a, b] = await Promise.all([autoSync().runOnce(), autoSync({}, sidecar2, pool2).runOnce()]);
    expect(a + b).toBe(12);
    expect(api.statusRequests().length - before).toBe(12);
    for (const d of deposits) expect(api.statusRequests(d.ref)).toHaveLength(1);
    // The next round finds nothing due: each was rescheduled.
    const [c, d] = await Promise.all([autoSync().runOnce(), autoSync({}, sidecar2, pool2).runOnce()]);
    expect(c + d).toBe(0);
    // NEW changes nothing (it is kept in the timeline once): the interval doubles.
    expect(await schedule(deposits[0].id)).toMatchObject({
      attempts: 1,
      done: false,
      last_outcome: 'unchanged',
      interval_seconds: 120,
    });
    await clearDue();
  });

  it('doubles the interval after each answer that changes nothing, up to SYNC_MAX_INTERVAL_SECONDS', async () => {
    const d = await dueDeposit();
    const s480 = { settings: { ...SETTINGS, maxIntervalSeconds: 480 } };
    expect(await autoSync(s480).runOnce()).toBe(1); // NEW: kept once in the timeline
    const seen: number[] = [(await schedule(d.id)).interval_seconds];
    for (let i = 0; i < 3; i++) {
      // Quiet long enough: the only event (NEW) is pushed into the past, and the row made due.
      await t.sql(`update deposit_event set received_at = received_at - interval '1 day' where deposit_id = $1`, [
        d.id,
      ]);
      await t.sql(`update deposit_sync set next_sync_at = now() where deposit_id = $1`, [d.id]);
      expect(await autoSync(s480).runOnce()).toBe(1);
      const s = await schedule(d.id);
      expect(s.last_outcome).toBe('unchanged');
      // Stored values, no clock: the next sync is the new interval after this one.
      expect(s.after_sync).toBe(s.interval_seconds);
      seen.push(s.interval_seconds);
    }
    expect(seen).toEqual([120, 240, 480, 480]);
    // One timeline event for four identical answers.
    expect(await t.sql('select source from deposit_event where deposit_id = $1', [d.id])).toEqual([{ source: 'SYNC' }]);
    await clearDue();
  });

  it('waits for a deposit that had an event recently instead of asking', async () => {
    const d = await dueDeposit();
    await t.sql(
      `insert into deposit_event (id, deposit_id, status, provider_status, occurred_at, received_at, source)
       values (gen_random_uuid(), $1, 'PENDING', 'NEW', now(), now(), 'WEBHOOK')`,
      [d.id],
    );
    expect(await autoSync().runOnce()).toBe(0);
    expect(api.statusRequests(d.ref)).toEqual([]);
    const s = await schedule(d.id);
    expect(s).toMatchObject({ last_outcome: 'waiting', done: false, attempts: 0 });
    // Not before the quiet time after that event ends, nor later than the quiet time from now.
    expect(s).toMatchObject({ after_quiet: true, within_quiet: true });
    await clearDue();
  });

  it('stops syncing a deposit once it is final, without asking', async () => {
    const d = await dueDeposit();
    await t.sql(`update deposit set status = 'FAILED' where id = $1`, [d.id]);
    expect(await autoSync().runOnce()).toBe(0);
    expect(await schedule(d.id)).toMatchObject({ done: true, last_outcome: 'final' });
    expect(api.statusRequests(d.ref)).toEqual([]);
  });

  it('keeps syncing an EXPIRED deposit without a payment, and completes it on an on-time payment', async () => {
    const d = await dueDeposit({ sessionState: 'COMPLETED', paidAmount: '25', paidCurrency: 'USD' });
    await t.sql(`update deposit set status = 'EXPIRED' where id = $1`, [d.id]);
    expect(await autoSync().runOnce()).toBe(1);
    const [row] = await t.sql('select status from deposit where id = $1', [d.id]);
    expect(row.status).toBe('COMPLETED');
    expect(await t.sql('select amount::text from ledger_entry where deposit_id = $1', [d.id])).toHaveLength(1);
    // Next round: final now, so done.
    await makeDue(d.id);
    await autoSync().runOnce();
    expect(await schedule(d.id)).toMatchObject({ done: true, last_outcome: 'final' });
  });

  it('gives up SYNC_GIVE_UP_SECONDS after expiry, without asking', async () => {
    const d = await dueDeposit();
    await t.sql(`update deposit_sync set give_up_at = now() - interval '1 second' where deposit_id = $1`, [d.id]);
    expect(await autoSync().runOnce()).toBe(0);
    expect(await schedule(d.id)).toMatchObject({ done: true, last_outcome: 'gave_up' });
    expect(api.statusRequests(d.ref)).toEqual([]);
  });

  it('backs off a provider that keeps failing: paused after N failures, resumed after the pause', async () => {
    const deposits = await Promise.all(Array.from({ length: 3 }, () => dueDeposit()));
    api.everyStatus = { status: 503, body: { message: 'down' } };
    let clock = 1_000_000;
    const s = autoSync({
      settings: { ...SETTINGS, concurrency: 1 },
      circuit: { failures: 2, basePauseMs: 60_000, maxPauseMs: 600_000 },
      now: () => clock,
    });
    try {
      const before = api.statusRequests().length;
      await s.runOnce();
      // Two failures opened the circuit: the third deposit was not asked.
      expect(api.statusRequests().length - before).toBe(2);
      for (const d of deposits) await makeDue(d.id);
      await s.runOnce();
      expect(api.statusRequests().length - before).toBe(2);
      const failed = await Promise.all(deposits.map((d) => schedule(d.id)));
      expect(failed.filter((f) => f.last_outcome === 'unavailable')).toHaveLength(2);
      // The failed rows wait longer (their interval doubled), like any answer that changed nothing.
      expect(failed.filter((f) => f.last_outcome === 'unavailable').every((f) => f.interval_seconds === 120)).toBe(
        true,
      );

      clock += 60_001;
      api.everyStatus = undefined;
      for (const d of deposits) await makeDue(d.id);
      expect(await s.runOnce()).toBe(3);
      // The second time it opens, the pause is twice as long.
      api.everyStatus = { status: 503, body: {} };
      for (const d of deposits) await makeDue(d.id);
      await s.runOnce();
      clock += 60_001;
      for (const d of deposits) await makeDue(d.id);
      const asked = api.statusRequests().length;
      await s.runOnce();
      expect(api.statusRequests().length).toBe(asked);
      const [row] = await t.sql('select status from deposit where id = $1', [deposits[0].id]);
      expect(row.status).toBe('PENDING');
    } finally {
      api.everyStatus = undefined;
      await clearDue();
    }
  });
});

describe('the claim query', () => {
  it('reads the partial index of open rows, not the table, with many deposits', async () => {
    const t = await startTestApp({ background: false, role: 'webhooks' });
    const c = await (await poolOf(t.app.orm)).connect();
    try {
      await c.query('begin');
      const [{ id: tenant }] = (await c.query('select id from tenant limit 1')).rows;
      await c.query(
        `insert into deposit (id, tenant_id, user_id, provider, currency, amount, status, expires_at)
         select gen_random_uuid(), $1, 'u' || g, 'instap', 'USD', 25,
           case when g % 20 = 0 then 'PENDING' else 'COMPLETED' end, now() + interval '1 hour'
         from generate_series(1, 40000) g`,
        [tenant],
      );
      await c.query(
        `insert into deposit_sync (deposit_id, provider, next_sync_at, interval_seconds, give_up_at, done)
         select id, provider, created_at - interval '1 minute', 300, expires_at + interval '1 day', status <> 'PENDING'
         from deposit`,
      );
      await c.query('analyze deposit_sync');
      await c.query('analyze deposit');
      const plan = (await c.query({ text: `explain (format json) ${CLAIM_SQL}`, values: ['instap', 16, 60] })).rows[0];
      const text = JSON.stringify(plan);
      expect(text).toContain('"Index Name":"deposit_sync_due_idx"');
      expect(text).not.toMatch(/"Seq Scan"[^}]*"Relation Name":"deposit_sync"/);
    } finally {
      await c.query('rollback');
      c.release();
      await t.stop();
    }
  }, 60_000);
});

describe('the automatic sync in a running sidecar', () => {
  it('recovers a sandbox payment made without notifying, logging one line per sync and counting it', async () => {
    const logs = new PassThrough();
    const lines: Record<string, unknown>[] = [];
    logs.on('data', (c: Buffer) => {
      for (const l of c.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
    });
    const t = await startTestApp({ env: { SYNC_AFTER_SECONDS: '1', LOG_LEVEL: 'info' }, logStream: logs });
    try {
      const r = await t.gql(CreateDepositDocument, {
        input: { userId: uniqueName('u'), currency: 'USD', amount: '7.5' },
      });
      const id = r.data!.createDeposit.deposit.id;
      const paid = await fetch(`${t.gatewayUrl}/sandbox/checkout/${id}/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount: '7.5', currency: 'USD', status: 'PAID', notify: false }),
      });
      expect(paid.status).toBe(200);
      await eventually(async () => {
        const [row] = await t.sql('select status from deposit where id = $1', [id]);
        return row.status === 'COMPLETED';
      }, 10_000);
      const [ev] = await t.sql('select source, provider_status from deposit_event where deposit_id = $1', [id]);
      expect(ev).toEqual({ source: 'SYNC', provider_status: 'PAID' });
      expect(await t.sql('select amount::text from ledger_entry where deposit_id = $1', [id])).toEqual([
        { amount: '7.500000000000000000' },
      ]);
      const line = lines.find((l) => l.msg === 'status sync' && l.depositId === id);
      expect(line).toMatchObject({ provider: 'sandbox', outcome: 'changed', trigger: 'auto' });
      const metrics = await (await fetch(`${t.webhookUrl}/metrics`)).text();
      expect(metrics).toMatch(/provider_sync_total\{provider="sandbox",outcome="changed"\} 1/);
    } finally {
      await t.stop();
    }
  });
});
