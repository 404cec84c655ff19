import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepositStatusChangedDocument, type DepositStatusChangedSubscription } from '../generated/graphql.js';
import { LAYER1_FLOW } from '../fixtures/index.js';
import { eventually, startTestApp, type TestApp } from '../utils/harness.js';
import { createLayer1DepositAt, postLayer1At } from '../utils/processes.js';
import { connectWs } from '../utils/ws-client.js';

/**
 * The relay marks rows published in the background, after Redis took them. If that update
 * fails, the rows are published again: subscribers must still see each change once.
 */
describe('the outbox relay when marking rows published fails', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.stop();
  });

  const createLayer1Deposit = async (userId: string) => (await createLayer1DepositAt(t.gatewayUrl, userId)).id;
  const postLayer1 = (depositId: string, fixture: string) => postLayer1At(t.webhookUrl, depositId, fixture);

  it('publishes the rows again, and a subscriber still sees every change exactly once', async () => {
    // The first update that marks rows published fails; a sequence keeps count across the rollback.
    await t.sql('create sequence relay_mark_attempts');
    await t.sql(`create function relay_fail_first_mark() returns trigger language plpgsql as $$
      begin
        if new.published_at is not null and old.published_at is null and nextval('relay_mark_attempts') = 1 then
          raise exception 'injected: marking published failed';
        end if;
        return new;
      end $$`);
    await t.sql(
      'create trigger relay_fail_first_mark before update on outbox for each row execute function relay_fail_first_mark()',
    );
    const conn = connectWs(t.gatewayUrl, { apiKey: t.apiKey });
    try {
      await conn.connected;
      const sub = conn.subscribe(DepositStatusChangedDocument, { userId: 'relay-mark' });
      const statusesOf = (id: string) =>
        sub.events
          .map((e: DepositStatusChangedSubscription) => e.depositStatusChanged)
          .filter((c) => c.deposit.id === id)
          .map((c) => c.status);

      const id = await createLayer1Deposit('relay-mark');
      for (const [fixture] of LAYER1_FLOW) await postLayer1(id, fixture);
      await sub.waitUntil((c) => c.events.length >= LAYER1_FLOW.length, undefined, 'the five changes');

      // Every row ends up marked, the failed mark included (it was retried by publishing again).
      await eventually(async () => {
        const [row] = await t.sql<{ n: number }>(
          'select count(*)::int as n from outbox where deposit_id = $1 and published_at is null',
          [id],
        );
        return row.n === 0;
      }, 8000);
      const [attempts] = await t.sql<{ last_value: string; is_called: boolean }>(
        'select last_value::text, is_called from relay_mark_attempts',
      );
      expect(attempts.is_called).toBe(true);
      expect(Number(attempts.last_value)).toBeGreaterThanOrEqual(2);

      // A later change of the same user arrives after anything republished: nothing came twice.
      const sentinel = await createLayer1Deposit('relay-mark');
      await postLayer1(sentinel, LAYER1_FLOW[0][0]);
      await sub.waitUntil((c) => c.events.length >= LAYER1_FLOW.length + 1, undefined, 'the sentinel change');
      expect(statusesOf(id)).toEqual(LAYER1_FLOW.map(([, s]) => s));
      expect(statusesOf(sentinel)).toEqual(['DETECTED']);
      expect(sub.errors).toEqual([]);
    } finally {
      await conn.dispose();
      await t.sql('drop trigger if exists relay_fail_first_mark on outbox');
    }
  });
});

/**
 * Two sidecars on one database: one relay leads, the other stands by and asks for the lock
 * again on every poll and NOTIFY. It does so on the connection it has: a new session per
 * wake-up is what Postgres refuses first when its connections run out.
 */
describe('the outbox relay standing by', () => {
  let leader: TestApp;
  let standby: TestApp;
  beforeAll(async () => {
    leader = await startTestApp({ role: 'webhooks' });
    standby = await startTestApp({ role: 'all', database: leader.db, prefix: leader.prefix });
  });
  afterAll(async () => {
    await standby?.stop();
    await leader?.stop();
  });

  /** The relay sessions of the test database: the one holding the relay's advisory lock, and the others. */
  async function relaySessions(): Promise<{ leading: number[]; standing: number[] }> {
    const rows = await leader.sql<{ pid: number; leads: boolean }>(
      `select a.pid, exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory' and l.granted) as leads
         from pg_stat_activity a
        where a.datname = current_database() and a.application_name = 'deposit-gateway:outbox-relay'`,
    );
    return {
      leading: rows.filter((r) => r.leads).map((r) => r.pid),
      standing: rows.filter((r) => !r.leads).map((r) => r.pid),
    };
  }

  it('keeps its one connection while changes are committed and published', async () => {
    await eventually(async () => {
      const s = await relaySessions();
      return s.leading.length === 1 && s.standing.length === 1;
    }, 10_000);
    const before = await relaySessions();

    // Changes committed through the standby's own sidecar: each commit NOTIFYs both relays.
    const conn = connectWs(standby.gatewayUrl, { apiKey: standby.apiKey });
    try {
      await conn.connected;
      const sub = conn.subscribe(DepositStatusChangedDocument, { userId: 'relay-standby' });
      const id = (await createLayer1DepositAt(standby.gatewayUrl, 'relay-standby')).id;
      for (const [fixture] of LAYER1_FLOW) await postLayer1At(standby.webhookUrl, id, fixture);
      await sub.waitUntil((c) => c.events.length >= LAYER1_FLOW.length, undefined, 'the five changes');
    } finally {
      await conn.dispose();
    }

    const after = await relaySessions();
    expect(after.leading).toEqual(before.leading);
    expect(after.standing).toEqual(before.standing);
  });
});
